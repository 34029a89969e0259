"""ADE20K / MIT Scene Parsing (ADEChallengeData2016), 150 classes."""
from __future__ import annotations

import os
from typing import Optional

import numpy as np

from paddleseg.cvlibs import manager
from paddleseg.datasets.dataset import Dataset
from paddleseg.datasets.pairing import pair_files
from paddleseg.transforms.io import read_label

URL = "http://data.csail.mit.edu/places/ADEchallenge/ADEChallengeData2016.zip"
_SPLIT_DIRS = {"train": "training", "val": "validation"}


@manager.DATASETS.add_component
class ADE20K(Dataset):
    """ADE20K in the ADEChallengeData2016 layout::

        dataset_root/images/{training,validation}/<name>.jpg
        dataset_root/annotations/{training,validation}/<name>.png

    Stored labels are 0 (other/unlabelled) and 1..150; they are shifted by -1 so classes are
    0..149 and 0 becomes 255 (ignored), as in PaddleSeg.

    Args:
        transforms: transform objects, applied in order.
        dataset_root: the ADEChallengeData2016 directory.
        mode: 'train' or 'val'.
        edge: also return a boundary map in train mode.
    """

    NUM_CLASSES = 150
    IGNORE_INDEX = 255
    IMG_CHANNELS = 3

    def __init__(self, transforms: list, dataset_root: Optional[str] = None, mode: str = "train",
                 edge: bool = False) -> None:
        self._setup(mode, dataset_root, transforms, self.NUM_CLASSES, self.IGNORE_INDEX,
                    self.IMG_CHANNELS, edge, modes=tuple(_SPLIT_DIRS))
        if not dataset_root or not os.path.isdir(dataset_root):
            raise FileNotFoundError(
                f"ADE20K dataset_root not found: {dataset_root}. Download {URL} and unzip it so "
                f"that dataset_root is the ADEChallengeData2016 directory")
        split = _SPLIT_DIRS[self.mode]
        img_dir = os.path.join(dataset_root, "images", split)
        label_dir = os.path.join(dataset_root, "annotations", split)
        for d in (img_dir, label_dir):
            if not os.path.isdir(d):
                raise FileNotFoundError(f"ADE20K split directory missing: {d} (expected the "
                                        f"ADEChallengeData2016 layout from {URL})")
        self.file_list = pair_files(img_dir, "*.jpg", ".jpg", label_dir, "*.png", ".png")

    def load_label(self, path: str) -> np.ndarray:
        """Stored label minus 1, with the stored 0 ("other") mapped to IGNORE_INDEX."""
        label = read_label(path)
        if label.dtype == np.uint8:
            # uint8 wrap-around sends 0 to exactly 255 = IGNORE_INDEX.
            return label - np.uint8(1)
        shifted = label.astype(np.int32) - 1
        shifted[shifted < 0] = self.IGNORE_INDEX
        return shifted
