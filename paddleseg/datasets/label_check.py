"""Cheap, vectorised validation of label maps against num_classes / ignore_index."""
from __future__ import annotations

from typing import Any, Iterable

import numpy as np


def invalid_label_values(label: np.ndarray, num_classes: int, ignore_index: int) -> np.ndarray:
    """Sorted distinct values of ``label`` outside [0, num_classes) that are not ``ignore_index``.

    Costs one min/max pass in the common case; a histogram (uint8/uint16) or a masked unique
    only when something is out of range.
    """
    if label.size == 0:
        return np.empty(0, dtype=np.int64)
    lo, hi = label.min(), label.max()
    if lo >= 0 and hi < num_classes:
        return np.empty(0, dtype=np.int64)
    if label.dtype in (np.uint8, np.uint16):
        present = np.flatnonzero(np.bincount(label.ravel(), minlength=int(hi) + 1))
    else:
        flat = label.ravel()
        present = np.unique(flat[(flat < 0) | (flat >= num_classes)])
    bad = present[((present < 0) | (present >= num_classes)) & (present != ignore_index)]
    return bad.astype(np.int64)


def describe_invalid(path: str, bad: np.ndarray, num_classes: int, ignore_index: int) -> str:
    """A one-line message naming the file, the offending values and the allowed range."""
    shown = ", ".join(str(v) for v in bad[:10]) + (", ..." if bad.size > 10 else "")
    return (f"Label file {path} contains values [{shown}] outside [0, {num_classes - 1}] "
            f"(num_classes={num_classes}, ignore_index={ignore_index})")


def check_label_padding(transforms: Iterable[Any], num_classes: int, ignore_index: int) -> None:
    """Refuse a transform that pads label maps with a value that is neither a class id nor
    ``ignore_index`` (e.g. the default 255 when void is 11): the loss would fail on those pixels.

    Raises:
        ValueError: naming the transform, the value and the setting to use.
    """
    for transform in transforms:
        value = getattr(transform, "label_padding_value", None)
        if value is None or value == ignore_index or 0 <= value < num_classes:
            continue
        raise ValueError(f"{type(transform).__name__} pads labels with {value}, which is neither a "
                         f"class id (0-{num_classes - 1}) nor ignore_index {ignore_index}; set its "
                         f"label_padding_value: {ignore_index} (padding is void)")
