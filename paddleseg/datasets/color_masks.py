"""Convert colour-coded masks (one RGB colour per class) into class-id masks the datasets read.

The palette lists one ``(R, G, B)`` per class, class id = position. Colours of a void class map to
the dataset's ``ignore_index``. The lookup is vectorised: each pixel's colour is packed into one
integer and found in the sorted palette with ``np.searchsorted`` (no Python loop over pixels).
A colour that is not in the palette is an error naming the file and the colour (a JPEG-compressed
colour mask shows up this way: it holds blends of the palette colours), unless asked to map such
pixels to ``ignore_index``.

The command line is
``python tools/convert_color_masks.py --src masks_rgb --dst masks --palette FILE``.
"""
from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from typing import List, Optional, Sequence, Tuple

import cv2
import numpy as np

from paddleseg.datasets.facts import Color, check_palette
from paddleseg.datasets.file_lists import by_key, find_files, listing
from paddleseg.transforms.io import LABEL_EXTENSIONS, read_image
from paddleseg.utils.errors import UsageError, UserError
from paddleseg.utils.fileio import display_path, read_utf8_text, write_image

MAX_SHOWN = 5


def read_palette_file(path: str) -> List[Color]:
    """Read a palette file: one class per line, ``R G B`` (commas allowed) and an optional name;
    blank lines and ``#`` comments are skipped. Class id = order of the lines.

    Raises:
        UsageError: the file is missing or a line is not a colour (named by ``path:line``).
    """
    if not os.path.isfile(path):
        raise UsageError(f"Palette file {display_path(path)} not found")
    entries = []
    for lineno, line in enumerate(read_utf8_text(path).splitlines(), 1):
        fields = line.split("#", 1)[0].replace(",", " ").split()
        if not fields:
            continue
        try:
            entries.append(tuple(int(v) for v in fields[:3]) if len(fields) >= 3 else tuple(fields))
        except ValueError:
            raise UsageError(f"{display_path(path)}:{lineno}: expected 'R G B [name]', "
                             f"got {line.strip()!r}") from None
    try:
        return check_palette(entries, display_path(path))
    except ValueError as e:
        raise UsageError(str(e)) from None


def _pack(rgb: np.ndarray) -> np.ndarray:
    """H x W x 3 uint8 RGB -> H x W uint32 ``R<<16 | G<<8 | B``."""
    rgb = rgb.astype(np.uint32)
    return (rgb[..., 0] << 16) | (rgb[..., 1] << 8) | rgb[..., 2]


def _unpack(code: int) -> Color:
    return (code >> 16) & 255, (code >> 8) & 255, code & 255


class ColorToClass:
    """Maps RGB masks to class ids: class colours to their ids, void colours to ignore_index.

    Args:
        palette: one RGB colour per class, class id = position.
        ignore_colors: colours of void pixels, written as ``ignore_index``.
        ignore_index: the value for void (and, with ``unknown_to_ignore``, unknown) colours.
        unknown_to_ignore: map colours in neither list to ``ignore_index`` instead of failing.
    """

    def __init__(self, palette: Sequence[Sequence[int]],
                 ignore_colors: Sequence[Sequence[int]] = (), ignore_index: int = 255,
                 unknown_to_ignore: bool = False) -> None:
        colors = check_palette(list(palette) + list(ignore_colors), "palette and ignore colours")
        if not 0 <= ignore_index <= 65535:
            raise ValueError(f"ignore_index must be in [0, 65535] to be stored in a PNG, "
                             f"got {ignore_index}")
        ids = list(range(len(palette))) + [ignore_index] * len(ignore_colors)
        if ignore_index < len(palette):
            raise ValueError(f"ignore_index {ignore_index} is also the id of a palette class "
                             f"(classes 0-{len(palette) - 1}); void must have an id of its own")
        codes = _pack(np.array(colors, np.uint8)[None])[0]
        order = np.argsort(codes)
        self.codes = codes[order]
        self.dtype = np.uint8 if max(ids) <= 255 else np.uint16
        self.ids = np.array(ids, self.dtype)[order]
        self.ignore_index = ignore_index
        self.unknown_to_ignore = unknown_to_ignore

    def __call__(self, rgb: np.ndarray, name: str = "mask") -> np.ndarray:
        """H x W x 3 uint8 RGB -> H x W class ids (uint8, or uint16 past 255).

        Raises:
            UnknownColorError: some colour is not in the palette (unless ``unknown_to_ignore``); the
                message names ``name``, the colours (RGB) and their pixel counts.
        """
        packed = _pack(rgb)
        pos = np.minimum(np.searchsorted(self.codes, packed), len(self.codes) - 1)
        known = self.codes[pos] == packed
        out = self.ids[pos]
        if not known.all():
            if not self.unknown_to_ignore:
                raise UnknownColorError(name, packed[~known])
            out[~known] = self.ignore_index
        return out


ADVICE = ("add them to the palette, list void colours with --ignore_color R G B, or pass "
          "--unknown_to_ignore (a JPEG colour mask cannot be converted: re-export it as PNG)")


class UnknownColorError(ValueError):
    """A mask holds colours outside the palette; ``colors`` names the most frequent ones."""

    def __init__(self, name: str, unknown_codes: np.ndarray) -> None:
        codes, counts = np.unique(unknown_codes, return_counts=True)
        top = np.argsort(-counts, kind="stable")[:3]
        more = f" and {len(codes) - len(top)} other colour(s)" if len(codes) > len(top) else ""
        self.name = name
        shown = [f"{list(_unpack(int(codes[i])))} ({counts[i]} px)" for i in top]
        self.colors = ", ".join(shown) + more
        super().__init__(f"Mask {name} has colours not in the palette: {self.colors}; {ADVICE}")


def read_rgb(path: str) -> np.ndarray:
    """An image file as H x W x 3 uint8 RGB (any file name; paletted PNGs expand to colours)."""
    return read_image(path, 3, to_rgb=True).astype(np.uint8)


def plan_outputs(src_dir: str, dst_dir: str, suffix: str = "", recursive: bool = True,
                 overwrite: bool = False) -> List[Tuple[str, str]]:
    """(colour mask, class-id PNG to write) for every mask under ``src_dir``: same relative name
    under ``dst_dir``, ``.png``, with ``suffix`` (e.g. ``_rgb``) removed from the stem.

    Raises:
        UsageError: no masks found, or outputs exist and ``overwrite`` is False.
    """
    # by name, as the list tool matches: x_rgb.png and x.png (or a.png and a.bmp) would both
    # write dst/x.png, so they are refused as ambiguous
    masks = by_key(find_files(src_dir, LABEL_EXTENSIONS, recursive), src_dir, suffix, "mask")
    jobs = [(path, os.path.join(dst_dir, key + ".png")) for key, path in sorted(masks.items())]
    if not jobs:
        raise UsageError(f"No PNG, BMP or TIFF masks under {display_path(src_dir)}")
    clash = [dst for src, dst in jobs if os.path.exists(dst)]
    if clash and not overwrite:
        raise UsageError(f"{len(clash)} output file(s) exist, e.g. {display_path(clash[0])}; pass "
                         f"--overwrite to replace them (never point --dst at the colour masks "
                         f"themselves)")
    return jobs


def convert_folder(jobs: Sequence[Tuple[str, str]], mapper: ColorToClass,
                   num_threads: int = 4) -> int:
    """Convert every (src, dst) job with ``mapper``; returns how many were written.

    Raises:
        UserError: some masks could not be converted (the others are written): one line for one
            mask, else a list of the masks (up to five) and the advice once.
    """
    def one(job: Tuple[str, str]) -> Optional[Exception]:
        src, dst = job
        try:
            write_image(dst, mapper(read_rgb(src), display_path(src)))
        except (ValueError, OSError) as e:   # unknown colours, undecodable or unreadable file
            return e
        return None

    with ThreadPoolExecutor(max_workers=max(1, num_threads)) as pool:
        problems = [p for p in pool.map(one, jobs) if p is not None]
    if len(problems) == 1:
        raise UserError(str(problems[0]))
    if problems:
        lines = [f"{p.name}: {p.colors}" if isinstance(p, UnknownColorError) else str(p)
                 for p in problems]
        advice = f"\nFor colours not in the palette: {ADVICE}." if any(
            isinstance(p, UnknownColorError) for p in problems) else ""
        raise UserError(f"{len(problems)} of {len(jobs)} masks were not converted:\n"
                        f"{listing(lines, MAX_SHOWN)}{advice}")
    return len(jobs)

