"""Exported Paddle model -> ONNX with paddle2onnx (tools/export_onnx.py, val.py's ONNX engines).

paddle2onnx 2.1 facts handled here: it runs with ``--optimize_tool None`` (its default optimiser
tries to pip-install packages at run time) and in a subprocess (adaptive pooling to sizes > 1 on a
dynamic input shape aborts the converter with SIGABRT, which must not take the caller down).
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

from ..utils.errors import UsageError, UserError

# ENCNet-R101 at 1024x2048 converts in minutes on 2 cores; a hung converter must not hang the caller
CONVERT_TIMEOUT_S = 1800
PADDLE2ONNX_HINT = 'pip install paddle2onnx onnxruntime (or pip install -e ".[onnx]")'


# Ops with an ``adaptive`` attribute (measured, Paddle 3.3): ``F.adaptive_avg_pool2d`` lowers to ``pool2d``
# (output size as its second input), ``F.adaptive_max_pool2d`` to ``max_pool2d_with_index`` (output size
# in ``kernel_size``). PIR json names ops "<dialect id>.<op>" ("1.pool2d"), text programs "pd_op.pool2d".
_ADAPTIVE_POOL_OPS = ("pool2d", "max_pool2d_with_index")


def _pir_ops(node):
    """Every op (a dict with a "#" name and an "A" attribute list) in a PIR json program, nested blocks included."""
    if isinstance(node, dict):
        if isinstance(node.get("#"), str) and isinstance(node.get("A"), list):
            yield node
        for value in node.values():
            yield from _pir_ops(value)
    elif isinstance(node, list):
        for value in node:
            yield from _pir_ops(value)


def _pir_value(attr):
    """A PIR json attribute value: {"#": "0.a_bool", "D": true} -> True, arrays -> lists; None if unreadable."""
    if not isinstance(attr, dict) or "D" not in attr:
        return None
    data = attr["D"]
    if isinstance(data, list):
        return [_pir_value(v) if isinstance(v, dict) else v for v in data]
    return data


def _pir_attrs(op) -> dict:
    return {a["N"]: _pir_value(a.get("AT")) for a in op["A"] if isinstance(a, dict) and "N" in a}


def _results(op) -> list:
    out = op.get("O")
    return out if isinstance(out, list) else [out] if isinstance(out, dict) else []


def _pool_output_size(op, attrs: dict, producers: dict):
    """The (H, W) an adaptive pool op pools to, or None when the graph does not say.

    ``pool2d`` takes it as its second input (a ``full_int_array`` op's ``value``),
    ``max_pool2d_with_index`` as its ``kernel_size`` attribute; otherwise the spatial dims of the
    op's result type are used (-1 where they are dynamic).
    """
    size = attrs.get("kernel_size")
    inputs = op.get("I") if isinstance(op.get("I"), list) else []
    if size is None and len(inputs) > 1 and isinstance(inputs[1], dict):
        producer = producers.get(inputs[1].get("%"))
        if producer is not None and producer["#"].split(".")[-1] == "full_int_array":
            size = _pir_attrs(producer).get("value")
    if size is None:
        results = _results(op)
        try:
            dims = results[0]["TT"]["D"][1]
            size = dims[1:3] if attrs.get("data_format") == "NHWC" else dims[2:4]
        except (IndexError, KeyError, TypeError):
            return None
    if isinstance(size, int):
        size = [size, size]
    if not isinstance(size, list) or len(size) != 2 or not all(isinstance(v, int) for v in size):
        return None
    return size


def has_adaptive_pooling(model_file: str) -> bool:
    """True when the saved PIR graph (``model.json``) pools adaptively to an output size other than 1x1.

    That is what paddle2onnx 2.1 cannot convert on a dynamic input shape (the converter aborts;
    ``paddleseg.models.layers.adaptive_avg_pool2d`` is the exportable form, which ICNet uses).
    It reads the ops' attributes, not the text: every ``pool2d`` op carries an ``adaptive``
    attribute, false for ordinary pooling (ResNet's stem max pool), and adaptive pooling to 1x1 --
    or ``global_pooling`` -- becomes a GlobalAveragePool/MaxPool that converts fine. An output
    size that cannot be read, or that keeps a dimension (-1, as in ``adaptive_avg_pool2d(x,
    [None, 2])``), counts as > 1. A file that is not PIR json (a legacy protobuf
    ``model.pdmodel``) is not inspected: False, the converter is tried and a crash reported.
    """
    with open(model_file, "rb") as f:
        raw = f.read()
    try:
        program = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return False
    ops = list(_pir_ops(program))
    producers = {}
    for op in ops:
        for result in _results(op):
            if isinstance(result, dict) and "%" in result:
                producers[result["%"]] = op
    for op in ops:
        if op["#"].split(".")[-1] not in _ADAPTIVE_POOL_OPS:
            continue
        attrs = _pir_attrs(op)
        if attrs.get("adaptive") is not True or attrs.get("global_pooling") is True:
            continue
        size = _pool_output_size(op, attrs, producers)
        if size != [1, 1]:
            return True
    return False


def convert_to_onnx(model_file: str, params_file: str, out: str, opset_version: int = 11,
                    dynamic_size: bool = True) -> str:
    """Runs paddle2onnx on the static model (``model.json`` + ``model.pdiparams``) into ``out``.

    ``dynamic_size``: the export's height and width are free (export.py without --input_shape).
    Such a graph with adaptive pooling to sizes > 1 is refused before the converter aborts on it.
    """
    # Checked before looking for the converter: the model, not the installation, is what is wrong.
    if dynamic_size and has_adaptive_pooling(model_file):
        raise UsageError("this model uses adaptive pooling to sizes > 1 (F.adaptive_avg_pool2d or "
                         "F.adaptive_max_pool2d), which paddle2onnx 2.1 cannot convert with a "
                         "dynamic input size (the converter aborts). Use "
                         "paddleseg.models.layers.adaptive_avg_pool2d in the model (exact in ONNX "
                         "at any size, as ICNet's pyramid pooling does), or export again with a "
                         "fixed size, e.g. python export.py ... --input_shape 1 3 1024 2048")
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
