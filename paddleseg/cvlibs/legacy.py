"""Old PaddleSeg (<= 2.2) config spellings that PaddleSeg 2.x configs in the wild still use.

``learning_rate: {value, decay: {type: poly, power, end_lr}}`` predates ``lr_scheduler``; it is
rewritten into the equivalent ``lr_scheduler: {type: PolynomialDecay, ...}``.
"""
from __future__ import annotations

from typing import Dict

from ..utils import logger
from .errors import ConfigError
from .key_paths import drop_subtree, label_tree


def convert_legacy_learning_rate(dic: dict, sources: Dict[str, str]) -> None:
    """Rewrite an old-style ``learning_rate`` dict into ``lr_scheduler``, in place."""
    old = dic.get("learning_rate")
    if old is None:
        return
    src = sources.get("learning_rate", "?")
    if not isinstance(old, dict):
        raise ConfigError(f"Top-level `learning_rate` in {src} must be a mapping like "
                          "{value: 0.01, decay: {type: poly, power: 0.9, end_lr: 0}}; set the "
                          "rate in `lr_scheduler.learning_rate` instead")
    if "lr_scheduler" in dic:
        logger.warning(f"Both `lr_scheduler` and the old `learning_rate` are set ({src}); "
                       "using `lr_scheduler`")
        del dic["learning_rate"]
        drop_subtree(sources, "learning_rate")
        return
    if "value" not in old:
        raise ConfigError(f"`learning_rate` in {src} has no `value`")
    decay = old.get("decay") or {"type": "poly", "power": 0.9, "end_lr": 0.0}
    if not isinstance(decay, dict) or str(decay.get("type", "poly")).lower() != "poly":
        raise ConfigError(f"`learning_rate.decay` in {src}: only `type: poly` can be converted; "
                          f"got {decay!r}. Use an `lr_scheduler` section instead")
    scheduler = {"type": "PolynomialDecay", "learning_rate": old["value"],
                 "end_lr": decay.get("end_lr", 0.0), "power": decay.get("power", 0.9)}
    unknown = set(decay) - {"type", "power", "end_lr"}
    if unknown:
        raise ConfigError(f"`learning_rate.decay` in {src} has unknown keys {sorted(unknown)}; "
                          "known: type, power, end_lr")
    del dic["learning_rate"]
    drop_subtree(sources, "learning_rate")
    dic["lr_scheduler"] = scheduler
    sources.update(label_tree(scheduler, src, "lr_scheduler"))
    logger.warning(f"Converted the old `learning_rate` section of {src} to `lr_scheduler: "
                   f"{scheduler}`")
