"""Pseudo-colour masks and overlays for predictions (OpenCV / NumPy only)."""
from __future__ import annotations

import os
from typing import Dict, List, Optional, Sequence, Tuple

import cv2
import numpy as np

from .errors import UsageError
from .fileio import read_utf8_text, write_image


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


def palette_for(colours: Optional[Sequence[Sequence[int]]], num_classes: int) -> np.ndarray:
    """256 x 3 RGB table: ``colours`` (a dataset's palette, see ``dataset_facts``) for the first
    ``num_classes`` ids when it has that many, else the default colour map."""
    table = default_palette(256)
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
    """Write an RGB array atomically (OpenCV encodes BGR); a failed write is a UserError naming it."""
    write_image(path, cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))


IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp")


def collect_images(image_path: str) -> Tuple[List[str], str]:
    """(image paths, the folder output names are made relative to: the folder given, the common
    parent folder of a list's images, or a single image's folder)."""
    if os.path.isdir(image_path):
        found = sorted(os.path.join(root, name) for root, _, names in os.walk(image_path) for name in names
                       if name.lower().endswith(IMAGE_EXTENSIONS))
        if not found:
            raise UsageError(f"--image_path {image_path}: no images ({', '.join(IMAGE_EXTENSIONS)}) in this folder")
        return found, image_path
    if not os.path.isfile(image_path):
        raise UsageError(f"--image_path {image_path} does not exist")
    if image_path.lower().endswith(".txt"):
        base = os.path.dirname(os.path.abspath(image_path))
        try:
            lines = read_utf8_text(image_path).splitlines()
        except ValueError as e:
            raise UsageError(f"--image_path {e}") from None
        items = [line.split()[0] for line in lines if line.strip()]
        paths = [item if os.path.isabs(item) else os.path.join(base, item) for item in items]
        if not paths:
            raise UsageError(f"--image_path {image_path}: the list is empty")
        return paths, os.path.commonpath([os.path.dirname(os.path.abspath(p)) for p in paths])
    return [image_path], os.path.dirname(os.path.abspath(image_path))


def prediction_names(paths: Sequence[str], base: str) -> List[str]:
    """Output name (no extension) for each input image: its path relative to ``base`` without
    the extension, so sub-folders are kept and N inputs give N outputs.

    Inputs differing only in their extension (``frame.png`` and ``frame.jpg``) keep it in the
    name: ``frame_png`` and ``frame_jpg``. Inputs outside ``base`` are named by their file name.

    Raises:
        UsageError: two inputs would still get the same name (the same file listed twice, or
            ``frame.jpg`` beside a ``frame_jpg.png``); raised before anything is written.
    """
    rels = []
    for path in paths:
        rel = os.path.relpath(os.path.abspath(path), os.path.abspath(base))
        rels.append(os.path.basename(path) if rel.startswith("..") else rel)
    stems = [os.path.splitext(rel)[0] for rel in rels]
    shared = {s for s in stems if stems.count(s) > 1}
    names = [f"{stem}_{os.path.splitext(rel)[1].lstrip('.')}" if stem in shared else stem
             for stem, rel in zip(stems, rels)]
    first: Dict[str, str] = {}
    for path, name in zip(paths, names):
        if name in first:
            other = first[name]
            why = ("is listed twice" if os.path.realpath(other) == os.path.realpath(path)
                   else f"and {path} would both be written as {name}.png")
            raise UsageError(f"{other} {why}; nothing was written. Predictions are named by the input's "
                             f"path relative to {base}: remove the duplicate or rename one of the files.")
        first[name] = path
    return names


def save_prediction(save_dir: str, name: str, pred: np.ndarray, image_rgb: np.ndarray, palette: np.ndarray,
                    overlay_weight: float = 0.6) -> Dict[str, str]:
    """Write one prediction the way PaddleSeg's tools lay it out, and return the three paths.

    ``label_prediction/<name>.png`` (class ids), ``pseudo_color_prediction/<name>.png`` (palette
    colours) and ``added_prediction/<name>.jpg`` (colours over the image). ``pred`` is H x W class
    ids, ``image_rgb`` the original H x W x 3 image; ``name`` may contain sub-folders (see
    :func:`prediction_names`). Each file is written atomically; a failed write (e.g. a full disk)
    is a UserError naming the file and the free space.
    """
    ids = pred.astype(np.uint8)
    colour = colorize(ids, palette)
    paths = {folder: os.path.join(save_dir, folder, name + ext) for folder, ext in
             (("label_prediction", ".png"), ("pseudo_color_prediction", ".png"), ("added_prediction", ".jpg"))}
    write_image(paths["label_prediction"], ids)
    write_rgb(paths["pseudo_color_prediction"], colour)
    write_rgb(paths["added_prediction"], overlay(image_rgb.astype(np.uint8), colour, overlay_weight))
    return paths
