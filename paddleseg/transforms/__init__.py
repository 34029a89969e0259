"""Data transforms (PaddleSeg 2.8 names and arguments), on OpenCV + NumPy.

A sample is a dict: ``img`` (H x W x C), ``label`` (H x W), ``gt_fields`` (keys that follow
the image's geometric ops, with nearest interpolation and ignore-value padding) and
``trans_info`` (('resize' | 'padding', (h, w)) entries, the size before each deterministic
size change). A transform is ``callable(data, rng=None) -> data``: random ones draw only from
the ``np.random.Generator`` ``rng``, which the training pipeline hands down per sample; called
without one they draw from a generator seeded from ``np.random`` (:mod:`paddleseg.transforms.rng`).
"""
from paddleseg.transforms import functional, rng  # noqa: F401
from paddleseg.transforms.compose import Compose  # noqa: F401
from paddleseg.transforms.crop_pad import Padding, RandomPaddingCrop  # noqa: F401
from paddleseg.transforms.distort import RandomDistort  # noqa: F401
from paddleseg.transforms.flip import RandomHorizontalFlip, RandomVerticalFlip  # noqa: F401
from paddleseg.transforms.io import read_image, read_label  # noqa: F401
from paddleseg.transforms.normalize import Normalize  # noqa: F401
from paddleseg.transforms.resize import (  # noqa: F401
    LimitLong, Resize, ResizeByLong, ResizeByShort, ResizeStepScaling)
