"""Normalize: scale to [0, 1], subtract the mean, divide by the std, per channel."""
from __future__ import annotations

from typing import Any, Dict, Optional, Sequence

import numpy as np

from paddleseg.cvlibs import manager
from paddleseg.transforms import functional as F


@manager.TRANSFORMS.add_component
class Normalize:
    """``img = (img / 255 - mean) / std`` (PaddleSeg divides by 255 first).

    Args:
        mean: per-channel means in [0, 1] scale; one value broadcasts to all channels.
        std: per-channel standard deviations in [0, 1] scale, none zero.
    """

    def __init__(self, mean: Sequence[float] = (0.5, ), std: Sequence[float] = (0.5, )) -> None:
        if not isinstance(mean, (list, tuple)) or not isinstance(std, (list, tuple)) \
                or len(mean) not in (1, 3) or len(std) not in (1, 3):
            raise ValueError(f"Normalize: `mean` and `std` must be lists of 1 or 3 numbers, "
                             f"got mean={mean!r}, std={std!r}")
        if any(s == 0 for s in std):
            raise ValueError(f"Normalize: `std` must not contain 0, got {std!r}")
        self.mean = np.asarray(mean, dtype=np.float32)
        self.std = np.asarray(std, dtype=np.float32)

    def __call__(self, data: Dict[str, Any],
                 rng: Optional[np.random.Generator] = None) -> Dict[str, Any]:
        img = data["img"]
        channels = 1 if img.ndim == 2 else img.shape[2]
        if self.mean.size not in (1, channels) or self.std.size not in (1, channels):
            raise ValueError(f"Normalize has {self.mean.size} mean / {self.std.size} std values "
                             f"but the image has {channels} channels")
        data["img"] = F.normalize(img, self.mean, self.std)
        return data
