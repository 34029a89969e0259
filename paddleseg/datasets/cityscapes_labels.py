"""The official Cityscapes label table (cityscapesScripts ``labels.py``), as plain data.

Shared by the Cityscapes dataset (class names, palette), the label converter
(``tools/convert_cityscapes.py``) and the synthetic data generator, so the three can never
disagree about which official id becomes which train id.
"""
from __future__ import annotations

from typing import Dict, List, Tuple

import numpy as np

IGNORE_TRAIN_ID = 255

# (official id, name, train id, RGB colour). Ids missing from this table (34..255) map to 255;
# "license plate" (id -1) never appears in a uint8 labelIds image and is left out.
LABELS: List[Tuple[int, str, int, Tuple[int, int, int]]] = [
    (0, "unlabeled", 255, (0, 0, 0)),
    (1, "ego vehicle", 255, (0, 0, 0)),
    (2, "rectification border", 255, (0, 0, 0)),
    (3, "out of roi", 255, (0, 0, 0)),
    (4, "static", 255, (0, 0, 0)),
    (5, "dynamic", 255, (111, 74, 0)),
    (6, "ground", 255, (81, 0, 81)),
    (7, "road", 0, (128, 64, 128)),
    (8, "sidewalk", 1, (244, 35, 232)),
    (9, "parking", 255, (250, 170, 160)),
    (10, "rail track", 255, (230, 150, 140)),
    (11, "building", 2, (70, 70, 70)),
    (12, "wall", 3, (102, 102, 156)),
    (13, "fence", 4, (190, 153, 153)),
    (14, "guard rail", 255, (180, 165, 180)),
    (15, "bridge", 255, (150, 100, 100)),
    (16, "tunnel", 255, (150, 120, 90)),
    (17, "pole", 5, (153, 153, 153)),
    (18, "polegroup", 255, (153, 153, 153)),
    (19, "traffic light", 6, (250, 170, 30)),
    (20, "traffic sign", 7, (220, 220, 0)),
    (21, "vegetation", 8, (107, 142, 35)),
    (22, "terrain", 9, (152, 251, 152)),
    (23, "sky", 10, (70, 130, 180)),
    (24, "person", 11, (220, 20, 60)),
    (25, "rider", 12, (255, 0, 0)),
    (26, "car", 13, (0, 0, 142)),
    (27, "truck", 14, (0, 0, 70)),
    (28, "bus", 15, (0, 60, 100)),
    (29, "caravan", 255, (0, 0, 90)),
    (30, "trailer", 255, (0, 0, 110)),
    (31, "train", 16, (0, 80, 100)),
    (32, "motorcycle", 17, (0, 0, 230)),
    (33, "bicycle", 18, (119, 11, 32)),
]

NUM_TRAIN_CLASSES = 19

# Train id -> name / colour, in train-id order (what a 19-class model predicts).
CLASS_NAMES: List[str] = [name for _, name, tid, _ in sorted(
    (lab for lab in LABELS if lab[2] != IGNORE_TRAIN_ID), key=lambda lab: lab[2])]
PALETTE: List[Tuple[int, int, int]] = [color for _, _, tid, color in sorted(
    (lab for lab in LABELS if lab[2] != IGNORE_TRAIN_ID), key=lambda lab: lab[2])]

# Train id -> the official id whose pixels it came from (the first id with that train id).
TRAIN_ID_TO_ID: Dict[int, int] = {}
for _id, _name, _tid, _color in LABELS:
    if _tid != IGNORE_TRAIN_ID and _tid not in TRAIN_ID_TO_ID:
        TRAIN_ID_TO_ID[_tid] = _id


def id_to_train_id_lut() -> np.ndarray:
    """A 256-entry uint8 table: ``lut[label_id]`` is the train id (255 for ignored/unknown ids)."""
    lut = np.full(256, IGNORE_TRAIN_ID, dtype=np.uint8)
    for label_id, _, train_id, _ in LABELS:
        lut[label_id] = train_id
    return lut


def train_id_to_id_lut(ignore_id: int = 0) -> np.ndarray:
    """A 256-entry uint8 table mapping train ids back to official ids.

    Args:
        ignore_id: official id written for train id 255 and any other non-class value
            (0 = "unlabeled"; 1 = "ego vehicle" also maps to 255).
    """
    lut = np.full(256, ignore_id, dtype=np.uint8)
    for train_id, label_id in TRAIN_ID_TO_ID.items():
        lut[train_id] = label_id
    return lut


def palette_array() -> np.ndarray:
    """A 256x3 uint8 RGB colour table for train-id maps (ignore and unused values are black)."""
    table = np.zeros((256, 3), dtype=np.uint8)
    table[:NUM_TRAIN_CLASSES] = np.asarray(PALETTE, dtype=np.uint8)
    return table
