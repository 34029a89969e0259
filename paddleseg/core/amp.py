"""Mixed precision for the trainer: ``paddle.amp`` auto_cast, O2 decoration and loss scaling.

Kept in fp32 whatever the level (numerically sensitive; cheap next to the convolutions):
- the losses -- the trainer casts every model output to float32 before the loss;
- the ops in :data:`FP32_OPS` (softmax, the cross-entropies, sigmoid, exp/log, norms, reductions
  that accumulate many values);
- the Encoding layer's distances, soft assignment and aggregation -- it disables autocast inside
  and computes in float32 (``paddleseg/models/layers/encoding.py``).

fp16 uses a dynamic ``GradScaler``; bf16 has fp32's range and needs none. On CPU, Paddle 3.3 runs
auto_cast and the scaler as no-ops (bf16/fp16 conv kernels exist only on GPU): the code path runs,
the arithmetic stays fp32, and the trainer says so once.
"""
from __future__ import annotations

import contextlib
from typing import Optional, Tuple

import paddle

from ..utils import logger

PRECISIONS = ("fp32", "fp16", "bf16")
LEVELS = ("O1", "O2")
FP32_OPS = {"softmax", "softmax_with_cross_entropy", "cross_entropy", "cross_entropy2",
            "sigmoid_cross_entropy_with_logits", "sigmoid", "exp", "log", "log_softmax", "mean",
            "sum", "reduce_sum", "reduce_mean", "p_norm", "squared_l2_norm", "batch_norm", "sync_batch_norm"}


class MixedPrecision:
    """Autocast context, backward and optimizer step for one precision setting.

    Args:
        precision: 'fp32' (off), 'fp16' or 'bf16'.
        level: 'O1' (white-listed ops in low precision) or 'O2' (the model in low precision
            with fp32 master weights).
    """

    def __init__(self, precision: str = "fp32", level: str = "O1") -> None:
        if precision not in PRECISIONS:
            raise ValueError(f"--precision {precision!r} must be one of {list(PRECISIONS)}")
        if level not in LEVELS:
            raise ValueError(f"--amp_level {level!r} must be one of {list(LEVELS)}")
        self.precision, self.level = precision, level
        self.enabled = precision != "fp32"
        self.dtype = {"fp16": "float16", "bf16": "bfloat16"}.get(precision, "float32")
        self.on_accelerator = not paddle.get_device().startswith("cpu")
        self.scaler = paddle.amp.GradScaler(init_loss_scaling=2.0 ** 15) \
            if precision == "fp16" and self.on_accelerator else None
        if self.enabled and not self.on_accelerator:
            logger.warning(f"--precision {precision}: Paddle runs mixed precision only on a GPU; on CPU the "
                           f"{level} code path runs but every op stays fp32")

    def decorate(self, model: paddle.nn.Layer, optimizer: paddle.optimizer.Optimizer
                 ) -> Tuple[paddle.nn.Layer, paddle.optimizer.Optimizer]:
        """O2: cast the model to the low precision and keep fp32 master weights in the optimizer."""
        if self.enabled and self.level == "O2" and self.on_accelerator:
            return paddle.amp.decorate(models=model, optimizers=optimizer, level="O2", dtype=self.dtype,
                                       master_weight=True, save_dtype="float32")
        return model, optimizer

    def autocast(self):
        if not (self.enabled and self.on_accelerator):
            return contextlib.nullcontext()
        return paddle.amp.auto_cast(enable=True, level=self.level, dtype=self.dtype,
                                    custom_black_list=FP32_OPS)

    def backward(self, loss: paddle.Tensor) -> None:
        (self.scaler.scale(loss) if self.scaler is not None else loss).backward()

    def step(self, optimizer: paddle.optimizer.Optimizer) -> None:
        if self.scaler is not None:
            self.scaler.step(optimizer)
            self.scaler.update()
        else:
            optimizer.step()

    def state_dict(self) -> Optional[dict]:
        return self.scaler.state_dict() if self.scaler is not None else None

    def set_state_dict(self, state: Optional[dict]) -> None:
        if self.scaler is not None and state:
            self.scaler.load_state_dict(state)
