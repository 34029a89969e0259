"""Common part of the optimizer wrappers: weight decay, gradient clipping, parameter groups.

A wrapper is built from the config first and called later as ``wrapper(model, lr)``, because
the model and the scheduler do not exist when the config is read.
"""
from __future__ import annotations

from typing import Any, Dict, Optional, Union

import paddle

from .grad_clip import build_grad_clip
from .param_groups import collect_param_groups, validate_custom_cfg

LearningRate = Union[float, paddle.optimizer.lr.LRScheduler]


class BaseOptimizer:
    """Shared arguments of every optimizer wrapper.

    Bad arguments raise ValueError/TypeError naming the key (``custom_cfg.0.lr_mult``); the builder
    wraps them in a ComponentBuildError that names ``optimizer`` and the config file.

    Args:
        weight_decay: L2 coefficient (decoupled decay for AdamW); None for none.
        grad_clip_cfg: ``{name: ClipGradByGlobalNorm|ClipGradByNorm|ClipGradByValue, ...}``.
        custom_cfg: per-parameter-group factors, see :mod:`paddleseg.optimizers.param_groups`.
    """

    paddle_class: Any = None  # the paddle.optimizer class a subclass creates

    def __init__(self, weight_decay: Optional[float] = None, grad_clip_cfg: Optional[dict] = None,
                 custom_cfg: Optional[list] = None) -> None:
        if weight_decay is not None and weight_decay < 0:
            raise ValueError(f"`weight_decay` must be >= 0, got {weight_decay}")
        validate_custom_cfg(custom_cfg)
        self.weight_decay = weight_decay
        self.custom_cfg = custom_cfg
        self.grad_clip = build_grad_clip(grad_clip_cfg)
        self.args: Dict[str, Any] = {}

    def __call__(self, model: paddle.nn.Layer, lr: LearningRate) -> paddle.optimizer.Optimizer:
        """The paddle optimizer over ``model``'s parameters with learning rate/scheduler ``lr``."""
        params = collect_param_groups(model, self.custom_cfg, self.weight_decay)
        return self.paddle_class(learning_rate=lr, parameters=params,
                                 weight_decay=self.weight_decay, grad_clip=self.grad_clip,
                                 **self.args)
