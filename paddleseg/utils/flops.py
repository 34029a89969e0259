"""Parameter and multiply-accumulate (MAC) counts of a model, measured on one forward pass.

Counted with forward hooks: ``nn.Conv2D`` (including grouped / dilated), ``nn.Linear`` and any
layer that defines ``macs(inputs, output) -> int`` (e.g. the Encoding layer, whose cost is in
functional matmuls a hook on Conv/Linear cannot see). Normalisation, activations, pooling and
interpolation are not counted -- the convention of fvcore, mmcv and ``paddle.flops``, where
"FLOPs" tables list MACs. FLOPs in the strict sense are about 2 x MACs.
"""
from __future__ import annotations

from typing import Dict, Sequence

import numpy as np
import paddle
import paddle.nn as nn


def _conv_macs(layer: nn.Conv2D, inputs, output) -> int:
    kernel = int(np.prod(layer.weight.shape[1:]))   # (C_in / groups) x kh x kw
    return int(np.prod(output.shape)) * kernel


def _linear_macs(layer: nn.Linear, inputs, output) -> int:
    return int(np.prod(output.shape)) * int(layer.weight.shape[0])


def count_parameters(model: nn.Layer) -> int:
    """Number of parameter elements (trainable or not), each shared parameter once."""
    return sum(int(np.prod(p.shape)) for p in model.parameters())


def count_macs(model: nn.Layer, input_shape: Sequence[int]) -> Dict[str, int]:
    """MACs of one forward pass of ``model`` (in its current train/eval mode) on zeros.

    Returns ``{'total': ..., '<LayerType>': ...}`` with the total and a per-layer-type split.
    """
    per_type: Dict[str, int] = {}
    hooks = []

    def make_hook(fn):
        def hook(layer, inputs, output):
            name = type(layer).__name__
            per_type[name] = per_type.get(name, 0) + int(fn(layer, inputs, output))
        return hook

    for layer in model.sublayers(include_self=True):
        if hasattr(layer, "macs"):
            hooks.append(layer.register_forward_post_hook(make_hook(lambda l, i, o: l.macs(i, o))))
        elif isinstance(layer, nn.Conv2D):
            hooks.append(layer.register_forward_post_hook(make_hook(_conv_macs)))
        elif isinstance(layer, nn.Linear):
            hooks.append(layer.register_forward_post_hook(make_hook(_linear_macs)))
    try:
        with paddle.no_grad():
            model(paddle.zeros(list(input_shape), dtype="float32"))
    finally:
        for hook in hooks:
            hook.remove()
    return {"total": sum(per_type.values()), **per_type}
