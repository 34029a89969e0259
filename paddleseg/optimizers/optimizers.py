"""The registered optimizer wrappers (PaddleSeg 2.8's names and arguments)."""
from __future__ import annotations

from typing import Optional

import paddle

from ..cvlibs import manager
from .base import BaseOptimizer


@manager.OPTIMIZERS.add_component
class SGD(BaseOptimizer):
    """Plain SGD (``type: SGD`` with ``momentum`` set is built as :class:`Momentum`)."""

    paddle_class = paddle.optimizer.SGD

    def __init__(self, weight_decay: Optional[float] = None, grad_clip_cfg: Optional[dict] = None,
                 custom_cfg: Optional[list] = None) -> None:
        super().__init__(weight_decay, grad_clip_cfg, custom_cfg)


@manager.OPTIMIZERS.add_component
class Momentum(BaseOptimizer):
    """SGD with (optionally Nesterov) momentum."""

    paddle_class = paddle.optimizer.Momentum

    def __init__(self, momentum: float = 0.9, use_nesterov: bool = False,
                 weight_decay: Optional[float] = None, grad_clip_cfg: Optional[dict] = None,
                 custom_cfg: Optional[list] = None) -> None:
        super().__init__(weight_decay, grad_clip_cfg, custom_cfg)
        self.args.update(momentum=momentum, use_nesterov=use_nesterov)


@manager.OPTIMIZERS.add_component
class Adam(BaseOptimizer):
    """Adam; ``weight_decay`` is an L2 penalty added to the gradient."""

    paddle_class = paddle.optimizer.Adam

    def __init__(self, beta1: float = 0.9, beta2: float = 0.999, epsilon: float = 1e-08,
                 lazy_mode: bool = False, weight_decay: Optional[float] = None,
                 grad_clip_cfg: Optional[dict] = None, custom_cfg: Optional[list] = None) -> None:
        super().__init__(weight_decay, grad_clip_cfg, custom_cfg)
        self.args.update(beta1=beta1, beta2=beta2, epsilon=epsilon, lazy_mode=lazy_mode)


@manager.OPTIMIZERS.add_component
class AdamW(BaseOptimizer):
    """AdamW; ``weight_decay`` is the decoupled decay coefficient (default 0.01)."""

    paddle_class = paddle.optimizer.AdamW

    def __init__(self, beta1: float = 0.9, beta2: float = 0.999, epsilon: float = 1e-08,
                 weight_decay: float = 0.01, lazy_mode: bool = False,
                 grad_clip_cfg: Optional[dict] = None, custom_cfg: Optional[list] = None) -> None:
        super().__init__(weight_decay, grad_clip_cfg, custom_cfg)
        self.args.update(beta1=beta1, beta2=beta2, epsilon=epsilon, lazy_mode=lazy_mode)
