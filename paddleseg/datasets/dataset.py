"""Dataset: a generic file-list segmentation dataset (PaddleSeg 2.8 arguments), and the
loading / validation / transform logic every dataset here shares."""
from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Dict, List, Optional

import numpy as np
import paddle

from paddleseg.cvlibs import manager
from paddleseg.datasets.label_check import describe_invalid, invalid_label_values, summarize_failures
from paddleseg.transforms import Compose
from paddleseg.transforms import functional as F
from paddleseg.transforms.io import read_label

MODES = ("train", "val", "test")
MAX_SHOWN = 5


@manager.DATASETS.add_component
class Dataset(paddle.io.Dataset):
    """Images and labels listed in a text file, one ``image<sep>label`` pair per line.

    Paths are relative to ``dataset_root`` (absolute paths are kept). In ``test`` mode a line
    may hold the image only. Samples are dicts: ``img`` float32 C x H x W, ``label`` int64
    H x W, ``img_path``, ``label_path`` (str), ``trans_info`` (list), ``gt_fields``, and
    ``edge`` (1 x H x W uint8) when ``edge`` is set in train mode. In ``train`` mode the label
    goes through the geometric transforms with the image; in ``val``/``test`` mode only the image
    is transformed and the label keeps its original size (the evaluator undoes the image's
    size changes with ``trans_info``), as in PaddleSeg 2.8.

    Args:
        mode: 'train', 'val' or 'test'.
        dataset_root: directory the list entries are relative to.
        transforms: transform objects, applied in order by a Compose.
        num_classes: number of classes; label values must be in [0, num_classes) or ignore_index.
        img_channels: 1 or 3.
        train_path: file list for mode 'train' (absolute, or relative to cwd or dataset_root).
        val_path: file list for mode 'val'.
        test_path: file list for mode 'test'.
        separator: what separates image and label on a line.
        ignore_index: label value excluded from loss and metrics.
        edge: also return a boundary map (for edge-supervised models) in train mode.
    """

    def __init__(self, mode: str, dataset_root: str, transforms: list, num_classes: int,
                 img_channels: int = 3, train_path: Optional[str] = None,
                 val_path: Optional[str] = None, test_path: Optional[str] = None,
                 separator: str = " ", ignore_index: int = 255, edge: bool = False) -> None:
        self._setup(mode, dataset_root, transforms, num_classes, ignore_index, img_channels, edge)
        if not os.path.isdir(dataset_root):
            raise FileNotFoundError(f"dataset_root does not exist or is not a directory: {dataset_root}")
        list_path = {"train": train_path, "val": val_path, "test": test_path}[self.mode]
        if list_path is None:
            raise ValueError(f"mode is '{self.mode}' but `{self.mode}_path` (the file list) is not set")
        self.file_list = self._read_file_list(self._resolve(list_path), separator)
        self._check_files_exist()

    # ----- shared by all datasets -------------------------------------------------------

    def _setup(self, mode: str, dataset_root: Optional[str], transforms: list, num_classes: int,
               ignore_index: int, img_channels: int, edge: bool, modes: tuple = MODES) -> None:
        """Validate and store the attributes every dataset has."""
        mode = str(mode).lower()
        if mode not in modes:
            raise ValueError(f"mode must be one of {list(modes)}, got '{mode}'")
        if not isinstance(num_classes, int) or num_classes < 1:
            raise ValueError(f"num_classes must be a positive int, got {num_classes!r}")
        if transforms is None:
            raise ValueError("`transforms` is required (use [] for none)")
        self.mode = mode
        self.dataset_root = dataset_root
        self.num_classes = num_classes
        self.ignore_index = ignore_index
        self.img_channels = img_channels
        self.edge = edge
        self.transforms = Compose(transforms, img_channels=img_channels)
        self.file_list: List[List[Optional[str]]] = []

    def _resolve(self, list_path: str) -> str:
        """A file list given relative to dataset_root is accepted as well as one relative to cwd."""
        if os.path.isfile(list_path):
            return list_path
        joined = os.path.join(self.dataset_root, list_path)
        if os.path.isfile(joined):
            return joined
        raise FileNotFoundError(f"{self.mode}_path file list not found: {list_path} "
                                f"(also tried {joined})")

    def _read_file_list(self, list_path: str, separator: str) -> List[List[Optional[str]]]:
        """Parse ``image<sep>label`` lines; errors name the list file and the line."""
        files: List[List[Optional[str]]] = []
        with open(list_path, "r", encoding="utf-8") as f:
            for lineno, line in enumerate(f, 1):
                line = line.strip()
                if not line:
                    continue
                items = line.split(separator)
                if len(items) == 1 and self.mode == "test":
                    files.append([os.path.join(self.dataset_root, items[0]), None])
                elif len(items) == 2:
                    files.append([os.path.join(self.dataset_root, items[0]),
                                  os.path.join(self.dataset_root, items[1])])
                else:
                    raise ValueError(f"{list_path}:{lineno}: expected 'image_path{separator}label_path'"
                                     f" (separator {separator!r}), got {line!r}")
        if not files:
            raise ValueError(f"File list {list_path} is empty")
        return files

    def _check_files_exist(self) -> None:
        """Fail at construction, not mid-epoch, when listed files are missing."""
        missing = [p for pair in self.file_list for p in pair if p is not None and not os.path.isfile(p)]
        if missing:
            shown = "\n".join(f"  {p}" for p in missing[:MAX_SHOWN])
            more = f"\n  ... and {len(missing) - MAX_SHOWN} more" if len(missing) > MAX_SHOWN else ""
            raise FileNotFoundError(f"{len(missing)} file(s) of the {self.mode} set are missing:\n{shown}{more}")

    def load_label(self, path: str) -> np.ndarray:
        """Read a label file as stored train ids (subclasses remap here, e.g. ADE20K)."""
        return read_label(path)

    def _validated_label(self, path: str) -> np.ndarray:
        label = self.load_label(path)
        bad = invalid_label_values(label, self.num_classes, self.ignore_index)
        if bad.size:
            raise ValueError(describe_invalid(path, bad, self.num_classes, self.ignore_index))
        return label

    def __getitem__(self, idx: int) -> Dict[str, Any]:
        img_path, label_path = self.file_list[idx]
        data: Dict[str, Any] = {"img": img_path, "img_path": img_path,
                                "label_path": label_path or "", "trans_info": [], "gt_fields": []}
        if label_path is not None:
            data["label"] = self._validated_label(label_path)
            if self.mode == "train":
                data["gt_fields"].append("label")
        data = self.transforms(data)
        if self.edge and self.mode == "train":
            data["edge"] = F.mask_to_binary_edge(data["label"], radius=2, ignore_index=self.ignore_index)
        return data

    def __len__(self) -> int:
        return len(self.file_list)

    def check_labels(self, max_files: Optional[int] = None, num_threads: int = 4) -> int:
        """Scan label files up front and raise one error listing every bad file found.

        Args:
            max_files: check at most this many, evenly spread over the list (None: all).
            num_threads: reader threads (decoding releases the GIL).

        Returns:
            The number of label files checked.

        Raises:
            ValueError: some label holds values outside [0, num_classes) other than ignore_index.
        """
        paths = [lab for _, lab in self.file_list if lab is not None]
        if max_files is not None and len(paths) > max_files:
            picks = np.linspace(0, len(paths) - 1, max(max_files, 0)).round().astype(int)
            paths = [paths[i] for i in np.unique(picks)]
        if not paths:
            return 0

        def bad_values(path: str) -> np.ndarray:
            return invalid_label_values(self.load_label(path), self.num_classes, self.ignore_index)

        with ThreadPoolExecutor(max_workers=max(1, min(num_threads, len(paths)))) as pool:
            results = list(pool.map(bad_values, paths))
        failures = [(p, b) for p, b in zip(paths, results) if b.size]
        if failures:
            raise ValueError(summarize_failures(failures, self.num_classes, self.ignore_index,
                                                len(paths), MAX_SHOWN))
        return len(paths)
