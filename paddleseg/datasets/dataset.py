"""Dataset: a generic file-list segmentation dataset (PaddleSeg 2.8 arguments), and the
loading / validation / transform logic every dataset here shares."""
from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Dict, List, Optional, Tuple

import cv2
import numpy as np
import paddle

from paddleseg.cvlibs import manager
from paddleseg.datasets.facts import class_facts
from paddleseg.datasets.label_check import (check_label_padding, describe_invalid,
                                            invalid_label_values)
from paddleseg.transforms import Compose
from paddleseg.transforms.compose import check_same_size
from paddleseg.transforms import functional as F
from paddleseg.transforms.io import check_label_extensions, display_path, read_image, read_label
from paddleseg.utils.errors import DataError
from paddleseg.utils.fileio import read_utf8_text

MODES = ("train", "val", "test")
MAX_SHOWN = 5
# What reading or transforming a bad sample raises (missing/unreadable/corrupt file, size or value
# mismatch, OpenCV rejecting the data). Anything else is a bug and keeps its own type and traceback.
SAMPLE_ERRORS = (OSError, ValueError, cv2.error)


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
        class_names: one name per class, for evaluation reports (not in PaddleSeg 2.8).
        palette: one [R, G, B] per class, for coloured predictions and for
            tools/convert_color_masks.py --config (not in PaddleSeg 2.8).
    """

    def __init__(self, mode: str, dataset_root: str, transforms: list, num_classes: int,
                 img_channels: int = 3, train_path: Optional[str] = None,
                 val_path: Optional[str] = None, test_path: Optional[str] = None,
                 separator: str = " ", ignore_index: int = 255, edge: bool = False,
                 class_names: Optional[List[str]] = None,
                 palette: Optional[List[List[int]]] = None) -> None:
        self._setup(mode, dataset_root, transforms, num_classes, ignore_index, img_channels, edge)
        self.class_names, self.palette = class_facts(num_classes, class_names, palette)
        if not os.path.isdir(dataset_root):
            raise FileNotFoundError(f"dataset_root does not exist or is not a directory: {dataset_root}")
        list_path = {"train": train_path, "val": val_path, "test": test_path}[self.mode]
        if list_path is None:
            raise ValueError(f"mode is '{self.mode}' but `{self.mode}_path` (the file list) is not set")
        list_path = self._resolve(list_path)
        self.file_list = self._read_file_list(list_path, separator)
        check_label_extensions((lab for _, lab in self.file_list), source=list_path)
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
        if mode == "train":   # only training transforms the label
            check_label_padding(self.transforms.transforms, num_classes, ignore_index)
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
        """Parse ``image<sep>label`` lines (UTF-8); errors name the list file and the line."""
        files: List[List[Optional[str]]] = []
        text = read_utf8_text(list_path, advice="file lists must be UTF-8 text: convert it (e.g. `iconv -f latin1 "
                                                "-t utf-8`) and give the files it names UTF-8 names too (e.g. with "
                                                "`convmv`)")
        for lineno, line in enumerate(text.splitlines(), 1):
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
            raise ValueError(describe_invalid(display_path(path), bad, self.num_classes, self.ignore_index))
        return label

    def __getitem__(self, idx: int) -> Dict[str, Any]:
        """Sample ``idx``; random transforms draw from a generator seeded from ``np.random``."""
        return self.get_sample(idx)

    def get_sample(self, idx: int, rng: Optional[np.random.Generator] = None) -> Dict[str, Any]:
        """Sample ``idx`` with its random transforms drawing from ``rng`` (the training pipeline
        passes one per sample: :class:`paddleseg.core.data.SeededSamples`)."""
        img_path, label_path = self.file_list[idx]
        try:
            return self._load_sample(img_path, label_path, rng)
        except SAMPLE_ERRORS as e:
            raise DataError(sample_error_message(img_path, label_path, str(e))) from e
        except Exception as e:   # a bug (in a transform, say): keep its traceback, add which sample
            e.add_note(f"while loading {_sample_name(img_path, label_path)}")
            raise

    def _load_sample(self, img_path: str, label_path: Optional[str],
                     rng: Optional[np.random.Generator]) -> Dict[str, Any]:
        data: Dict[str, Any] = {"img": img_path, "img_path": img_path,
                                "label_path": label_path or "", "trans_info": [], "gt_fields": []}
        if label_path is not None:
            data["label"] = self._validated_label(label_path)
            if self.mode == "train":
                data["gt_fields"].append("label")
        data = self.transforms(data, rng)
        if self.edge and self.mode == "train":
            data["edge"] = F.mask_to_binary_edge(data["label"], radius=2, ignore_index=self.ignore_index)
        return data

    def __len__(self) -> int:
        return len(self.file_list)

    @property
    def uses_global_rng(self) -> bool:
        """True when a sample may draw from ``np.random``: a transform without an ``rng`` parameter,
        or a subclass's own ``__getitem__`` (the training pipeline then calls ``dataset[i]``)."""
        return self.transforms.uses_global_rng or type(self).__getitem__ is not Dataset.__getitem__

    def check_labels(self, max_files: Optional[int] = None, num_threads: int = 4) -> int:
        """Scan image/label pairs up front and raise one error listing every bad pair found.

        Each sampled pair is decoded in full: the label must be readable, lossless and hold only
        class ids or ignore_index; the image must be readable (not truncated) and of the label's size.

        Args:
            max_files: check at most this many pairs, evenly spread over the list (None: all).
            num_threads: reader threads (decoding releases the GIL).

        Returns:
            The number of pairs checked.

        Raises:
            DataError: some pair cannot be used; the message names the files and the problem.
        """
        pairs = [(img, lab) for img, lab in self.file_list if lab is not None]
        if max_files is not None and len(pairs) > max_files:
            picks = np.linspace(0, len(pairs) - 1, max(max_files, 0)).round().astype(int)
            pairs = [pairs[i] for i in np.unique(picks)]
        if not pairs:
            return 0
        with ThreadPoolExecutor(max_workers=max(1, min(num_threads, len(pairs)))) as pool:
            results = list(pool.map(self._pair_problem, pairs))
        problems = [r for r in results if r is not None]
        if problems:
            lines = [f"{len(problems)} of {len(pairs)} checked image/label pairs of the {self.mode} set "
                     f"cannot be used:"]
            lines += [f"  {text}" for _, text in problems[:MAX_SHOWN]]
            if len(problems) > MAX_SHOWN:
                lines.append(f"  ... and {len(problems) - MAX_SHOWN} more")
            if any(kind == "values" for kind, _ in problems):
                lines.append(f"Label values must be class ids in [0, {self.num_classes - 1}] or ignore_index="
                             f"{self.ignore_index}: check num_classes and ignore_index (your "
                             f"void value), or convert the labels to train ids.")
            raise DataError("\n".join(lines))
        return len(pairs)

    def _pair_problem(self, pair: Tuple[str, str]) -> Optional[Tuple[str, str]]:
        """(kind, one-line description naming the files) of what is wrong with a pair, or None."""
        img_path, label_path = pair
        try:
            label = self.load_label(label_path)
            image = read_image(img_path, self.img_channels, to_rgb=False)
            check_same_size(image, label, f"image {display_path(img_path)}", f"label {display_path(label_path)}")
        except SAMPLE_ERRORS as e:
            return "file", sample_error_message(img_path, label_path, str(e))
        bad = invalid_label_values(label, self.num_classes, self.ignore_index)
        if bad.size:
            return "values", describe_invalid(display_path(label_path), bad, self.num_classes, self.ignore_index)
        return None


def _sample_name(img_path: str, label_path: Optional[str]) -> str:
    return f"image {display_path(img_path)}" + (f", label {display_path(label_path)}" if label_path else "")


def sample_error_message(img_path: str, label_path: Optional[str], problem: str) -> str:
    """One line naming the sample's image and label files (each once) and what is wrong."""
    missing = [(kind, display_path(p)) for kind, p in (("image", img_path), ("label", label_path))
               if p and display_path(p) not in problem]
    if not missing:
        return problem
    if len(missing) == 1:
        return f"{problem}; paired with {missing[0][0]} {missing[0][1]}"
    return f"cannot load {_sample_name(img_path, label_path)}: {problem}"
