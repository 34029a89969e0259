"""Reading images and label maps from disk with OpenCV (PIL is not a dependency)."""
from __future__ import annotations

import os

import cv2
import numpy as np

_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def read_image(path: str, channels: int = 3, to_rgb: bool = True) -> np.ndarray:
    """Read an image as float32 H x W x C (C = ``channels``, RGB order when ``to_rgb``).

    Raises:
        FileNotFoundError: the file does not exist.
        ValueError: the file exists but OpenCV cannot decode it (corrupt or not an image).
    """
    if not os.path.isfile(path):
        raise FileNotFoundError(f"Image file not found: {path}")
    flag = cv2.IMREAD_GRAYSCALE if channels == 1 else cv2.IMREAD_COLOR
    im = cv2.imread(path, flag)
    if im is None:
        raise ValueError(f"Cannot read image file {path}: it is corrupt or not an image "
                         f"format OpenCV can decode")
    if im.ndim == 2:
        im = im[..., None]
    if to_rgb and im.shape[2] == 3:
        im = cv2.cvtColor(im, cv2.COLOR_BGR2RGB)
    return im.astype(np.float32)


def _is_palette_png(path: str) -> bool:
    """True for an indexed-colour PNG (IHDR colour type 3), whose pixel values are palette indices."""
    with open(path, "rb") as f:
        head = f.read(26)
    return len(head) == 26 and head[:8] == _PNG_SIGNATURE and head[25] == 3


def _read_palette_indices(path: str) -> np.ndarray:
    """Palette indices of an indexed PNG. OpenCV expands palettes to colours, so use Pillow
    when it happens to be installed (it is optional); otherwise explain how to fix the file."""
    try:
        from PIL import Image  # optional: only needed for paletted (VOC-style) label PNGs
    except ImportError:
        raise ValueError(
            f"Label file {path} is a paletted PNG; OpenCV cannot read its class indices. "
            f"Install Pillow, or save the labels as single-channel (grayscale) PNGs") from None
    with Image.open(path) as img:
        return np.asarray(img)


def read_label(path: str) -> np.ndarray:
    """Read a label map (class id per pixel) as an H x W integer array, unchanged values.

    Raises:
        FileNotFoundError: the file does not exist.
        ValueError: undecodable file, or a multi-channel (colour) label.
    """
    if not os.path.isfile(path):
        raise FileNotFoundError(f"Label file not found: {path}")
    if _is_palette_png(path):
        return _read_palette_indices(path)
    label = cv2.imread(path, cv2.IMREAD_UNCHANGED)
    if label is None:
        raise ValueError(f"Cannot read label file {path}: it is corrupt or not an image "
                         f"format OpenCV can decode")
    if label.ndim == 3:
        # A grey image stored as RGB is harmless; real colour labels are not class ids.
        if label.shape[2] >= 3 and np.array_equal(label[..., 0], label[..., 1]) \
                and np.array_equal(label[..., 0], label[..., 2]):
            return label[..., 0]
        raise ValueError(f"Label file {path} has {label.shape[2]} channels; labels must be "
                         f"single-channel images holding one class id per pixel")
    return label
