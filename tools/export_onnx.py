"""Convert an exported model (export.py's folder) to ONNX with paddle2onnx, then check it.

    pip install paddle2onnx onnxruntime        # optional extra: pip install -e ".[onnx]"
    python export.py --config CFG --model_path M --save_dir out/export --output_op none --input_shape 1 3 1024 2048
    python tools/export_onnx.py --config out/export/deploy.yaml --out out/model.onnx
    # also records it in deploy.yaml (Deploy.onnx): tools/infer.py --backend onnxruntime|openvino

paddle2onnx 2.1 facts handled here: it is run with ``--optimize_tool None`` (its default optimiser
tries to pip-install packages at run time), in a subprocess (adaptive pooling to sizes > 1 on a
dynamic input shape aborts the converter with SIGABRT). ONNX has no adaptive pooling: on a fixed
shape the converter writes fixed AveragePool windows, which disagree with Paddle where the bins do
not divide the map (measured: 16x32 or 5x9 pooled to 3x3). Our models do not use that op: ICNet's
pyramid pooling is ``paddleseg.models.layers.adaptive_avg_pool2d`` (two matmuls with pooling
matrices built from the shape), which converts exactly at any size, dynamic shapes included. A
graph that still pools adaptively to sizes > 1 (a custom model calling ``F.adaptive_avg_pool2d``)
is refused on a dynamic shape before the converter crashes (``has_adaptive_pooling`` reads the
graph's pool ops); on a fixed shape it is converted and the check below catches a wrong result.
After conversion the ONNX model runs in onnxruntime on a random input and is compared with Paddle
Inference.
"""
from __future__ import annotations

import argparse
import json
import os
from typing import TYPE_CHECKING, List

from paddleseg.utils.cli import HelpFormatter, add_debug_arg, add_out_arg, run_cli
from paddleseg.utils.errors import UsageError, UserError

if TYPE_CHECKING:   # imported lazily at run time: --help must not import Paddle
    from paddleseg.deploy.deploy_config import DeployConfig


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


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=HelpFormatter)
    p.add_argument("--config", "--deploy_config", dest="config", required=True,
                   help="deploy.yaml written by export.py (required)")
    add_out_arg(p, "ONNX file to write", "--save_file", required=True)
    p.add_argument("--opset_version", type=int, default=11, help="ONNX opset (default: 11)")
    p.add_argument("--skip_check", action="store_true",
                   help="do not compare with Paddle Inference (default: compare)")
    add_debug_arg(p)
    return p.parse_args(argv)


def _convert(deploy: DeployConfig, out: str, opset_version: int) -> None:
    """Run paddle2onnx on the exported model into ``out``."""
    from paddleseg.deploy.onnx_convert import convert_to_onnx
    convert_to_onnx(deploy.model_file, deploy.params_file, out, opset_version)


def _check_against_paddle(deploy: DeployConfig, out: str, shape: List[int]) -> None:
    """Run the ONNX model and Paddle Inference on one random input; raise when they disagree."""
    import numpy as np
    from paddleseg.deploy.backends import OnnxRuntimeBackend, PaddleBackend

    fixed = [1 if v == -1 else v for v in shape[:2]] + [256 if v == -1 else v for v in shape[2:]]
    x = np.random.RandomState(0).standard_normal(fixed).astype("float32")
    got = OnnxRuntimeBackend(out, 1, "fp32")(x)   # a missing onnxruntime: one line with its pip hint
    want = PaddleBackend(deploy.model_file, deploy.params_file, 1, "fp32", use_onednn=False)(x)
    if deploy.output_op == "argmax":
        agree = float((got == want).mean())
        ok = agree > 0.999
        detail = f"{agree:.4%} of pixels agree"
    else:
        diff = float(np.abs(got - want).max())
        ok = diff <= 1e-3 * max(float(np.abs(want).max()), 1.0)
        detail = f"max abs difference {diff:.3g}"
    if not ok:
        raise UserError(f"ONNX model disagrees with Paddle Inference on a {fixed} input: {detail}")
    print(f"ONNX check passed on a {fixed} input: {detail}")


def main(argv=None) -> str:
    args = parse_args(argv)
    from paddleseg.deploy.deploy_config import DeployConfig, record_onnx

    deploy = DeployConfig(args.config)
    shape = list(deploy.input_shape or [-1, 3, -1, -1])
    # Checked before looking for the converter: the model, not the installation, is what is wrong.
    if any(v == -1 for v in shape[2:]) and has_adaptive_pooling(deploy.model_file):
        raise UsageError("this model uses adaptive pooling to sizes > 1 (F.adaptive_avg_pool2d or "
                         "F.adaptive_max_pool2d), which paddle2onnx 2.1 cannot convert with a "
                         "dynamic input size (the converter aborts). Use "
                         "paddleseg.models.layers.adaptive_avg_pool2d in the model (exact in ONNX "
                         "at any size, as ICNet's pyramid pooling does), or export again with a "
                         "fixed size, e.g. python export.py ... --input_shape 1 3 1024 2048")
    _convert(deploy, args.out, args.opset_version)
    print(f"Wrote {args.out}")
    if not args.skip_check:
        _check_against_paddle(deploy, args.out, shape)
    record_onnx(args.config, args.out)   # for tools/infer.py --backend onnxruntime|openvino
    print(f"Recorded it in {args.config} (Deploy.onnx)")
    return args.out


if __name__ == "__main__":
    run_cli(main)
