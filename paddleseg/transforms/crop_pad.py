"""Bottom-right padding and random cropping, applied to the image and every gt_fields map."""
from __future__ import annotations

from typing import Any, Dict, Optional, Sequence, Tuple, Union

import numpy as np

from paddleseg.cvlibs import manager
from paddleseg.transforms import functional as F
from paddleseg.transforms.rng import generator


def _pad_all(data: Dict[str, Any], pad_h: int, pad_w: int, im_value: float,
             label_value: int) -> Dict[str, Any]:
    """Pad the image with ``im_value`` and gt_fields maps with ``label_value``."""
    data["img"] = F.pad_bottom_right(data["img"], pad_h, pad_w, im_value)
    for key in data.get("gt_fields", []):
        data[key] = F.pad_bottom_right(data[key], pad_h, pad_w, label_value)
    return data


def _as_wh(name: str, size: Union[int, Sequence[int]]) -> Tuple[int, int]:
    """Accept an int or [w, h]; return (w, h)."""
    if isinstance(size, int):
        return size, size
    if isinstance(size, (list, tuple)) and len(size) == 2:
        return int(size[0]), int(size[1])
    raise ValueError(f"`{name}` must be an int or a list of two ints [w, h], got {size!r}")


@manager.TRANSFORMS.add_component
class Padding:
    """Pad at the bottom/right up to ``target_size``; records ('padding', (h, w)) before the op.

    Args:
        target_size: [w, h] (or one int for both); the image must not be larger.
        im_padding_value: fill value for the image.
        label_padding_value: fill value for label maps (the ignore index).
    """

    def __init__(self, target_size: Union[int, Sequence[int]], im_padding_value: float = 127.5,
                 label_padding_value: int = 255) -> None:
        self.target_size = _as_wh("target_size", target_size)
        self.im_padding_value = im_padding_value
        self.label_padding_value = label_padding_value

    def __call__(self, data: Dict[str, Any],
                 rng: Optional[np.random.Generator] = None) -> Dict[str, Any]:
        h, w = data["img"].shape[:2]
        data.setdefault("trans_info", []).append(("padding", (int(h), int(w))))
        tw, th = self.target_size
        if h > th or w > tw:
            raise ValueError(f"Padding: the image ({w}x{h}, WxH) is larger than target_size "
                             f"({tw}x{th}); resize it first or enlarge target_size")
        return _pad_all(data, th - h, tw - w, self.im_padding_value, self.label_padding_value)


@manager.TRANSFORMS.add_component
class RandomPaddingCrop:
    """Crop a random ``crop_size`` window, padding bottom/right first when the image is smaller.

    With ``category_max_ratio`` < 1, up to ``loop_times`` windows are tried until one has
    at least two classes and no class above that share of its non-ignored pixels. Draws from
    ``rng``.

    Args:
        crop_size: [w, h] of the crop.
        im_padding_value: fill value for the image.
        label_padding_value: fill value for label maps (the ignore index).
        category_max_ratio: largest share one class may take in the crop.
        ignore_index: label value left out of that share.
        loop_times: attempts at satisfying ``category_max_ratio``.
    """

    def __init__(self, crop_size: Sequence[int] = (512, 512), im_padding_value: float = 127.5,
                 label_padding_value: int = 255, category_max_ratio: float = 1.0,
                 ignore_index: int = 255, loop_times: int = 10) -> None:
        if not isinstance(crop_size, (list, tuple)) or len(crop_size) != 2:
            raise ValueError(f"RandomPaddingCrop: `crop_size` must be [w, h], got {crop_size!r}")
        if category_max_ratio <= 0:
            raise ValueError(f"RandomPaddingCrop: `category_max_ratio` must be > 0, "
                             f"got {category_max_ratio}")
        if loop_times <= 0:
            raise ValueError(f"RandomPaddingCrop: `loop_times` must be > 0, got {loop_times}")
        self.crop_size = (int(crop_size[0]), int(crop_size[1]))
        self.im_padding_value = im_padding_value
        self.label_padding_value = label_padding_value
        self.category_max_ratio = category_max_ratio
        self.ignore_index = ignore_index
        self.loop_times = loop_times

    def _random_box(self, h: int, w: int, rng: np.random.Generator) -> Tuple[int, int, int, int]:
        cw, ch = self.crop_size
        y = int(rng.integers(0, h - ch + 1))
        x = int(rng.integers(0, w - cw + 1))
        return x, y, x + cw, y + ch

    def _balanced(self, label: np.ndarray, box: Tuple[int, int, int, int]) -> bool:
        """True when the crop shows >= 2 classes and none over category_max_ratio."""
        values = F.crop(label, box).ravel()
        values = values[values != self.ignore_index]
        if values.size == 0:
            return False
        counts = np.unique(values, return_counts=True)[1]
        return counts.size > 1 and counts.max() / counts.sum() < self.category_max_ratio

    def __call__(self, data: Dict[str, Any],
                 rng: Optional[np.random.Generator] = None) -> Dict[str, Any]:
        cw, ch = self.crop_size
        h, w = data["img"].shape[:2]
        if (h, w) == (ch, cw):
            return data
        data = _pad_all(data, ch - h, cw - w, self.im_padding_value, self.label_padding_value)
        h, w = data["img"].shape[:2]
        rng = generator(rng)
        box = self._random_box(h, w, rng)
        if self.category_max_ratio < 1.0 and "label" in data:
            for _ in range(self.loop_times):
                if self._balanced(data["label"], box):
                    break
                box = self._random_box(h, w, rng)
        data["img"] = F.crop(data["img"], box)
        for key in data.get("gt_fields", []):
            data[key] = F.crop(data[key], box)
        return data
