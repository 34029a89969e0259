"""Exported Paddle model -> ONNX with paddle2onnx (tools/export_onnx.py, val.py's ONNX engines).

paddle2onnx 2.1 facts handled here: it runs with ``--optimize_tool None`` (its default optimiser
tries to pip-install packages at run time) and in a subprocess (adaptive pooling to sizes > 1 on a
dynamic input shape aborts the converter with SIGABRT, which must not take the caller down).
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys

from ..utils.errors import UserError

# ENCNet-R101 at 1024x2048 converts in minutes on 2 cores; a hung converter must not hang the caller
CONVERT_TIMEOUT_S = 1800
PADDLE2ONNX_HINT = 'pip install paddle2onnx onnxruntime (or pip install -e ".[onnx]")'


def convert_to_onnx(model_file: str, params_file: str, out: str, opset_version: int = 11) -> str:
    """Runs paddle2onnx on the static model (``model.json`` + ``model.pdiparams``) into ``out``."""
    converter = (shutil.which("paddle2onnx")
                 or os.path.join(os.path.dirname(sys.executable), "paddle2onnx"))
    if not os.path.isfile(converter):
        raise UserError(f"paddle2onnx is not installed: {PADDLE2ONNX_HINT}")
    cmd = [converter, "--model_dir", os.path.dirname(model_file),
           "--model_filename", os.path.basename(model_file),
           "--params_filename", os.path.basename(params_file), "--save_file", out,
           "--opset_version", str(opset_version), "--optimize_tool", "None"]
    try:
        run = subprocess.run(cmd, capture_output=True, text=True, timeout=CONVERT_TIMEOUT_S)
    except subprocess.TimeoutExpired as err:
        raise UserError(f"paddle2onnx did not finish converting {model_file} in "
                        f"{CONVERT_TIMEOUT_S} s") from err
    if run.returncode != 0 or not os.path.isfile(out):
        output = (run.stdout + run.stderr)[-3000:]
        # killed by a signal: the known SIGABRT on adaptive pooling with a dynamic input shape
        hint = ""
        if run.returncode < 0:
            hint = ("; paddle2onnx 2.1 aborts on adaptive pooling to sizes > 1 "
                    "(F.adaptive_avg_pool2d / F.adaptive_max_pool2d) with a dynamic input shape: use "
                    "paddleseg.models.layers.adaptive_avg_pool2d in the model, or export with a fixed "
                    "--input_shape")
        raise UserError(f"paddle2onnx failed (exit {run.returncode}{hint}):\n{output}")
    return out
