"""Convert Cityscapes ``*_gtFine_labelIds.png`` to ``*_gtFine_labelTrainIds.png`` (19 classes + 255).

Uses the official id -> train id table through a 256-entry lookup table, in parallel, skipping
files already converted unless ``--overwrite``. Optionally writes PaddleSeg-style file lists
(``train.txt``, ``val.txt``, ``test.txt``: ``image_path label_path`` relative to the root).

The command line is ``python tools/convert_cityscapes.py --cityscapes_root data/cityscapes``.
"""
from __future__ import annotations

import glob
import os
from multiprocessing import Pool
from typing import Dict, List, Sequence

import cv2
import numpy as np

from paddleseg.datasets import cityscapes_labels as cl
from paddleseg.transforms.io import read_label
from paddleseg.utils.progress import progress

ID_SUFFIX = "_gtFine_labelIds.png"
TRAIN_ID_SUFFIX = "_gtFine_labelTrainIds.png"
IMG_SUFFIX = "_leftImg8bit.png"
LUT = cl.id_to_train_id_lut()


def id_to_train_id(label_ids: np.ndarray) -> np.ndarray:
    """Map an array of official label ids to train ids (uint8; unknown ids -> 255)."""
    if label_ids.dtype != np.uint8:
        # Ids beyond the table (e.g. 16-bit instance-style values) are not classes.
        out = np.full(label_ids.shape, cl.IGNORE_TRAIN_ID, np.uint8)
        inside = (label_ids >= 0) & (label_ids < 256)
        out[inside] = LUT[label_ids[inside]]
        return out
    return LUT[label_ids]


def convert_label(path: str) -> np.ndarray:
    """Read a ``*_gtFine_labelIds.png`` file and return its train-id map (H x W uint8)."""
    ids = read_label(path)   # bytes + cv2.imdecode: any file name; errors name the file
    if ids.ndim != 2:
        raise ValueError(f"{path} has {ids.shape[2]} channels; expected a single-channel labelIds PNG")
    return id_to_train_id(ids)


def _convert_one(job: tuple) -> str:
    """Worker: convert one file; returns 'written' or 'skipped'."""
    src, overwrite = job
    dst = src[: -len(ID_SUFFIX)] + TRAIN_ID_SUFFIX
    if not overwrite and os.path.exists(dst):
        return "skipped"
    if not cv2.imwrite(dst, convert_label(src)):
        raise OSError(f"Could not write {dst}")
    return "written"


def convert_all(root: str, num_workers: int = 4, overwrite: bool = False,
                show_progress: bool = True) -> Dict[str, int]:
    """Convert every ``gtFine/*/*/*_gtFine_labelIds.png`` under ``root``.

    Returns:
        ``{'found': n, 'written': n, 'skipped': n}``.
    """
    files = sorted(glob.glob(os.path.join(root, "gtFine", "*", "*", "*" + ID_SUFFIX)))
    if not files:
        raise FileNotFoundError(f"No *{ID_SUFFIX} files under {os.path.join(root, 'gtFine')}/<split>/<city>/; "
                                f"download gtFine_trainvaltest.zip from https://www.cityscapes-dataset.com/ "
                                f"and unzip it into {root}")
    jobs = [(f, overwrite) for f in files]
    counts = {"found": len(files), "written": 0, "skipped": 0}
    bar = progress(len(jobs), "labelIds -> labelTrainIds", unit="file", enabled=show_progress)
    if num_workers > 1:
        pool = Pool(num_workers)
        try:
            for status in pool.imap_unordered(_convert_one, jobs, chunksize=16):
                counts[status] += 1
                bar.update()
            # close/join, not terminate: Paddle's signal handler (inherited by the forked
            # workers) reports a SIGTERM as a fatal error.
            pool.close()
        except BaseException:
            pool.terminate()
            raise
        finally:
            pool.join()
    else:
        for job in jobs:
            counts[_convert_one(job)] += 1
            bar.update()
    bar.close()
    return counts


def write_file_lists(root: str, splits: Sequence[str] = ("train", "val", "test")) -> Dict[str, str]:
    """Write ``<split>.txt`` for each split whose images exist; labels are matched by name.

    Returns:
        split -> list path, for the lists written.
    """
    written: Dict[str, str] = {}
    for split in splits:
        imgs = sorted(glob.glob(os.path.join(root, "leftImg8bit", split, "*", "*" + IMG_SUFFIX)))
        if not imgs:
            continue
        lines: List[str] = []
        missing: List[str] = []
        for img in imgs:
            rel = os.path.relpath(img, root)
            city_stem = os.path.relpath(img, os.path.join(root, "leftImg8bit", split))[: -len(IMG_SUFFIX)]
            lab_rel = os.path.join("gtFine", split, city_stem + TRAIN_ID_SUFFIX)
            if not os.path.exists(os.path.join(root, lab_rel)):
                missing.append(lab_rel)
            lines.append(f"{rel} {lab_rel}\n")
        if missing:
            raise FileNotFoundError(f"{len(missing)} {split} image(s) have no {TRAIN_ID_SUFFIX} "
                                    f"label, e.g. {missing[:5]}")
        path = os.path.join(root, f"{split}.txt")
        with open(path, "w", encoding="utf-8") as f:
            f.writelines(lines)
        written[split] = path
    return written
