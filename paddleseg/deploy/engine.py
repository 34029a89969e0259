"""Evaluate or predict through a deployment runtime instead of dygraph (``--engine``).

``--engine paddle`` (alias ``inference``): the model is exported to a temporary static graph (logits
out, dynamic shapes) and run by a Paddle Inference predictor; on CPU that means oneDNN's fused
kernels, several times faster than dygraph (docs/deploy_speed.md). ``onnxruntime`` / ``openvino``:
the same export converted to ONNX (paddle2onnx) and run by that runtime, so val.py measures exactly
what tools/infer.py --backend deploys. Everything around the forward pass -- slide windows, flips,
scales, argmax, the confusion matrix -- stays the same code. ``openvino`` at ``int8`` quantizes the
conversion first (NNCF, paddleseg/deploy/quantize.py), calibrated on the first images of the dataset
given (val.py: its val set, as PaddleSeg's post-training quantization examples do).
"""
from __future__ import annotations

import os
import shutil
import tempfile
from typing import Any, List, Optional, Sequence, Union

import paddle

from .backends import check_precision, open_backend
from .exporter import export_static

ENGINES = ("dygraph", "inference", "paddle", "onnxruntime", "openvino")
# int8: images whose activations set the quantization ranges (the first of the dataset given)
CALIBRATION_IMAGES = 32


class PredictorModel:
    """Stands in for an eval-mode segmentation model: ``model(x)`` returns ``[logits]``.

    Args:
        model: the dygraph model with its weights loaded.
        device: 'cpu' or 'gpu' (Paddle Inference only; the ONNX runtimes run on the CPU).
        cpu_threads: math threads of the runtime.
        use_onednn: Paddle Inference on CPU: oneDNN kernels (with the workaround of predictor.py).
        backend: 'paddle', 'onnxruntime' or 'openvino' (paddleseg/deploy/backends.py).
        precision: 'fp32', 'bf16' (CPU), 'int8' (openvino) or 'fp16' (Paddle Inference on GPU).
        calibration: int8: a dataset (or list) of samples, dicts with "img" (C x H x W); the first
            CALIBRATION_IMAGES calibrate the quantization.
    """

    training = False
    _dir: Optional[str] = None   # set once the export folder exists; close() may run before that

    def __init__(self, model: paddle.nn.Layer, device: str = "cpu", cpu_threads: int = 1,
                 use_onednn: bool = True, backend: str = "paddle", precision: str = "fp32",
                 calibration: Optional[Sequence[Any]] = None) -> None:
        from ..utils.errors import UsageError
        # refused before the (slow) export
        check_precision(backend, precision, device if backend == "paddle" else "cpu")
        if precision == "int8" and not calibration:
            raise UsageError("--precision int8 needs calibration images: val.py uses its val set; "
                             "elsewhere quantize with tools/quantize.py and run tools/infer.py "
                             "--backend openvino")
        self._dir = tempfile.mkdtemp(prefix="paddleseg_engine_")
        files = export_static(model, self._dir, "none")
        onnx_file = None
        if backend != "paddle":
            from .onnx_convert import convert_to_onnx
            onnx_file = convert_to_onnx(files["model"], files["params"],
                                        os.path.join(self._dir, "model.onnx"))
        if precision == "int8":
            from .quantize import quantize_int8
            count = min(len(calibration), CALIBRATION_IMAGES)
            samples = [calibration[i]["img"] for i in range(count)]
            onnx_file = quantize_int8(onnx_file, samples, os.path.join(self._dir, "model_int8.xml"))
        self.backend = open_backend(backend, cpu_threads, precision, model_file=files["model"],
                                    params_file=files["params"], onnx_file=onnx_file,
                                    device=device if backend == "paddle" else "cpu",
                                    use_onednn=use_onednn)

    def eval(self) -> "PredictorModel":
        return self

    def train(self) -> "PredictorModel":
        raise RuntimeError("an inference engine cannot train; use the dygraph model")

    def __call__(self, x: paddle.Tensor) -> List[paddle.Tensor]:
        return [paddle.to_tensor(self.backend(x.numpy()))]

    def close(self) -> None:
        if self._dir:
            shutil.rmtree(self._dir, ignore_errors=True)
            self._dir = None

    def __del__(self) -> None:
        self.close()


def forward_engine(model: paddle.nn.Layer, engine: str, cpu_threads: Optional[int] = None,
                   precision: str = "fp32", calibration: Optional[Sequence[Any]] = None
                   ) -> Union[paddle.nn.Layer, PredictorModel]:
    """What runs the forward passes for ``--engine``: the eval-mode model itself ('dygraph') or a
    :class:`PredictorModel` built from it ('paddle' = 'inference' on the current Paddle device,
    'onnxruntime', 'openvino' on the CPU) at ``precision`` (int8: ``calibration`` samples)."""
    from ..utils.errors import UsageError
    model.eval()
    if engine not in ENGINES:
        raise UsageError(f"unknown --engine {engine!r}: one of {', '.join(ENGINES)}")
    if engine == "dygraph":
        if precision != "fp32":
            raise UsageError(f"--precision {precision} needs --engine paddle, onnxruntime or "
                             f"openvino (dygraph runs fp32)")
        return model
    from ..utils import logger
    from ..utils.runtime import default_num_threads
    backend = "paddle" if engine == "inference" else engine
    device = "gpu" if backend == "paddle" and paddle.get_device().startswith("gpu") else "cpu"
    wrapped = PredictorModel(model, device=device, cpu_threads=cpu_threads or default_num_threads(),
                             backend=backend, precision=precision, calibration=calibration)
    logger.info(f"Forward passes run through {backend} ({device}, {precision}) on a temporary "
                f"export of the model")
    return wrapped
