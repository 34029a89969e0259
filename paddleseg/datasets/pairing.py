"""Pair image and label files by name (never by sorted position)."""
from __future__ import annotations

import glob
import os
from typing import Dict, List

from paddleseg.datasets.file_lists import listing


def _key(path: str, root: str, suffix: str) -> str:
    """The path relative to ``root`` without ``suffix``: the part image and label share."""
    rel = os.path.relpath(path, root)
    return rel[: -len(suffix)] if rel.endswith(suffix) else os.path.splitext(rel)[0]


def pair_files(img_dir: str, img_pattern: str, img_suffix: str,
               label_dir: str, label_pattern: str, label_suffix: str) -> List[List[str]]:
    """Glob images and labels and match them by relative path minus the suffix.

    Args:
        img_dir: directory the image glob is relative to.
        img_pattern: glob under ``img_dir`` (e.g. ``"*/*_leftImg8bit.png"``).
        img_suffix: file-name ending removed to form the key (e.g. ``"_leftImg8bit.png"``).
        label_dir, label_pattern, label_suffix: the same for labels.

    Returns:
        ``[[img_path, label_path], ...]`` sorted by image path.

    Raises:
        FileNotFoundError: no images match, or some image/label has no partner (the message
            lists up to five of each kind and how many there are).
    """
    imgs = sorted(glob.glob(os.path.join(img_dir, img_pattern)))
    labels = sorted(glob.glob(os.path.join(label_dir, label_pattern)))
    if not imgs:
        raise FileNotFoundError(f"No images matching {os.path.join(img_dir, img_pattern)}")
    img_by_key: Dict[str, str] = {_key(p, img_dir, img_suffix): p for p in imgs}
    label_by_key: Dict[str, str] = {_key(p, label_dir, label_suffix): p for p in labels}
    no_label = [p for k, p in img_by_key.items() if k not in label_by_key]
    no_image = [p for k, p in label_by_key.items() if k not in img_by_key]
    problems = []
    if no_label:
        problems.append(f"{len(no_label)} image(s) have no label "
                        f"(expected <name>{label_suffix} under {label_dir}):\n{listing(no_label)}")
    if no_image:
        problems.append(f"{len(no_image)} label(s) have no image "
                        f"(expected <name>{img_suffix} under {img_dir}):\n{listing(no_image)}")
    if problems:
        raise FileNotFoundError("Image/label files do not pair up.\n" + "\n".join(problems))
    return [[img_by_key[k], label_by_key[k]] for k in sorted(img_by_key, key=img_by_key.get)]
