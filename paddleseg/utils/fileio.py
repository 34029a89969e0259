"""File I/O with errors a user can act on: result files written so that a failure is loud and never
leaves a half-written file, and text inputs (lists, configs) that must be UTF-8.

Every file goes to a temporary name in its folder and is renamed into place once complete, so a
file under its final name is always whole. A write that fails (a full disk, a read-only folder,
a quota) removes the temporary file and raises a :class:`~paddleseg.utils.errors.UserError`
naming the path and the free space left there.
"""
from __future__ import annotations

import contextlib
import errno
import os
import shutil
from typing import IO, Iterator

import cv2
import numpy as np

from .errors import UserError


def display_path(path: str) -> str:
    """``path`` as printable text: bytes of the name that are not UTF-8 appear as ``\\xNN``."""
    return os.fsencode(path).decode("utf-8", "backslashreplace")


def read_utf8_text(path: str, advice: str = "convert it, e.g. `iconv -f latin1 -t utf-8`") -> str:
    """The text of ``path`` decoded as UTF-8 (a leading BOM is dropped).

    Raises:
        ValueError: ``PATH:LINE: not UTF-8 (byte 0xNN at column C)`` and ``advice``, when it is not.
    """
    with open(path, "rb") as f:
        data = f.read()
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        line = data.count(b"\n", 0, e.start) + 1
        column = e.start - data.rfind(b"\n", 0, e.start)
        raise ValueError(f"{display_path(path)}:{line}: not UTF-8 (byte 0x{data[e.start]:02x} at column {column}); "
                         f"{advice}") from None


def _human(num_bytes: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if num_bytes < 1024 or unit == "TiB":
            return f"{num_bytes:.0f} {unit}" if unit == "B" else f"{num_bytes:.1f} {unit}"
        num_bytes /= 1024
    return f"{num_bytes:.1f} TiB"


def free_space(path: str) -> str:
    """Free space on the file system holding ``path`` (or its nearest existing parent), in words."""
    folder = os.path.abspath(path)
    while folder and not os.path.exists(folder):
        parent = os.path.dirname(folder)
        if parent == folder:
            break
        folder = parent
    try:
        return f"{_human(shutil.disk_usage(folder).free)} free on {folder}"
    except OSError:
        return f"free space on {folder} unknown"


def write_error(path: str, err: OSError) -> UserError:
    """The one-line error for a failed write of ``path``: the cause, the free space, what to do."""
    reason = err.strerror or str(err)
    advice = "free some space or write elsewhere" if err.errno in (errno.ENOSPC, errno.EDQUOT) \
        else "check the folder exists and is writable, or write elsewhere"
    return UserError(f"Could not write {path}: {reason} ({free_space(path)}); no partial file was left; "
                     f"{advice}.")


@contextlib.contextmanager
def atomic_output(path: str, mode: str = "w", **open_kwargs) -> Iterator[IO]:
    """``with atomic_output(path) as f:`` writes ``f`` to a temporary name, renamed to ``path`` on success.

    Raises:
        UserError: the write (or the rename) failed; the temporary file is removed.
    """
    folder = os.path.dirname(os.path.abspath(path))
    tmp = os.path.join(folder, f".{os.path.basename(path)}.tmp-{os.getpid()}")
    try:
        os.makedirs(folder, exist_ok=True)
        with open(tmp, mode, **open_kwargs) as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except OSError as err:
        with contextlib.suppress(OSError):
            os.remove(tmp)
        raise write_error(path, err) from err
    except BaseException:
        with contextlib.suppress(OSError):
            os.remove(tmp)
        raise


def write_bytes(path: str, data: bytes) -> str:
    """Write ``data`` to ``path`` atomically (see :func:`atomic_output`); returns ``path``."""
    with atomic_output(path, "wb") as f:
        f.write(data)
    return path


def write_image(path: str, image: np.ndarray) -> str:
    """Encode ``image`` (OpenCV channel order) in the format of ``path``'s extension and write it
    atomically; works for any file name, unlike ``cv2.imwrite``."""
    ok, encoded = cv2.imencode(os.path.splitext(path)[1] or ".png", image)
    if not ok:
        raise ValueError(f"OpenCV could not encode an image of shape {image.shape} as {path}")
    return write_bytes(path, encoded.tobytes())
