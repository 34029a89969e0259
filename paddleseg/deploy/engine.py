"""Evaluate or predict through Paddle Inference instead of dygraph (``--engine inference``).

The model is exported to a temporary static graph (logits out, dynamic shapes) and run by a
Paddle Inference predictor; on CPU that means oneDNN's fused kernels, several times faster than
dygraph (docs/deploy_speed.md). Everything around the forward pass -- slide windows, flips,
scales, argmax, the confusion matrix -- stays the same code.
"""
from __future__ import annotations

import shutil
import tempfile
from typing import List, Optional, Union

import paddle

from .exporter import export_static
from .predictor import create_predictor, run_predictor


class PredictorModel:
    """Stands in for an eval-mode segmentation model: ``model(x)`` returns ``[logits]``.

    Args:
        model: the dygraph model with its weights loaded.
        device: 'cpu' or 'gpu'.
        cpu_threads: math threads of the CPU predictor.
        use_onednn: CPU: oneDNN kernels (with the Paddle 3.3 workaround of predictor.py).
    """

    training = False

    def __init__(self, model: paddle.nn.Layer, device: str = "cpu", cpu_threads: int = 1,
                 use_onednn: bool = True) -> None:
        self._dir: Optional[str] = tempfile.mkdtemp(prefix="paddleseg_engine_")
        files = export_static(model, self._dir, "none")
        self.predictor = create_predictor(files["model"], files["params"], device=device,
                                          cpu_threads=cpu_threads, use_onednn=use_onednn)

    def eval(self) -> "PredictorModel":
        return self

    def train(self) -> "PredictorModel":
        raise RuntimeError("a Paddle Inference engine cannot train; use the dygraph model")

    def __call__(self, x: paddle.Tensor) -> List[paddle.Tensor]:
        return [paddle.to_tensor(run_predictor(self.predictor, x.numpy())[0])]

    def close(self) -> None:
        if self._dir:
            shutil.rmtree(self._dir, ignore_errors=True)
            self._dir = None

    def __del__(self) -> None:
        self.close()


def forward_engine(model: paddle.nn.Layer, engine: str,
                   cpu_threads: Optional[int] = None) -> Union[paddle.nn.Layer, PredictorModel]:
    """What runs the forward passes for ``--engine``: the eval-mode model itself ('dygraph') or a
    :class:`PredictorModel` built from it ('inference', on the current Paddle device)."""
    model.eval()
    if engine == "dygraph":
        return model
    if engine != "inference":
        raise ValueError(f"unknown engine {engine!r}: 'dygraph' or 'inference'")
    from ..utils import logger
    from ..utils.runtime import default_num_threads
    device = "gpu" if paddle.get_device().startswith("gpu") else "cpu"
    wrapped = PredictorModel(model, device=device, cpu_threads=cpu_threads or default_num_threads())
    logger.info(f"Forward passes run through Paddle Inference ({device}) on a temporary export of the model")
    return wrapped
