"""A small generated dataset laid out like a real custom one, for docs/custom_dataset.md's commands.

    data/my_dataset/
      images/site_a/0000.jpg ...          JPEG photos, in sub-folders
      images/site_b/extra.jpg             an image nobody annotated (no mask)
      masks/site_a/0000_mask.png ...      class ids 0-10, void = 11 (another name and extension)
    data/my_rgb_dataset/                  (colour=True)
      images/site_a/0000.jpg ...
      masks_rgb/site_a/0000_label.png     colour-coded masks (the config's palette; void: white)
      palette.txt                         one 'R G B name' line per class
"""
from __future__ import annotations

import os
from typing import Dict, Tuple

import cv2
import numpy as np
import yaml

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CONFIG = os.path.join(REPO, "configs", "custom", "encnet_resnet18_custom.yml")
NUM_CLASSES, VOID = 11, 11
VOID_COLOR = (255, 255, 255)


def config_facts() -> Tuple[list, list]:
    """(class_names, palette) of the custom config: the data uses the colours the config states."""
    with open(CONFIG, encoding="utf-8") as f:
        section = yaml.safe_load(f)["train_dataset"]
    return section["class_names"], section["palette"]


def _mask(h: int, w: int, rng: np.random.Generator) -> np.ndarray:
    """Class 0 background, a few rectangles of other classes, a void blob (11)."""
    mask = np.zeros((h, w), np.uint8)
    for c in rng.choice(np.arange(1, NUM_CLASSES), size=4, replace=False):
        x, y = int(rng.integers(0, w - 8)), int(rng.integers(0, h - 8))
        mask[y:y + int(rng.integers(6, h // 2)), x:x + int(rng.integers(6, w // 2))] = c
    cv2.circle(mask, (int(rng.integers(0, w)), int(rng.integers(0, h))), 4, VOID, -1)
    return mask


def _write(path: str, image: np.ndarray) -> None:
    os.makedirs(os.path.dirname(path), exist_ok=True)
    ok, data = cv2.imencode(os.path.splitext(path)[1], image)
    assert ok, path
    data.tofile(path)


def make_custom_dataset(root: str, count: int = 8, size: Tuple[int, int] = (64, 48), seed: int = 0,
                        colour: bool = False) -> Dict[str, int]:
    """Write the layout above under ``root``: class-id masks ``masks/*_mask.png``, or with
    ``colour`` colour-coded ones ``masks_rgb/*_label.png`` and ``palette.txt``."""
    rng = np.random.default_rng(seed)
    names, palette = config_facts()
    colors = np.array([*palette, VOID_COLOR], np.uint8)   # index = class id, 11 = void
    w, h = size
    for i in range(count):
        site = "site_a" if i % 2 == 0 else "site_b"
        mask = _mask(h, w, rng)
        rgb = colors[mask]
        photo = np.clip(rgb.astype(np.float32) + rng.normal(0, 6, rgb.shape), 0, 255)
        _write(os.path.join(root, "images", site, f"{i:04d}.jpg"),
               cv2.cvtColor(photo.astype(np.uint8), cv2.COLOR_RGB2BGR))
        if colour:
            _write(os.path.join(root, "masks_rgb", site, f"{i:04d}_label.png"),
                   cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
        else:
            _write(os.path.join(root, "masks", site, f"{i:04d}_mask.png"), mask)
    if colour:
        with open(os.path.join(root, "palette.txt"), "w", encoding="utf-8") as f:
            f.writelines(f"{r} {g} {b} {name}\n" for (r, g, b), name in zip(palette, names))
    else:
        _write(os.path.join(root, "images", "site_b", "extra.jpg"), np.zeros((h, w, 3), np.uint8))
    return {"pairs": count, "unmatched_images": 0 if colour else 1}
