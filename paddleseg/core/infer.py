"""Inference helpers: run the model on a batch and map logits back to the original image size."""
from __future__ import annotations

from typing import Sequence, Tuple

import paddle
import paddle.nn.functional as F


def reverse_transform(logits: paddle.Tensor, trans_info: Sequence[Tuple[str, Sequence[int]]],
                      mode: str = "bilinear") -> paddle.Tensor:
    """Undo the recorded size-changing transforms, last first.

    Each ``trans_info`` entry is ``(op, (h, w))`` holding the size *before* that op: a ``resize`` is undone
    by interpolating back to ``(h, w)``, a ``padding`` by cropping the top-left ``(h, w)``.
    """
    for op, size in reversed(list(trans_info)):
        h, w = int(size[0]), int(size[1])
        if op == "resize":
            if mode == "nearest":
                logits = F.interpolate(logits, size=[h, w], mode="nearest")
            else:
                logits = F.interpolate(logits, size=[h, w], mode=mode, align_corners=False)
        elif op == "padding":
            logits = logits[:, :, :h, :w]
        else:
            raise ValueError(f"unknown transform record {op!r} in trans_info")
    return logits


def inference(model: paddle.nn.Layer, img: paddle.Tensor, trans_info=None,
              ori_shape: Tuple[int, int] = None) -> paddle.Tensor:
    """Whole-image logits (N x C x H x W) at the original image size."""
    outputs = model(img)
    if not isinstance(outputs, (list, tuple)):
        raise TypeError(f"{type(model).__name__}.forward must return a list of outputs, got {type(outputs).__name__}")
    logits = outputs[0]
    if trans_info:
        logits = reverse_transform(logits, trans_info)
    if ori_shape is not None and tuple(logits.shape[-2:]) != tuple(ori_shape):
        logits = F.interpolate(logits, size=list(ori_shape), mode="bilinear", align_corners=False)
    return logits
