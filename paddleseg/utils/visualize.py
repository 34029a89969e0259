"""Pseudo-colour masks and overlays for predictions (OpenCV / NumPy only)."""
from __future__ import annotations

from typing import Optional, Sequence

import cv2
import numpy as np


def default_palette(num_colors: int = 256) -> np.ndarray:
    """num_colors x 3 uint8 RGB table: the PASCAL VOC colour map (bits of the class id spread over
    the high bits of R, G and B), PaddleSeg's default for datasets without their own colours."""
    ids = np.arange(num_colors, dtype=np.int64)
    table = np.zeros((num_colors, 3), dtype=np.int64)
    for shift in range(7, -1, -1):          # 8 bit positions, each taking 3 bits of the id
        for channel in range(3):
            bit = (ids >> (3 * (7 - shift) + channel)) & 1
            table[:, channel] |= bit << shift
    return table.astype(np.uint8)


def palette_for(dataset_class: Optional[type], num_classes: int) -> np.ndarray:
    """256 x 3 RGB table: the dataset's ``PALETTE`` for its classes where it has one, else the default."""
    table = default_palette(256)
    colours: Optional[Sequence[Sequence[int]]] = getattr(dataset_class, "PALETTE", None)
    if colours is not None and len(colours) >= num_classes:
        table[:num_classes] = np.asarray(colours[:num_classes], dtype=np.uint8)
    return table


def colorize(pred: np.ndarray, palette: np.ndarray) -> np.ndarray:
    """H x W class ids -> H x W x 3 RGB (one table lookup, no per-pixel Python)."""
    return palette[np.clip(pred, 0, len(palette) - 1).astype(np.int64)]


def overlay(image_rgb: np.ndarray, color_rgb: np.ndarray, weight: float = 0.6) -> np.ndarray:
    """``weight`` x image + (1 - weight) x colour mask, both H x W x 3 uint8 RGB."""
    return cv2.addWeighted(image_rgb.astype(np.uint8), weight, color_rgb.astype(np.uint8), 1.0 - weight, 0)


def write_rgb(path: str, rgb: np.ndarray) -> None:
    """Write an RGB array (OpenCV writes BGR); raise if the file cannot be written."""
    if not cv2.imwrite(path, cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR)):
        raise OSError(f"could not write {path}")
