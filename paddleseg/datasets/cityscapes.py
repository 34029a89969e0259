"""Cityscapes (https://www.cityscapes-dataset.com/), fine annotations in train ids."""
from __future__ import annotations

import glob
import os

from paddleseg.cvlibs import manager
from paddleseg.datasets import cityscapes_labels as labels
from paddleseg.datasets.dataset import Dataset
from paddleseg.datasets.pairing import pair_files

IMG_SUFFIX = "_leftImg8bit.png"
LABEL_SUFFIX = "_gtFine_labelTrainIds.png"


def _how_to_get(root: str) -> str:
    return (f"Generate a small synthetic copy with `python tools/generate_synthetic_cityscapes.py "
            f"--out {root}`, or download leftImg8bit_trainvaltest.zip and gtFine_trainvaltest.zip "
            f"from https://www.cityscapes-dataset.com/, unzip both into {root} and run "
            f"`python tools/convert_cityscapes.py --cityscapes_root {root}`.")


@manager.DATASETS.add_component
class Cityscapes(Dataset):
    """Cityscapes in its official layout::

        dataset_root/leftImg8bit/<mode>/<city>/<name>_leftImg8bit.png
        dataset_root/gtFine/<mode>/<city>/<name>_gtFine_labelTrainIds.png

    Images and labels are paired by ``<city>/<name>``, and any unpaired file is an error.
    Samples are as described in :class:`Dataset`.

    Args:
        transforms: transform objects, applied in order.
        dataset_root: the Cityscapes directory.
        mode: 'train', 'val' or 'test'.
        edge: also return a boundary map in train mode.
    """

    NUM_CLASSES = labels.NUM_TRAIN_CLASSES
    IGNORE_INDEX = 255
    IMG_CHANNELS = 3
    NAMES = labels.CLASS_NAMES
    CLASS_NAMES = labels.CLASS_NAMES
    PALETTE = labels.PALETTE

    def __init__(self, transforms: list, dataset_root: str, mode: str = "train",
                 edge: bool = False) -> None:
        self._setup(mode, dataset_root, transforms, self.NUM_CLASSES, self.IGNORE_INDEX,
                    self.IMG_CHANNELS, edge)
        if not dataset_root or not os.path.isdir(dataset_root):
            raise FileNotFoundError(f"Cityscapes dataset_root not found: {dataset_root}. "
                                    + _how_to_get(dataset_root or "data/cityscapes"))
        img_dir = os.path.join(dataset_root, "leftImg8bit", self.mode)
        label_dir = os.path.join(dataset_root, "gtFine", self.mode)
        for d in (img_dir, label_dir):
            if not os.path.isdir(d):
                raise FileNotFoundError(f"Cityscapes split directory missing: {d}. " + _how_to_get(dataset_root))
        pattern = os.path.join("*", "*" + LABEL_SUFFIX)
        if not glob.glob(os.path.join(label_dir, pattern)) and \
                glob.glob(os.path.join(label_dir, "*", "*_gtFine_labelIds.png")):
            raise FileNotFoundError(
                f"{label_dir} has *_gtFine_labelIds.png but no *{LABEL_SUFFIX}; convert them with "
                f"`python tools/convert_cityscapes.py --cityscapes_root {dataset_root}`")
        self.file_list = pair_files(img_dir, os.path.join("*", "*" + IMG_SUFFIX), IMG_SUFFIX,
                                    label_dir, pattern, LABEL_SUFFIX)
