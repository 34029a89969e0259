"""Write PaddleSeg-style file lists (``train.txt``, ``val.txt``, ``test.txt``) for a custom dataset
from a folder of images and a folder of masks.

Images and masks are matched by name, never by sorted position: the key of a file is its path
under its folder without the extension and without an optional suffix (``0001.jpg`` and
``0001_mask.png`` share the key ``0001`` when the mask suffix is ``_mask``). The matched pairs are
shuffled with a seed and cut into train / val (/ test) by ratio; each list holds
``image<sep>mask`` lines relative to the dataset root, sorted, and is written atomically.

The command line is
``python tools/make_dataset_lists.py --dataset_root DIR --images images --masks masks``.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Dict, Iterable, List, Optional, Sequence, Tuple

import numpy as np

from paddleseg.transforms.io import LABEL_EXTENSIONS
from paddleseg.utils.errors import UsageError, UserError
from paddleseg.utils.fileio import atomic_output, display_path
from paddleseg.utils.visualize import IMAGE_EXTENSIONS

MAX_SHOWN = 5


@dataclass
class Matching:
    """Image/mask pairs matched by key, and what did not match (paths relative to the root)."""

    pairs: List[Tuple[str, str]] = field(default_factory=list)
    images_without_mask: List[str] = field(default_factory=list)
    masks_without_image: List[str] = field(default_factory=list)
    # files in the mask folder that cannot be masks (lossy formats)
    skipped_masks: List[str] = field(default_factory=list)


def listing(paths: Sequence[str], limit: int = MAX_SHOWN) -> str:
    """Up to ``limit`` paths, one per indented line, and how many more there are."""
    shown = "\n".join(f"  {display_path(p)}" for p in paths[:limit])
    more = f"\n  ... and {len(paths) - limit} more" if len(paths) > limit else ""
    return shown + more


def find_files(folder: str, extensions: Iterable[str], recursive: bool) -> List[str]:
    """Files under ``folder`` with one of ``extensions`` (any case), sorted; hidden ones skipped."""
    exts = tuple(e.lower() for e in extensions)
    found = []
    for dirpath, dirnames, filenames in os.walk(folder):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith(".")) if recursive else []
        found += [os.path.join(dirpath, f) for f in filenames
                  if not f.startswith(".") and os.path.splitext(f)[1].lower() in exts]
    return sorted(found)


def name_key(path: str, folder: str, suffix: str) -> str:
    """``path`` under ``folder`` without extension and without a trailing ``suffix``."""
    stem = os.path.splitext(os.path.relpath(path, folder))[0]
    return stem[: -len(suffix)] if suffix and stem.endswith(suffix) else stem


def by_key(paths: List[str], folder: str, suffix: str, what: str) -> Dict[str, str]:
    """key -> path; two files with one key (``a.jpg`` and ``a.png``) are ambiguous: an error."""
    table: Dict[str, str] = {}
    for path in paths:
        key = name_key(path, folder, suffix)
        if key in table:
            raise UserError(f"Two {what} files have the name {key!r}: {display_path(table[key])} "
                            f"and {display_path(path)}; remove or rename one so that each name "
                            f"is used once")
        table[key] = path
    return table


def match_files(image_dir: str, mask_dir: str, image_suffix: str = "", mask_suffix: str = "",
                recursive: bool = True, image_extensions: Sequence[str] = IMAGE_EXTENSIONS,
                mask_extensions: Sequence[str] = LABEL_EXTENSIONS) -> Matching:
    """Pair the images under ``image_dir`` with the masks under ``mask_dir`` by key.

    Args:
        image_dir, mask_dir: the two folders (they may be the same folder when the suffixes differ).
        image_suffix, mask_suffix: removed from the end of a file's stem when present (``_mask``).
        recursive: also look in sub-folders (the sub-folder is part of the key).
        image_extensions, mask_extensions: the file types taken as images / masks (masks must be
            lossless: a ``.jpg`` in the mask folder is reported in ``skipped_masks``, not used).

    Returns:
        A :class:`Matching` with absolute paths, pairs sorted by image path.

    Raises:
        UserError: two files of one kind have the same key.
    """
    masks = find_files(mask_dir, mask_extensions, recursive)
    if os.path.abspath(image_dir) == os.path.abspath(mask_dir) and mask_suffix:
        # One folder for both: only a file named like a mask is a mask.
        masks = [p for p in masks if name_key(p, mask_dir, "").endswith(mask_suffix)]
    mask_set = set(masks)
    images = [p for p in find_files(image_dir, image_extensions, recursive) if p not in mask_set]
    image_by_key = by_key(images, image_dir, image_suffix, "image")
    mask_by_key = by_key(masks, mask_dir, mask_suffix, "mask")
    matching = Matching(
        pairs=sorted((image_by_key[k], mask_by_key[k]) for k in image_by_key if k in mask_by_key),
        images_without_mask=sorted(p for k, p in image_by_key.items() if k not in mask_by_key),
        masks_without_image=sorted(p for k, p in mask_by_key.items() if k not in image_by_key))
    others = set(find_files(mask_dir, IMAGE_EXTENSIONS, recursive)) - set(masks) - set(images)
    matching.skipped_masks = sorted(others)
    return matching


def split_pairs(pairs: Sequence[Tuple[str, str]], val_ratio: float, test_ratio: float = 0.0,
                seed: int = 0) -> Dict[str, List[Tuple[str, str]]]:
    """Shuffle ``pairs`` with ``seed`` and cut them into train / val / test by ratio.

    A ratio above 0 gets at least one pair, and train always keeps at least one; each split is
    returned sorted. Equal inputs and seed give equal splits on every machine.

    Raises:
        UsageError: a ratio outside [0, 1) or ratios that leave nothing for training.
    """
    for name, ratio in (("--val_ratio", val_ratio), ("--test_ratio", test_ratio)):
        if not 0 <= ratio < 1:
            raise UsageError(f"{name} must be in [0, 1), got {ratio}")
    n = len(pairs)
    counts = [int(round(n * r)) if r == 0 or n * r >= 1 else 1 for r in (val_ratio, test_ratio)]
    if val_ratio + test_ratio >= 1 or n - sum(counts) < 1:
        raise UsageError(f"--val_ratio {val_ratio} and --test_ratio {test_ratio} leave no pair of "
                         f"the {n} for training; lower them")
    order = np.random.default_rng(seed).permutation(n)
    shuffled = [pairs[i] for i in order]
    n_val, n_test = counts
    splits = {"train": shuffled[n_val + n_test:], "val": shuffled[:n_val],
              "test": shuffled[n_val:n_val + n_test]}
    return {name: sorted(items) for name, items in splits.items() if items or name != "test"}


def relative_to_root(path: str, root: str) -> str:
    """``path`` relative to ``root`` with ``/`` separators.

    Raises:
        UsageError: ``path`` is not inside ``root``.
    """
    rel = os.path.relpath(os.path.abspath(path), os.path.abspath(root))
    if rel == ".." or rel.startswith(".." + os.sep):
        raise UsageError(f"{display_path(path)} is not inside the dataset root "
                         f"{display_path(root)}; the lists hold paths relative to the root: put "
                         f"the folders under it")
    return rel.replace(os.sep, "/")


def _check_list_path(path: str, separator: str) -> None:
    """A list entry must read back: UTF-8, without the separator."""
    try:
        path.encode("utf-8")
    except UnicodeEncodeError:
        raise UsageError(f"The file name {display_path(path)} is not UTF-8, which file lists must "
                         f"be; rename it (e.g. with `convmv -f latin1 -t utf-8`)") from None
    if separator in path:
        raise UsageError(f"{display_path(path)} contains the separator {separator!r}; choose "
                         f"another with --separator (and set `separator:` in the dataset config "
                         f"to match), or rename the file")


def list_lines(pairs: Sequence[Tuple[str, str]], root: str, separator: str = " ") -> List[str]:
    """``image<sep>mask`` lines relative to ``root``.

    Raises:
        UsageError: a path is not UTF-8 or contains the separator (the list could not be read).
    """
    lines = []
    for image, mask in pairs:
        rel = [relative_to_root(image, root), relative_to_root(mask, root)]
        for path in rel:
            _check_list_path(path, separator)
        lines.append(separator.join(rel))
    return lines


def write_lists(root: str, splits: Dict[str, Sequence[Tuple[str, str]]],
                out_dir: Optional[str] = None, separator: str = " ",
                overwrite: bool = False) -> Dict[str, str]:
    """Write ``<split>.txt`` for every split into ``out_dir`` (default: ``root``), atomically.

    Returns:
        split -> path written.

    Raises:
        UsageError: a list exists and ``overwrite`` is False (nothing is written then).
    """
    out_dir = root if out_dir is None else out_dir
    targets = {name: os.path.join(out_dir, f"{name}.txt") for name in splits}
    existing = [p for p in targets.values() if os.path.exists(p)]
    if existing and not overwrite:
        verb = "exists" if len(existing) == 1 else "exist"
        raise UsageError(f"{', '.join(map(display_path, existing))} already {verb}; pass "
                         f"--overwrite to replace, or write elsewhere with --out_dir")
    contents = {name: list_lines(pairs, root, separator) for name, pairs in splits.items()}
    for name, lines in contents.items():
        with atomic_output(targets[name], "w", encoding="utf-8", newline="\n") as f:
            f.writelines(line + "\n" for line in lines)
    return targets
