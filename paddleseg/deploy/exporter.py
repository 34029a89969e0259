"""Dynamic model -> static inference model (PIR ``model.json`` + ``model.pdiparams``), verified."""
from __future__ import annotations

import os
from typing import Dict, List, Optional, Sequence

import numpy as np
import paddle
import paddle.nn as nn
import paddle.nn.functional as F
from paddle.static import InputSpec

from ..utils.quiet import filter_native_stderr

OUTPUT_OPS = ("argmax", "softmax", "none")
MODEL_PREFIX = "model"


class ExportWrapper(nn.Layer):
    """The model's main output followed by the deploy output op.

    argmax -> N x H x W int32 class ids; softmax -> N x C x H x W probabilities; none -> logits.
    """

    def __init__(self, model: nn.Layer, output_op: str = "argmax") -> None:
        super().__init__()
        if output_op not in OUTPUT_OPS:
            raise ValueError(f"--output_op {output_op!r} must be one of {list(OUTPUT_OPS)}")
        self.model = model
        self.output_op = output_op

    def forward(self, x: paddle.Tensor) -> paddle.Tensor:
        logits = self.model(x)[0]
        if self.output_op == "argmax":
            return paddle.argmax(logits, axis=1, dtype="int32")
        if self.output_op == "softmax":
            return F.softmax(logits, axis=1)
        return logits


def model_files(save_dir: str) -> Dict[str, str]:
    """Paths of the static model in ``save_dir``: PIR ``model.json`` (Paddle 3.x) or legacy ``model.pdmodel``."""
    params = os.path.join(save_dir, MODEL_PREFIX + ".pdiparams")
    for name in (MODEL_PREFIX + ".json", MODEL_PREFIX + ".pdmodel"):
        path = os.path.join(save_dir, name)
        if os.path.isfile(path):
            return {"model": path, "params": params}
    raise FileNotFoundError(f"no {MODEL_PREFIX}.json or {MODEL_PREFIX}.pdmodel in {save_dir}")


def input_channels(model: nn.Layer) -> int:
    """Channels the model's input must have: those of its first convolution (the backbone's stem
    in registration order)."""
    for layer in model.sublayers(include_self=True):
        if isinstance(layer, nn.Conv2D):
            return int(layer.weight.shape[1]) * int(getattr(layer, "_groups", 1) or 1)
    return 3  # no convolution at all (a test stub): the image default


def export_static(model: nn.Layer, save_dir: str, output_op: str = "argmax",
                  input_shape: Optional[Sequence[int]] = None) -> Dict[str, str]:
    """Converts ``model`` (eval mode) with ``paddle.jit.to_static`` and saves it; returns its file paths.

    ``input_shape`` (N, C, H, W) fixes the input; None keeps batch, height and width dynamic
    (with the model's :func:`input_channels`).
    """
    model.eval()
    wrapper = ExportWrapper(model, output_op)
    wrapper.eval()
    shape = list(input_shape) if input_shape else [None, input_channels(model), None, None]
    static = paddle.jit.to_static(wrapper, input_spec=[InputSpec(shape, "float32", "x")], full_graph=True)
    os.makedirs(save_dir, exist_ok=True)
    with filter_native_stderr():   # the trace prints a known-harmless glog WARNING
        paddle.jit.save(static, os.path.join(save_dir, MODEL_PREFIX))
    return model_files(save_dir)


def verify_static(model: nn.Layer, save_dir: str, output_op: str, shapes: List[Sequence[int]],
                  atol: float = 1e-4, max_mismatch: float = 1e-3, seed: int = 0) -> List[Dict[str, float]]:
    """Loads the saved static model and compares it with the dynamic one on random inputs.

    Logits / probabilities must agree within ``atol`` (relative to the output's scale); class ids
    may differ on at most ``max_mismatch`` of the pixels (near-ties flip under reordered float
    sums). Raises RuntimeError describing the worst difference otherwise; returns per-shape figures.
    """
    wrapper = ExportWrapper(model, output_op)
    wrapper.eval()
    static = paddle.jit.load(os.path.join(save_dir, MODEL_PREFIX))
    static.eval()
    rng = np.random.RandomState(seed)
    report = []
    for shape in shapes:
        x = paddle.to_tensor(rng.standard_normal(list(shape)).astype("float32"))
        with paddle.no_grad():
            want = wrapper(x).numpy()
            got = static(x)
            got = (got[0] if isinstance(got, (list, tuple)) else got).numpy()
        if got.shape != want.shape:
            raise RuntimeError(f"exported model gives shape {got.shape} for input {list(shape)}, the dynamic "
                               f"model {want.shape}")
        if output_op == "argmax":
            mismatch = float((got != want).mean())
            report.append({"shape": list(shape), "mismatch": mismatch})
            if mismatch > max_mismatch:
                raise RuntimeError(f"exported model disagrees with the dynamic model on {mismatch:.2%} of the "
                                   f"pixels for input {list(shape)} (allowed {max_mismatch:.2%})")
        else:
            scale = max(float(np.abs(want).max()), 1.0)
            diff = float(np.abs(got - want).max())
            report.append({"shape": list(shape), "max_abs_diff": diff})
            if diff > atol * scale:
                raise RuntimeError(f"exported model differs from the dynamic model by {diff:.3g} (allowed "
                                   f"{atol * scale:.3g}) for input {list(shape)}")
    return report
