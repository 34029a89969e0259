"""Checks on the top-level keys of a merged config: presence is never demanded here (each use
asks for what it needs), but a key that is present must have the right type."""
from __future__ import annotations

from typing import Callable, Dict, Tuple

from ..utils import logger
from .errors import ConfigError
from .suggest import did_you_mean

# Mapping-valued top-level keys; an --opts override may create an absent one.
SECTIONS = ("model", "loss", "distill_loss", "optimizer", "lr_scheduler", "train_dataset",
             "val_dataset", "test_config", "export")


def _positive_int(v: object) -> bool:
    return isinstance(v, int) and not isinstance(v, bool) and v > 0


# key -> (check, description of what is expected)
KNOWN_KEYS: Dict[str, Tuple[Callable[[object], bool], str]] = {
    "batch_size": (_positive_int, "a positive integer"),
    "iters": (_positive_int, "a positive integer"),
    "to_static_training": (lambda v: isinstance(v, bool), "true or false"),
    "learning_rate": (lambda v: True, "a mapping"),
    **{k: (lambda v: v is None or isinstance(v, dict), "a mapping") for k in SECTIONS},
}
"""Top-level keys the framework understands. Other packages may register more here."""


def check_top_level(dic: dict, sources: Dict[str, str], path: str) -> None:
    """Warn on unknown top-level keys (with did-you-mean); raise on mistyped known ones."""
    for key, value in dic.items():
        src = sources.get(str(key), path)
        if key not in KNOWN_KEYS:
            logger.warning(f"Unknown top-level key '{key}' in {src}; it is ignored."
                           f"{did_you_mean(str(key), KNOWN_KEYS)}")
            continue
        check, expected = KNOWN_KEYS[key]
        if not check(value):
            raise ConfigError(f"`{key}` in {src} must be {expected}, got {value!r} "
                              f"({type(value).__name__})")
