"""Reading images and label maps from disk (OpenCV; PIL is optional, for paletted PNG labels).

Files are read as bytes by NumPy and decoded by ``cv2.imdecode``, never opened by
``cv2.imread``: that crashes the process on file names that are not valid UTF-8, and it cannot
tell a missing file from a corrupt one. Every error here names the file.

Labels must be lossless (PNG, BMP or TIFF): a JPEG label silently turns pixels near region edges
into other, valid class ids. :func:`check_label_extensions` refuses lossy names up front and
:func:`read_label` refuses lossy content whatever the name.
"""
from __future__ import annotations

import io
import os
from typing import Iterable, Optional

import cv2
import numpy as np

from paddleseg.utils.fileio import display_path

LABEL_EXTENSIONS = (".png", ".bmp", ".tif", ".tiff")
LOSSLESS_LABEL_FORMATS = ("PNG", "BMP", "TIFF")
_MAX_SHOWN = 5
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_SIGNATURES = (   # (format, offset, magic bytes)
    ("PNG", 0, _PNG_SIGNATURE),
    ("JPEG", 0, b"\xff\xd8\xff"),
    ("BMP", 0, b"BM"),
    ("TIFF", 0, b"II*\x00"),
    ("TIFF", 0, b"MM\x00*"),
    ("WebP", 8, b"WEBP"),
    ("GIF", 0, b"GIF8"),
    ("JPEG 2000", 0, b"\x00\x00\x00\x0cjP  "),
    ("JPEG 2000", 0, b"\xff\x4f\xff\x51"),
)


def sniff_format(head: bytes) -> Optional[str]:
    """The image format named by the first bytes of a file ('PNG', 'JPEG', ...), or None."""
    for name, offset, magic in _SIGNATURES:
        if head[offset:offset + len(magic)] == magic:
            return name
    return None


def _read_bytes(path: str, what: str) -> np.ndarray:
    """The file's bytes as a uint8 array; missing, unreadable and empty files are named errors."""
    shown = display_path(path)
    try:
        buf = np.fromfile(path, dtype=np.uint8)
    except FileNotFoundError:
        raise FileNotFoundError(f"{what} file not found: {shown}") from None
    except OSError as e:
        raise OSError(e.errno, f"cannot read {what.lower()} file {shown}: {e.strerror or e}") from None
    if buf.size == 0:
        raise ValueError(f"{what} file {shown} is empty (0 bytes)")
    return buf


def _undecodable(path: str, what: str, buf: np.ndarray) -> ValueError:
    """The error for bytes OpenCV could not decode: truncated/corrupt data, or not an image at all."""
    fmt = sniff_format(buf[:16].tobytes())
    problem = (f"the {fmt} data is truncated or corrupt ({buf.size} bytes)" if fmt else
               f"it is not an image (unrecognised content, {buf.size} bytes)")
    return ValueError(f"Cannot decode {what.lower()} file {display_path(path)}: {problem}")


def read_image(path: str, channels: int = 3, to_rgb: bool = True) -> np.ndarray:
    """Read an image as float32 H x W x C (C = ``channels``, RGB order when ``to_rgb``).

    Raises:
        FileNotFoundError: the file does not exist.
        OSError: the file cannot be read (permissions, a directory, I/O error).
        ValueError: the file is empty, truncated, corrupt or not an image.
    """
    buf = _read_bytes(path, "Image")
    flag = cv2.IMREAD_GRAYSCALE if channels == 1 else cv2.IMREAD_COLOR
    im = cv2.imdecode(buf, flag)
    if im is None:
        raise _undecodable(path, "Image", buf)
    if im.ndim == 2:
        im = im[..., None]
    if to_rgb and im.shape[2] == 3:
        im = cv2.cvtColor(im, cv2.COLOR_BGR2RGB)
    return im.astype(np.float32)


def _label_format_message(path: str, fmt: Optional[str], size: int) -> str:
    what = f"a {fmt} file" if fmt else f"not an image (unrecognised content, {size} bytes)"
    return (f"Label file {display_path(path)} is {what}; label files must be PNG, BMP or TIFF (lossy formats "
            f"such as JPEG change class ids near region edges): re-create it losslessly from the annotations")


def check_label_extensions(paths: Iterable[Optional[str]], source: str = "") -> None:
    """Refuse label files whose extension is not PNG/BMP/TIFF (e.g. ``.jpg``), listing them.

    Args:
        paths: label paths (None entries, e.g. test-mode lines without a label, are skipped).
        source: where the paths come from (a list file), for the message.

    Raises:
        ValueError: some label files have another extension.
    """
    bad = [p for p in paths if p is not None and os.path.splitext(p)[1].lower() not in LABEL_EXTENSIONS]
    if not bad:
        return
    shown = "\n".join(f"  {display_path(p)}" for p in bad[:_MAX_SHOWN])
    more = f"\n  ... and {len(bad) - _MAX_SHOWN} more" if len(bad) > _MAX_SHOWN else ""
    where = f" in {display_path(source)}" if source else ""
    raise ValueError(f"{len(bad)} label file(s){where} are not PNG, BMP or TIFF (by extension); labels must be "
                     f"lossless, since JPEG and similar formats change class ids near region edges:\n{shown}{more}")


def _read_palette_indices(path: str, buf: np.ndarray) -> np.ndarray:
    """Palette indices of an indexed PNG. OpenCV expands palettes to colours, so use Pillow
    when it happens to be installed (it is optional); otherwise explain how to fix the file."""
    try:
        from PIL import Image  # optional: only needed for paletted (VOC-style) label PNGs
    except ImportError:
        raise ValueError(
            f"Label file {display_path(path)} is a paletted PNG; OpenCV cannot read its class indices. "
            f"Install Pillow, or save the labels as single-channel (grayscale) PNGs") from None
    try:
        with Image.open(io.BytesIO(buf.tobytes())) as img:
            return np.asarray(img)
    except (OSError, ValueError, SyntaxError) as e:   # Pillow's errors for truncated / corrupt data
        raise ValueError(f"Cannot decode label file {display_path(path)}: the PNG data is truncated or corrupt "
                         f"({e})") from None


def read_label(path: str) -> np.ndarray:
    """Read a label map (class id per pixel) as an H x W integer array, unchanged values.

    Raises:
        FileNotFoundError: the file does not exist.
        OSError: the file cannot be read.
        ValueError: empty, truncated or corrupt file; a lossy or non-label format (by content:
            labels must be PNG, BMP or TIFF); a multi-channel (colour) label.
    """
    buf = _read_bytes(path, "Label")
    head = buf[:32].tobytes()
    fmt = sniff_format(head)
    if fmt not in LOSSLESS_LABEL_FORMATS:
        raise ValueError(_label_format_message(path, fmt, buf.size))
    if fmt == "PNG" and len(head) >= 26 and head[25] == 3:   # IHDR colour type 3: palette indices
        return _read_palette_indices(path, buf)
    label = cv2.imdecode(buf, cv2.IMREAD_UNCHANGED)
    if label is None:
        raise _undecodable(path, "Label", buf)
    if label.ndim == 3:
        # A grey image stored as RGB is harmless; real colour labels are not class ids.
        if label.shape[2] >= 3 and np.array_equal(label[..., 0], label[..., 1]) \
                and np.array_equal(label[..., 0], label[..., 2]):
            return label[..., 0]
        raise ValueError(f"Label file {display_path(path)} has {label.shape[2]} channels; labels must be "
                         f"single-channel images holding one class id per pixel "
                         f"(colour-coded masks: convert them with tools/convert_color_masks.py)")
    return label
