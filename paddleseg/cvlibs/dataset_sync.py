"""Filling model/loss arguments from the dataset, as PaddleSeg 2.8 does.

``num_classes`` and ``in_channels`` go into the model (``in_channels`` into its backbone when
it has one), ``ignore_index`` into every loss. A dataset class states them as ``NUM_CLASSES``,
``IMG_CHANNELS`` and ``IGNORE_INDEX``; the generic ``Dataset`` takes them from its config
(``num_classes``, ``img_channels``, ``ignore_index``). A value set in both places must agree.
"""
from __future__ import annotations

from typing import Any, Callable, Dict, Optional

from ..utils import logger
from .arg_check import call_spec
from .errors import ConfigError

# class attribute -> dataset config key
DATASET_FIELDS = {"NUM_CLASSES": "num_classes", "IMG_CHANNELS": "img_channels",
                  "IGNORE_INDEX": "ignore_index"}


def dataset_value(dataset_class: Any, dataset_cfg: dict, attr: str) -> Optional[Any]:
    """The dataset's ``attr`` (class attribute first, then its config key), or None."""
    value = getattr(dataset_class, attr, None)
    if value is None:
        value = dataset_cfg.get(DATASET_FIELDS[attr])
    return value


def sync_argument(target_cfg: dict, target_path: str, component: Callable, arg: str,
                  value: Any, origin: str, source_of: Callable[[str], str]) -> None:
    """Set ``target_cfg[arg] = value`` unless set; if set, it must equal ``value``.

    Args:
        target_cfg: the component's config dict (modified in place).
        target_path: its dotted key path, for messages.
        component: the registered class/function, to know whether it takes ``arg``.
        arg: argument name (``num_classes``...).
        value: the dataset's value.
        origin: describes the dataset (``train_dataset Cityscapes (configs/x.yml)``).
        source_of: maps a dotted key path to the file that defined it.
    """
    if value is None:
        return
    if arg in target_cfg:
        if target_cfg[arg] != value:
            path = f"{target_path}.{arg}"
            raise ConfigError(f"`{path}` is {target_cfg[arg]!r} in {source_of(path)}, but "
                              f"{origin} has {arg} {value!r}; make them agree (or drop "
                              f"`{path}` to take the dataset's value)")
        return
    if call_spec(component).accepts(arg):
        target_cfg[arg] = value
        logger.debug(f"Set `{target_path}.{arg}: {value!r}` from {origin}")


def check_datasets_agree(values: Dict[str, Any], arg: str) -> None:
    """Train and val datasets must not disagree on ``arg`` (a map origin -> value)."""
    present = {k: v for k, v in values.items() if v is not None}
    if len(set(map(repr, present.values()))) > 1:
        raise ConfigError(f"The datasets disagree on {arg}: "
                          + ", ".join(f"{k} has {v!r}" for k, v in present.items()))
