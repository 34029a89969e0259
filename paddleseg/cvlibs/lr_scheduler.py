"""Building a ``paddle.optimizer.lr`` scheduler from the ``lr_scheduler`` config section.

``warmup_iters``/``warmup_start_lr`` wrap the scheduler in ``LinearWarmup`` ramping to
``learning_rate``; ``PolynomialDecay`` gets ``decay_steps = iters - warmup_iters`` by default
(PaddleSeg 2.8's rules).
"""
from __future__ import annotations

from typing import Callable, Optional

import paddle

from . import manager
from .errors import ComponentBuildError, ConfigError
from .validate import check_arguments

KEY = "lr_scheduler"

_lr = paddle.optimizer.lr
# The schedulers a config may name (``lr_scheduler.type``): an explicit table registered in
# ``manager.LR_SCHEDULERS``, so they are looked up (and misspellings suggested) like optimizers.
manager.LR_SCHEDULERS.add_component([
    _lr.CosineAnnealingDecay, _lr.CosineAnnealingWarmRestarts, _lr.CyclicLR, _lr.ExponentialDecay,
    _lr.InverseTimeDecay, _lr.LambdaDecay, _lr.LinearLR, _lr.LinearWarmup, _lr.MultiStepDecay,
    _lr.MultiplicativeDecay, _lr.NaturalExpDecay, _lr.NoamDecay, _lr.OneCycleLR, _lr.PiecewiseDecay,
    _lr.PolynomialDecay, _lr.ReduceOnPlateau, _lr.StepDecay])


def scheduler_names() -> list:
    """Names of the registered scheduler classes."""
    return sorted(manager.LR_SCHEDULERS.components_dict)


def build_lr_scheduler(lr_cfg: dict, iters: Optional[int], source_of: Callable[[str], str],
                       config_path: str) -> paddle.optimizer.lr.LRScheduler:
    """The scheduler described by ``lr_cfg`` (a copy of the ``lr_scheduler`` section).

    Args:
        lr_cfg: the section; consumed (keys are popped).
        iters: the top-level ``iters``, the default length of ``PolynomialDecay``.
        source_of: maps a dotted key path to the file that defined it.
        config_path: the main config file, named when the section is absent.
    """
    if not lr_cfg:
        raise ConfigError(f"No `{KEY}` section in {config_path} (or its bases); training needs "
                          f"one, e.g. {KEY}: {{type: PolynomialDecay, learning_rate: 0.01, "
                          "end_lr: 0, power: 0.9}")
    src = source_of(KEY)
    lr_type = lr_cfg.pop("type", None)
    if not isinstance(lr_type, str) or lr_type not in manager.LR_SCHEDULERS:
        raise ConfigError(f"`{KEY}.type` in {source_of(KEY + '.type')} is {lr_type!r}: "
                          f"{manager.LR_SCHEDULERS.unknown_message(str(lr_type))}")
    warmup_iters = lr_cfg.pop("warmup_iters", None)
    warmup_start_lr = lr_cfg.pop("warmup_start_lr", None)
    if (warmup_iters is None) != (warmup_start_lr is None):
        raise ConfigError(f"`{KEY}` in {src}: warmup needs both `warmup_iters` and "
                          "`warmup_start_lr`")
    if warmup_iters is not None and (not isinstance(warmup_iters, int)
                                     or isinstance(warmup_iters, bool) or warmup_iters < 0):
        raise ConfigError(f"`{KEY}.warmup_iters` in {source_of(KEY + '.warmup_iters')} must be "
                          f"a non-negative integer, got {warmup_iters!r}")
    warmup = warmup_iters or 0
    if lr_type == "PolynomialDecay" and "decay_steps" not in lr_cfg:
        if iters is None:
            raise ConfigError(f"`{KEY}` PolynomialDecay in {src} needs `decay_steps`, or a "
                              "top-level `iters` to derive it from")
        lr_cfg["decay_steps"] = max(iters - warmup, 1)
    cls = manager.LR_SCHEDULERS[lr_type]
    params = check_arguments(cls, lr_type, lr_cfg, KEY, source_of)
    _check_learning_rate(params.get("learning_rate"), warmup, warmup_start_lr, source_of)
    scheduler = _construct(cls, lr_type, params, src)
    if not warmup:
        return scheduler
    end_lr = params.get("learning_rate")
    if not isinstance(end_lr, (int, float)) or isinstance(end_lr, bool):
        raise ConfigError(f"`{KEY}` in {src}: warmup ramps up to `learning_rate`, which "
                          f"{lr_type} does not have as a number")
    warm = {"learning_rate": scheduler, "warmup_steps": warmup, "start_lr": warmup_start_lr,
            "end_lr": float(end_lr)}
    warm = check_arguments(paddle.optimizer.lr.LinearWarmup, "LinearWarmup", warm, KEY, source_of)
    return _construct(paddle.optimizer.lr.LinearWarmup, "LinearWarmup", warm, src)


def _check_learning_rate(lr: object, warmup: int, warmup_start_lr: object,
                         source_of: Callable[[str], str]) -> None:
    """Name ``learning_rate`` and its file when it cannot work; warn when it trains nothing."""
    if not isinstance(lr, (int, float)) or isinstance(lr, bool):
        return  # not a plain number (another scheduler's argument form): left to the scheduler
    where = f"`{KEY}.learning_rate` is {lr} in {source_of(KEY + '.learning_rate')}"
    if lr < 0:
        raise ConfigError(f"{where}; it must be positive")
    if warmup and isinstance(warmup_start_lr, (int, float)) and lr <= warmup_start_lr:
        raise ConfigError(f"{where}, but the warmup ramps from `warmup_start_lr` {warmup_start_lr} "
                          f"({source_of(KEY + '.warmup_start_lr')}) up to it, so it must be greater than "
                          f"that; raise `learning_rate` or lower `warmup_start_lr`")
    if lr == 0:
        from ..utils import logger
        logger.warning(f"{where}: the weights will not change during training (learning rate 0)")


def _construct(cls: type, name: str, params: dict, src: str) -> paddle.optimizer.lr.LRScheduler:
    try:
        return cls(**params)
    except Exception as e:
        raise ComponentBuildError(f"Building {name} for `{KEY}` ({src}) failed with "
                                  f"{type(e).__name__}: {e}") from e
