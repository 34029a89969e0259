"""Write a small synthetic dataset in the real Cityscapes layout, learnable in minutes on CPU.

Each image is a street-like scene: sky above a building skyline, road and a sidewalk below
the horizon, a black "ego vehicle" band at the bottom (ignored, label 255), and four objects
(rectangles, ellipses, thin poles) of other classes. Every class is painted in its own
colour (the Cityscapes palette) plus mild noise, so a small network separates the classes
quickly. Object classes cycle through the list, so every split holds all 19 classes once it
has five or more images.

    from paddleseg.datasets.synthetic import generate
    generate("data/cityscapes_synth", num_train=40, num_val=10, size=(256, 128), seed=0)

The command line is ``python tools/generate_synthetic_cityscapes.py --out DIR``.
"""
from __future__ import annotations

import os
from typing import Dict, List, Sequence, Tuple

import cv2
import numpy as np

from paddleseg.datasets import cityscapes_labels as cl

CITIES = {"train": ["aachen", "bochum"], "val": ["frankfurt", "lindau"]}
ROAD, SIDEWALK, BUILDING, POLE, SKY = 0, 1, 2, 5, 10
BACKGROUND = (ROAD, SIDEWALK, BUILDING, SKY)
OBJECTS = [c for c in range(cl.NUM_TRAIN_CLASSES) if c not in BACKGROUND]
OBJECTS_PER_IMAGE = 4
EGO_VEHICLE_ID, UNLABELED_ID = 1, 0
IGNORE = cl.IGNORE_TRAIN_ID


def _colors() -> np.ndarray:
    """256x3 RGB table. Bus (0,60,100) and train (0,80,100) are only 20 apart in the palette,
    too close to tell apart under noise, so train is pushed away; ignore pixels are black."""
    table = cl.palette_array().astype(np.int16)
    table[16] = (0, 130, 130)
    return table


def _background(h: int, w: int, rng: np.random.Generator) -> np.ndarray:
    """Sky, skyline of building blocks, road and a sidewalk wedge, ego band; H x W uint8."""
    label = np.full((h, w), SKY, np.uint8)
    horizon = int(h * rng.uniform(0.4, 0.55))
    x = 0
    while x < w:  # one rectangle per building block, a handful per image
        bw = int(rng.integers(w // 10, w // 4))
        top = int(horizon - h * rng.uniform(0.12, 0.35))
        label[max(top, 0):horizon, x:x + bw] = BUILDING
        x += bw
    label[horizon:] = ROAD
    side_w = int(w * rng.uniform(0.15, 0.3))
    wedge = np.array([[0, horizon], [side_w // 3, horizon], [side_w, h], [0, h]], np.int32)
    if rng.random() < 0.5:
        wedge[:, 0] = w - 1 - wedge[:, 0]
    cv2.fillPoly(label, [wedge], SIDEWALK)
    label[h - max(2, h // 16):] = IGNORE  # ego vehicle
    return label


def _draw_objects(label: np.ndarray, classes: Sequence[int], rng: np.random.Generator) -> None:
    """Paint rectangles/ellipses (thin tall bars for poles) of ``classes`` in place."""
    h, w = label.shape
    for c in classes:
        cx = int(rng.integers(w // 10, w - w // 10))
        cy = int(rng.integers(int(h * 0.3), int(h * 0.85)))
        if c == POLE:
            half_w, half_h = max(2, w // 80), int(h * rng.uniform(0.15, 0.3))
        else:
            half_w, half_h = int(w * rng.uniform(0.04, 0.1)), int(h * rng.uniform(0.06, 0.15))
        if c != POLE and rng.random() < 0.5:
            cv2.ellipse(label, (cx, cy), (half_w, half_h), 0, 0, 360, int(c), -1)
        else:
            cv2.rectangle(label, (cx - half_w, cy - half_h), (cx + half_w, cy + half_h), int(c), -1)
    if rng.random() < 0.3:  # a small unlabelled blob, like Cityscapes' void regions
        cv2.circle(label, (int(rng.integers(0, w)), int(rng.integers(0, h))), max(2, h // 20), IGNORE, -1)


def _render(label: np.ndarray, colors: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Class colours + per-image illumination + pixel noise, as uint8 RGB."""
    img = colors[label].astype(np.float32)
    img += rng.normal(0.0, 4.0)  # global brightness jitter
    img += rng.normal(0.0, 5.0, size=img.shape).astype(np.float32)
    return np.clip(img, 0, 255).astype(np.uint8)


def _label_ids(train_ids: np.ndarray, ego_rows: int) -> np.ndarray:
    """Official label ids for a train-id map: classes via the table, ignore as 'unlabeled',
    and the ego band as 'ego vehicle' (both map back to 255)."""
    ids = cl.train_id_to_id_lut(ignore_id=UNLABELED_ID)[train_ids]
    ego = ids[-ego_rows:]
    ego[train_ids[-ego_rows:] == IGNORE] = EGO_VEHICLE_ID
    return ids


def _write(path: str, array: np.ndarray) -> None:
    os.makedirs(os.path.dirname(path), exist_ok=True)
    if not cv2.imwrite(path, array):
        raise OSError(f"Could not write {path}")


def generate(out_dir: str, num_train: int = 40, num_val: int = 10,
             size: Tuple[int, int] = (256, 128), seed: int = 0) -> Dict[str, object]:
    """Write the dataset and PaddleSeg-style ``train.txt``/``val.txt`` lists under ``out_dir``.

    Args:
        out_dir: dataset root to create (existing files with the same names are overwritten).
        num_train: training images.
        num_val: validation images.
        size: (width, height) of every image.
        seed: seed of the generator; equal arguments give byte-identical files.

    Returns:
        ``{'root', 'size', 'num_classes', 'train': [(img, label_train_ids), ...], 'val': [...],
        'class_pixels': {split: int64 array of pixel counts per train id}}``.
    """
    w, h = int(size[0]), int(size[1])
    if w < 32 or h < 32:
        raise ValueError(f"size must be at least 32x32, got {w}x{h}")
    rng = np.random.default_rng(seed)
    colors = _colors()
    ego_rows = max(2, h // 16)
    result: Dict[str, object] = {"root": out_dir, "size": (w, h), "num_classes": cl.NUM_TRAIN_CLASSES,
                                 "class_pixels": {}}
    for split, count in (("train", num_train), ("val", num_val)):
        pairs: List[Tuple[str, str]] = []
        pixels = np.zeros(cl.NUM_TRAIN_CLASSES, np.int64)
        for i in range(count):
            city = CITIES[split][i % len(CITIES[split])]
            stem = f"{city}_000000_{i:06d}"
            label = _background(h, w, rng)
            start = (i * OBJECTS_PER_IMAGE) % len(OBJECTS)
            _draw_objects(label, [OBJECTS[(start + k) % len(OBJECTS)] for k in range(OBJECTS_PER_IMAGE)], rng)
            img_rel = os.path.join("leftImg8bit", split, city, stem + "_leftImg8bit.png")
            lab_rel = os.path.join("gtFine", split, city, stem + "_gtFine_labelTrainIds.png")
            ids_rel = os.path.join("gtFine", split, city, stem + "_gtFine_labelIds.png")
            _write(os.path.join(out_dir, img_rel), cv2.cvtColor(_render(label, colors, rng), cv2.COLOR_RGB2BGR))
            _write(os.path.join(out_dir, lab_rel), label)
            _write(os.path.join(out_dir, ids_rel), _label_ids(label, ego_rows))
            pixels += np.bincount(label.ravel(), minlength=256)[:cl.NUM_TRAIN_CLASSES]
            pairs.append((img_rel, lab_rel))
        with open(os.path.join(out_dir, f"{split}.txt"), "w", encoding="utf-8") as f:
            f.writelines(f"{a} {b}\n" for a, b in sorted(pairs))
        result[split] = sorted(pairs)
        result["class_pixels"][split] = pixels
    return result
