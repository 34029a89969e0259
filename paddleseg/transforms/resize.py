"""Resizing transforms. The deterministic ones record ('resize', (h, w)) - the size BEFORE the
op - in data['trans_info'] so an evaluator can map predictions back (PaddleSeg's format)."""
from __future__ import annotations

import math
from typing import Any, Dict, Optional, Sequence, Union

import cv2
import numpy as np

from paddleseg.cvlibs import manager
from paddleseg.transforms import functional as F
from paddleseg.transforms.rng import generator


def _check_pair(name: str, value: Any) -> None:
    """A (w, h) size must be a list/tuple of two numbers."""
    if not isinstance(value, (list, tuple)) or len(value) != 2:
        raise ValueError(f"`{name}` must be a list of two numbers [w, h], got {value!r}")


def _record(data: Dict[str, Any], op: str) -> None:
    """Append (op, (h, w)) with plain ints, the pre-op size."""
    h, w = data["img"].shape[:2]
    data.setdefault("trans_info", []).append((op, (int(h), int(w))))


def _resize_all(data: Dict[str, Any], size_wh: Sequence[int], interp: int) -> Dict[str, Any]:
    """Resize the image with ``interp`` and every gt_fields map with nearest neighbour."""
    data["img"] = F.resize(data["img"], size_wh, interp)
    for key in data.get("gt_fields", []):
        data[key] = F.resize(data[key], size_wh, cv2.INTER_NEAREST)
    return data


@manager.TRANSFORMS.add_component
class Resize:
    """Resize to a fixed size.

    Args:
        target_size: [w, h].
        keep_ratio: fit inside ``target_size`` keeping the aspect ratio instead of stretching.
        size_divisor: round the output sides up to a multiple of this.
        interp: NEAREST, LINEAR, CUBIC, AREA, LANCZOS4, or RANDOM (one of those per call).
    """

    def __init__(self, target_size: Sequence[int] = (512, 512), keep_ratio: bool = False,
                 size_divisor: Optional[int] = None, interp: str = "LINEAR") -> None:
        _check_pair("target_size", target_size)
        if interp != "RANDOM" and interp not in F.INTERP:
            raise ValueError(f"Resize: `interp` must be one of {sorted(F.INTERP) + ['RANDOM']}, "
                             f"got {interp!r}")
        if size_divisor is not None and (not isinstance(size_divisor, int) or size_divisor < 1):
            raise ValueError(f"Resize: `size_divisor` must be a positive int, got {size_divisor!r}")
        self.target_size = tuple(target_size)
        self.keep_ratio = keep_ratio
        self.size_divisor = size_divisor
        self.interp = interp

    def __call__(self, data: Dict[str, Any],
                 rng: Optional[np.random.Generator] = None) -> Dict[str, Any]:
        _record(data, "resize")
        interp = self.interp
        if interp == "RANDOM":
            interp = sorted(F.INTERP)[generator(rng).integers(len(F.INTERP))]
        size = list(self.target_size)
        if self.keep_ratio:
            h, w = data["img"].shape[:2]
            size, _ = F.rescale_size((w, h), self.target_size)
        if self.size_divisor:
            size = [math.ceil(s / self.size_divisor) * self.size_divisor for s in size]
        return _resize_all(data, size, F.INTERP[interp])


@manager.TRANSFORMS.add_component
class ResizeByLong:
    """Scale so the long side equals ``long_size``.

    Args:
        long_size: target length of the longer side.
    """

    def __init__(self, long_size: int) -> None:
        self.long_size = long_size

    def __call__(self, data: Dict[str, Any],
                 rng: Optional[np.random.Generator] = None) -> Dict[str, Any]:
        _record(data, "resize")
        h, w = data["img"].shape[:2]
        nh, nw = F.scaled_size(h, w, self.long_size / max(h, w))
        return _resize_all(data, (nw, nh), cv2.INTER_LINEAR)


@manager.TRANSFORMS.add_component
class ResizeByShort:
    """Scale so the short side equals ``short_size`` (capped so the long side <= ``max_size``).

    Args:
        short_size: target short side, or a list to pick one from at random per sample.
        max_size: upper bound on the long side after resizing.
    """

    def __init__(self, short_size: Union[int, Sequence[int]],
                 max_size: Union[int, float] = 1e10) -> None:
        self.short_size = short_size
        self.max_size = max_size

    def __call__(self, data: Dict[str, Any],
                 rng: Optional[np.random.Generator] = None) -> Dict[str, Any]:
        _record(data, "resize")
        short = self.short_size
        if isinstance(short, (list, tuple)):
            short = short[generator(rng).integers(len(short))]
        h, w = data["img"].shape[:2]
        scale = min(short / min(h, w), self.max_size / max(h, w))
        nh, nw = F.scaled_size(h, w, scale)
        return _resize_all(data, (nw, nh), cv2.INTER_LINEAR)


@manager.TRANSFORMS.add_component
class LimitLong:
    """Bring the long side into [min_long, max_long] by proportional scaling (no-op inside).

    Args:
        max_long: shrink images whose long side exceeds this.
        min_long: enlarge images whose long side is below this.
    """

    def __init__(self, max_long: Optional[int] = None, min_long: Optional[int] = None) -> None:
        if max_long is not None and min_long is not None and min_long > max_long:
            raise ValueError(f"LimitLong: min_long ({min_long}) is larger than max_long ({max_long})")
        self.max_long = max_long
        self.min_long = min_long

    def __call__(self, data: Dict[str, Any],
                 rng: Optional[np.random.Generator] = None) -> Dict[str, Any]:
        _record(data, "resize")
        h, w = data["img"].shape[:2]
        long_edge = target = max(h, w)
        if self.max_long is not None and long_edge > self.max_long:
            target = self.max_long
        elif self.min_long is not None and long_edge < self.min_long:
            target = self.min_long
        if target == long_edge:
            return data
        nh, nw = F.scaled_size(h, w, target / long_edge)
        return _resize_all(data, (nw, nh), cv2.INTER_LINEAR)


@manager.TRANSFORMS.add_component
class ResizeStepScaling:
    """Random proportional rescale by a factor from {min, min+step, ..., max}.

    With ``scale_step_size`` 0 the factor is uniform in [min, max]. Draws from ``rng``.
    Training-only augmentation, so it records nothing in trans_info (as PaddleSeg).

    Args:
        min_scale_factor: smallest factor.
        max_scale_factor: largest factor.
        scale_step_size: spacing of the candidate factors.
    """

    def __init__(self, min_scale_factor: float = 0.75, max_scale_factor: float = 1.25,
                 scale_step_size: float = 0.25) -> None:
        if min_scale_factor > max_scale_factor:
            raise ValueError(f"ResizeStepScaling: min_scale_factor ({min_scale_factor}) is larger "
                             f"than max_scale_factor ({max_scale_factor})")
        self.min_scale_factor = min_scale_factor
        self.max_scale_factor = max_scale_factor
        self.scale_step_size = scale_step_size

    def _factor(self, rng: np.random.Generator) -> float:
        lo, hi, step = self.min_scale_factor, self.max_scale_factor, self.scale_step_size
        if lo == hi:
            return lo
        if step == 0:
            return float(rng.uniform(lo, hi))
        num = int((hi - lo) / step + 1)
        return float(np.linspace(lo, hi, num)[rng.integers(num)])

    def __call__(self, data: Dict[str, Any],
                 rng: Optional[np.random.Generator] = None) -> Dict[str, Any]:
        h, w = data["img"].shape[:2]
        nh, nw = F.scaled_size(h, w, self._factor(generator(rng)))
        return _resize_all(data, (nw, nh), cv2.INTER_LINEAR)
