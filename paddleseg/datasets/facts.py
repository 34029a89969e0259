"""Dataset facts (number of classes, ignore index, image channels, class names, palette): one accessor.

Dataset classes state their facts as class constants (``Cityscapes.NUM_CLASSES``, ``PALETTE``...);
the generic :class:`~paddleseg.datasets.Dataset` takes them as constructor arguments (instance
attributes, or the dataset's config before it is built). :func:`dataset_facts` reads all three
forms, so every caller (the builder's syncing, export, evaluation images, prediction) asks one place.
:func:`class_facts` checks a generic dataset's ``class_names`` and ``palette`` (one per class) and
:func:`check_palette` what a palette is (distinct RGB colours), for datasets and mask conversion.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, List, Optional, Sequence, Tuple

Color = Tuple[int, int, int]

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


def check_palette(palette: Sequence[Sequence[int]], where: str = "palette") -> List[Color]:
    """``palette`` as a list of RGB tuples; entries must be 3 ints in [0, 255] and distinct.

    Raises:
        ValueError: the message names ``where`` and the bad entry.
    """
    colors: List[Color] = []
    for i, entry in enumerate(palette):
        values = list(entry) if isinstance(entry, (list, tuple)) else [entry]
        if len(values) != 3 or not all(isinstance(v, int) and 0 <= v <= 255 for v in values):
            raise ValueError(f"{where}: entry {i} is {entry!r}; each entry must be [R, G, B] with "
                             f"values 0-255")
        color = tuple(values)
        if color in colors:
            raise ValueError(f"{where}: entry {i} {list(color)} repeats entry "
                             f"{colors.index(color)}; each class needs its own colour")
        colors.append(color)
    if not colors:
        raise ValueError(f"{where} is empty")
    return colors


def class_facts(num_classes: int, class_names: Optional[Sequence[str]] = None,
                palette: Optional[Sequence[Sequence[int]]] = None
                ) -> Tuple[Optional[List[str]], Optional[List[Color]]]:
    """A dataset's ``class_names`` and ``palette``, checked: one entry per class.

    Raises:
        ValueError: a length differs from ``num_classes``, or a palette entry is not a distinct
            RGB colour.
    """
    for name, value in (("class_names", class_names), ("palette", palette)):
        if value is not None and len(value) != num_classes:
            raise ValueError(f"`{name}` has {len(value)} entries but num_classes is {num_classes}; "
                             f"give one per class (void/ignore has none)")
    names = [str(n) for n in class_names] if class_names is not None else None
    return names, (check_palette(palette, "`palette`") if palette is not None else None)
