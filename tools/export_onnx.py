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
import os
from typing import TYPE_CHECKING, List

from paddleseg.utils.cli import HelpFormatter, add_debug_arg, add_out_arg, run_cli
from paddleseg.utils.errors import UserError

if TYPE_CHECKING:   # imported lazily at run time: --help must not import Paddle
    from paddleseg.deploy.deploy_config import DeployConfig


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


def _convert(deploy: DeployConfig, out: str, opset_version: int, dynamic_size: bool) -> None:
    """Run paddle2onnx on the exported model into ``out``."""
    from paddleseg.deploy.onnx_convert import convert_to_onnx
    convert_to_onnx(deploy.model_file, deploy.params_file, out, opset_version, dynamic_size)


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
    _convert(deploy, args.out, args.opset_version, dynamic_size=any(v == -1 for v in shape[2:]))
    print(f"Wrote {args.out}")
    if not args.skip_check:
        _check_against_paddle(deploy, args.out, shape)
    record_onnx(args.config, args.out)   # for tools/infer.py --backend onnxruntime|openvino
    print(f"Recorded it in {args.config} (Deploy.onnx)")
    return args.out


if __name__ == "__main__":
    run_cli(main)
