"""Pseudo-colour masks and overlays for predictions (OpenCV / NumPy only)."""
from __future__ import annotations

import os
from typing import Dict, Optional, Sequence

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


def save_prediction(save_dir: str, name: str, pred: np.ndarray, image_rgb: np.ndarray, palette: np.ndarray,
                    overlay_weight: float = 0.6) -> Dict[str, str]:
    """Write one prediction the way PaddleSeg's tools lay it out, and return the three paths.

    ``label_prediction/<name>.png`` (class ids), ``pseudo_color_prediction/<name>.png`` (palette
    colours) and ``added_prediction/<name>.jpg`` (colours over the image). ``pred`` is H x W class
    ids, ``image_rgb`` the original H x W x 3 image; ``name`` may contain sub-folders.
    """
    ids = pred.astype(np.uint8)
    colour = colorize(ids, palette)
    paths = {folder: os.path.join(save_dir, folder, name + ext) for folder, ext in
             (("label_prediction", ".png"), ("pseudo_color_prediction", ".png"), ("added_prediction", ".jpg"))}
    for path in paths.values():
        os.makedirs(os.path.dirname(path), exist_ok=True)
    if not cv2.imwrite(paths["label_prediction"], ids):
        raise OSError(f"could not write {paths['label_prediction']}")
    write_rgb(paths["pseudo_color_prediction"], colour)
    write_rgb(paths["added_prediction"], overlay(image_rgb.astype(np.uint8), colour, overlay_weight))
    return paths
