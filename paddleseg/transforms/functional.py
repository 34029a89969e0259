"""Array-level image/label operations used by the transform classes.

Images are H x W x C (or H x W) NumPy arrays, usually float32 in [0, 255]; labels are H x W
integer arrays. Everything here is vectorised NumPy/OpenCV and deterministic: randomness lives
in the transform classes (:mod:`paddleseg.transforms.rng`).
"""
from __future__ import annotations

from typing import Sequence, Tuple, Union

import cv2
import numpy as np

INTERP = {
    "NEAREST": cv2.INTER_NEAREST,
    "LINEAR": cv2.INTER_LINEAR,
    "CUBIC": cv2.INTER_CUBIC,
    "AREA": cv2.INTER_AREA,
    "LANCZOS4": cv2.INTER_LANCZOS4,
}

# ITU-R 601-2 luma, the weights PIL's convert("L") uses, so distortions match PaddleSeg's.
_LUMA = np.array([0.299, 0.587, 0.114], dtype=np.float32)


def _cv2_safe(im: np.ndarray) -> Tuple[np.ndarray, type]:
    """OpenCV resize/warp reject int64/bool; return a dtype it accepts and the dtype to restore."""
    if im.dtype in (np.int64, np.uint32, np.uint64, np.int8, np.bool_):
        return im.astype(np.int32), im.dtype
    return im, im.dtype


def resize(im: np.ndarray, target_size: Union[int, Sequence[int]],
           interp: int = cv2.INTER_LINEAR) -> np.ndarray:
    """Resize to ``target_size`` given as (w, h) (PaddleSeg order) or a single int for both."""
    if isinstance(target_size, (list, tuple)):
        w, h = int(target_size[0]), int(target_size[1])
    else:
        w = h = int(target_size)
    safe, dtype = _cv2_safe(im)
    out = cv2.resize(safe, (w, h), interpolation=interp)
    if im.ndim == 3 and out.ndim == 2:  # cv2 drops a trailing channel axis of size 1
        out = out[..., None]
    return out.astype(dtype, copy=False)


def scaled_size(h: int, w: int, scale: float) -> Tuple[int, int]:
    """(h, w) multiplied by ``scale`` and rounded, never below 1 pixel."""
    return max(1, int(round(h * scale))), max(1, int(round(w * scale)))


def resize_long(im: np.ndarray, long_size: int, interp: int = cv2.INTER_LINEAR) -> np.ndarray:
    """Scale so that the longer side becomes ``long_size``, keeping the aspect ratio."""
    h, w = im.shape[:2]
    nh, nw = scaled_size(h, w, float(long_size) / max(h, w))
    return resize(im, (nw, nh), interp)


def resize_short(im: np.ndarray, short_size: int, interp: int = cv2.INTER_LINEAR) -> np.ndarray:
    """Scale so that the shorter side becomes ``short_size``, keeping the aspect ratio."""
    h, w = im.shape[:2]
    nh, nw = scaled_size(h, w, float(short_size) / min(h, w))
    return resize(im, (nw, nh), interp)


def rescale_size(img_size: Sequence[int], target_size: Sequence[int]) -> Tuple[list, float]:
    """Largest size with ``img_size``'s aspect ratio fitting ``target_size`` (keep_ratio resize).

    The long side is matched to the long target side unless that would push the short side
    past the short target side. Returns the rounded new size (same order as ``img_size``)
    and the scale.
    """
    scale = min(max(target_size) / max(img_size), min(target_size) / min(img_size))
    return [int(round(s * scale)) for s in img_size], scale


def horizontal_flip(im: np.ndarray) -> np.ndarray:
    """Mirror left-right (a view; Compose makes the final array contiguous)."""
    return im[:, ::-1, ...]


def vertical_flip(im: np.ndarray) -> np.ndarray:
    """Mirror top-bottom (a view)."""
    return im[::-1, ...]


def pad_bottom_right(im: np.ndarray, pad_h: int, pad_w: int, value: float) -> np.ndarray:
    """Pad ``pad_h`` rows at the bottom and ``pad_w`` columns at the right with ``value``."""
    if pad_h <= 0 and pad_w <= 0:
        return im
    widths = [(0, max(pad_h, 0)), (0, max(pad_w, 0))] + [(0, 0)] * (im.ndim - 2)
    return np.pad(im, widths, mode="constant", constant_values=value)


def crop(im: np.ndarray, box: Sequence[int]) -> np.ndarray:
    """Crop ``box`` = (x1, y1, x2, y2), end-exclusive."""
    x1, y1, x2, y2 = box
    return im[y1:y2, x1:x2, ...]


def normalize(im: np.ndarray, mean: np.ndarray, std: np.ndarray) -> np.ndarray:
    """``(im / 255 - mean) / std`` in float32, per channel (PaddleSeg's convention)."""
    im = im.astype(np.float32) / 255.0
    im -= mean.astype(np.float32)
    im /= std.astype(np.float32)
    return im


def _blend(degenerate: Union[np.ndarray, float], im: np.ndarray, factor: float) -> np.ndarray:
    """PIL ImageEnhance's rule: move ``im`` away from ``degenerate`` by ``factor``, clip to 8 bits."""
    out = degenerate + factor * (im - degenerate)
    return np.clip(out, 0.0, 255.0).astype(np.float32, copy=False)


def gray(im: np.ndarray) -> np.ndarray:
    """Luma (H x W) of an RGB image, or the image itself when single-channel."""
    if im.ndim == 2:
        return im.astype(np.float32)
    if im.shape[2] == 1:
        return im[..., 0].astype(np.float32)
    return im.astype(np.float32) @ _LUMA


def brightness(im: np.ndarray, factor: float) -> np.ndarray:
    """Scale intensities by ``factor`` (blend with black)."""
    return _blend(0.0, im.astype(np.float32), factor)


def contrast(im: np.ndarray, factor: float) -> np.ndarray:
    """Blend with the mean grey level (PIL rounds the mean to an integer)."""
    mean = float(np.floor(gray(im).mean() + 0.5))
    return _blend(mean, im.astype(np.float32), factor)


def saturation(im: np.ndarray, factor: float) -> np.ndarray:
    """Blend with the image's own grey version."""
    im = im.astype(np.float32)
    if im.ndim == 2 or im.shape[2] == 1:
        return _blend(im, im, factor)
    return _blend(gray(im)[..., None], im, factor)


def hue(im: np.ndarray, delta: float) -> np.ndarray:
    """Rotate the hue by ``delta`` in PIL's units (256 per full turn, as PaddleSeg's hue_range)."""
    if im.ndim == 2 or im.shape[2] != 3:
        return im
    hsv = cv2.cvtColor(np.clip(im, 0, 255).astype(np.float32) / 255.0, cv2.COLOR_RGB2HSV)
    hsv[..., 0] = np.mod(hsv[..., 0] + delta * (360.0 / 256.0), 360.0)
    return np.clip(cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB) * 255.0, 0.0, 255.0)


# PIL's ImageFilter.SMOOTH kernel, the "degenerate" image of ImageEnhance.Sharpness.
_SMOOTH = np.array([[1, 1, 1], [1, 5, 1], [1, 1, 1]], dtype=np.float32) / 13.0


def sharpness(im: np.ndarray, factor: float) -> np.ndarray:
    """Blend with a smoothed copy (border pixels kept, as PIL does)."""
    im = im.astype(np.float32)
    smooth = cv2.filter2D(im, -1, _SMOOTH, borderType=cv2.BORDER_REPLICATE)
    if smooth.ndim < im.ndim:
        smooth = smooth[..., None]
    smooth[0, ...] = im[0, ...]
    smooth[-1, ...] = im[-1, ...]
    smooth[:, 0, ...] = im[:, 0, ...]
    smooth[:, -1, ...] = im[:, -1, ...]
    return _blend(smooth, im, factor)


def mask_to_binary_edge(label: np.ndarray, radius: int, ignore_index: int = 255) -> np.ndarray:
    """1 x H x W uint8 map of pixels within ``radius`` (Euclidean) of a class boundary.

    A pixel is an edge pixel when some pixel of a different value lies within the disc, so one
    dilation and one erosion give the answer for all classes at once. The image border counts
    as a boundary (the map is padded with ``ignore_index``), as in PaddleSeg.
    """
    if radius < 1:
        raise ValueError(f"`radius` should be >= 1, got {radius}")
    r = int(np.ceil(radius))
    yy, xx = np.mgrid[-r:r + 1, -r:r + 1]
    disc = ((yy * yy + xx * xx) <= radius * radius).astype(np.uint8)
    lab = label.reshape(label.shape[-2:]).astype(np.float32)
    lab = cv2.copyMakeBorder(lab, r, r, r, r, cv2.BORDER_CONSTANT, value=float(ignore_index))
    hi = cv2.dilate(lab, disc)
    lo = cv2.erode(lab, disc)
    edge = (hi != lo)[r:-r, r:-r]
    return edge[None].astype(np.uint8)
