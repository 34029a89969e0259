"""INT8 post-training quantization of the ONNX conversion with OpenVINO NNCF (``--precision int8``).

Why NNCF on OpenVINO's model: ONNX Runtime's ``quantize_static`` fails on paddle2onnx's output
(a ``DequantizeLinear`` with an int32 bias and an ``axis`` attribute its opset rejects, issue 15),
and Paddle's own post-training quantization targets its legacy program format, not the PIR
``model.json`` Paddle 3.x exports. NNCF reads the same ONNX file OpenVINO runs, calibrates
activation ranges on a few preprocessed images and writes an OpenVINO IR (``.xml`` + ``.bin``)
that OpenVINO runs with its int8 (VNNI / AMX) kernels.
"""
from __future__ import annotations

import os
from typing import Iterable, List

import numpy as np

from ..utils import logger
from ..utils.errors import UsageError


def quantize_int8(onnx_file: str, samples: Iterable[np.ndarray], out_xml: str) -> str:
    """Quantizes ``onnx_file`` with activation ranges calibrated on ``samples`` (C x H x W float32,
    the deploy transforms' output, one image each); writes ``out_xml`` (+ ``.bin``), returns it."""
    from .backends import import_runtime
    ov = import_runtime("openvino")
    nncf = import_runtime("nncf")
    batches: List[np.ndarray] = [np.ascontiguousarray(s[None], dtype=np.float32) for s in samples]
    if not batches:
        raise UsageError("int8 calibration needs at least one image")
    if not out_xml.endswith(".xml"):
        raise UsageError(f"the int8 model is an OpenVINO IR: its file name must end in .xml, got "
                         f"{out_xml}")
    model = ov.Core().read_model(onnx_file)
    logger.info(f"Calibrating int8 activation ranges on {len(batches)} image(s) (NNCF)")
    quantized = nncf.quantize(model, nncf.Dataset(batches), subset_size=len(batches))
    os.makedirs(os.path.dirname(os.path.abspath(out_xml)), exist_ok=True)
    ov.save_model(quantized, out_xml, compress_to_fp16=False)
    return out_xml
