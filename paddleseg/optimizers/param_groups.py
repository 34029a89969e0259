"""Parameter groups from ``custom_cfg``: per-name-pattern learning-rate and weight-decay factors.

``custom_cfg: [{name: backbone, lr_mult: 0.1}, {name: norm, weight_decay_mult: 0.0}]`` puts
every trainable parameter whose structured name (``backbone.conv1._conv.weight``) contains
``backbone`` into a group whose learning rate is scaled by 0.1, and so on; the first matching
entry wins and unmatched parameters form the last group (PaddleSeg 2.8's rules).
"""
from __future__ import annotations

from typing import Dict, List, Optional, Union

import paddle

from ..cvlibs.errors import did_you_mean
from ..utils import logger

ITEM_KEYS = ("name", "lr_mult", "weight_decay_mult")


def validate_custom_cfg(custom_cfg: Optional[list]) -> None:
    """Raise a ValueError naming the bad entry of ``custom_cfg`` (``custom_cfg.0.lr_mult``); the
    builder adds that it is under ``optimizer`` and in which file."""
    if custom_cfg is None:
        return
    for i, item in enumerate(custom_cfg):
        where = f"custom_cfg.{i}"
        if not isinstance(item, dict) or not isinstance(item.get("name"), str):
            raise ValueError(f"`{where}` must be a mapping with a string `name` (a substring of "
                             f"parameter names), got {item!r}")
        for key, value in item.items():
            if key not in ITEM_KEYS:
                raise ValueError(f"`{where}` has the unknown key '{key}'."
                                 f"{did_you_mean(key, ITEM_KEYS)} Valid keys: {list(ITEM_KEYS)}")
            if key != "name" and (not isinstance(value, (int, float)) or isinstance(value, bool)
                                  or value < 0):
                raise ValueError(f"`{where}.{key}` must be a non-negative number, got {value!r}")


def collect_param_groups(model: paddle.nn.Layer, custom_cfg: Optional[list],
                         weight_decay: Optional[float]) -> Union[list, List[Dict]]:
    """``model.parameters()``, or paddle param-group dicts when ``custom_cfg`` is given.

    A group's ``learning_rate`` is paddle's per-parameter multiplier; its ``weight_decay`` is
    ``weight_decay * weight_decay_mult`` (only when both are set).
    """
    if not custom_cfg:
        return model.parameters()
    buckets: List[list] = [[] for _ in range(len(custom_cfg) + 1)]
    for name, param in model.named_parameters():
        if param.stop_gradient:
            continue
        index = next((i for i, item in enumerate(custom_cfg) if item["name"] in name),
                     len(custom_cfg))
        buckets[index].append((name, param))
    groups = []
    for item, members in zip(custom_cfg, buckets):
        if not members:
            logger.warning(f"optimizer.custom_cfg entry {item} matches no trainable parameter")
            continue
        group = {"params": [p for _, p in members], "learning_rate": float(item.get("lr_mult", 1.0))}
        if weight_decay is not None and item.get("weight_decay_mult") is not None:
            group["weight_decay"] = float(weight_decay) * float(item["weight_decay_mult"])
        groups.append(group)
        logger.info(f"Param group {item}: {len(members)} tensors, e.g. {members[0][0]}")
    if buckets[-1]:
        groups.append({"params": [p for _, p in buckets[-1]]})
    logger.info(f"Param group (rest): {len(buckets[-1])} tensors")
    return groups
