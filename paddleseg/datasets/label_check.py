"""Cheap, vectorised validation of label maps against num_classes / ignore_index."""
from __future__ import annotations

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
