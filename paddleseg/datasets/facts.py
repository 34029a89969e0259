"""Dataset facts (number of classes, ignore index, image channels, class names, palette): one accessor.

Dataset classes state their facts as class constants (``Cityscapes.NUM_CLASSES``, ``PALETTE``...);
the generic :class:`~paddleseg.datasets.Dataset` takes them as constructor arguments (instance
attributes, or the dataset's config before it is built). :func:`dataset_facts` reads all three
forms, so every caller (the builder's syncing, export, evaluation images, prediction) asks one place.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional, Sequence

# fact -> the class constant stating it; the instance attribute / config key is the fact's own name.
CONSTANTS = {"num_classes": "NUM_CLASSES", "ignore_index": "IGNORE_INDEX", "img_channels": "IMG_CHANNELS",
             "class_names": "CLASS_NAMES", "palette": "PALETTE"}


@dataclass(frozen=True)
class DatasetFacts:
    """What a dataset says about its classes; None where it says nothing."""

    num_classes: Optional[int] = None
    ignore_index: Optional[int] = None
    img_channels: Optional[int] = None
    class_names: Optional[Sequence[str]] = None
    palette: Optional[Sequence[Sequence[int]]] = None


def dataset_facts(dataset: Any, cfg: Optional[dict] = None) -> DatasetFacts:
    """The facts of a dataset class or instance (or None): its class constant, else its attribute,
    else the key in ``cfg`` (the dataset's config section), else None."""
    values = {}
    for name, constant in CONSTANTS.items():
        value = getattr(dataset, constant, None)
        if value is None:
            value = getattr(dataset, name, None)
        if value is None and cfg:
            value = cfg.get(name)
        values[name] = value
    return DatasetFacts(**values)
