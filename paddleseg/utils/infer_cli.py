"""Command-line flags for flip / multi-scale / sliding-window inference (val.py, tools/predict.py)."""
from __future__ import annotations

import argparse
from typing import Any, Dict


def add_infer_args(parser: argparse.ArgumentParser, aug_flag: str = "--aug_eval") -> None:
    """PaddleSeg's flags; each defaults to None so a config's ``test_config`` value shows through."""
    g = parser.add_argument_group("inference (override the config's test_config)")
    g.add_argument(aug_flag, dest="aug", action="store_true", default=None,
                   help="augmented inference: average over --scales and the chosen flips (default: the config's test_config)")
    g.add_argument("--scales", type=float, nargs="+", default=None, help="scale factors, e.g. 0.75 1.0 1.25 (default: the config's test_config)")
    g.add_argument("--flip_horizontal", action="store_true", default=None, help="add horizontally flipped passes (default: the config's test_config)")
    g.add_argument("--flip_vertical", action="store_true", default=None, help="add vertically flipped passes (default: the config's test_config)")
    g.add_argument("--fuse", choices=["prob", "logit"], default=None,
                   help="average logits (default, as PaddleSeg) or softmax probabilities (as mmseg) over "
                        "augmented passes")
    g.add_argument("--is_slide", action="store_true", default=None, help="sliding-window inference (default: the config's test_config)")
    g.add_argument("--crop_size", type=int, nargs=2, default=None, metavar=("W", "H"), help="slide window size (default: the config's test_config)")
    g.add_argument("--stride", type=int, nargs=2, default=None, metavar=("W", "H"), help="slide window step (default: the config's test_config)")
    g.add_argument("--crops_per_batch", type=int, default=None,
                   help="slide windows run through the model together (default 4)")
    g.add_argument("--engine", default="dygraph",
                   choices=["dygraph", "inference", "paddle", "onnxruntime", "openvino"],
                   help="run the forward passes in dygraph (default) or through a runtime on a "
                        "temporary export of the model: paddle (alias inference: Paddle Inference, "
                        "on CPU with oneDNN several times faster), onnxruntime or openvino (ONNX "
                        "conversion, CPU; pip install -e \".[onnx,openvino]\")")
    g.add_argument("--precision", default="fp32", choices=["fp32", "bf16", "int8", "fp16"],
                   help="--engine other than dygraph: fp32 (default), bf16 (paddle / openvino on "
                        "a CPU with avx512_bf16 or amx_bf16), int8 (openvino, val.py: calibrated "
                        "on the first 32 val images, pip install nncf) or fp16 (paddle on GPU)")


def infer_overrides(args: argparse.Namespace) -> Dict[str, Any]:
    """The inference flags as ``InferOptions`` keyword overrides (None = not given)."""
    keys = ("aug", "scales", "flip_horizontal", "flip_vertical", "fuse", "is_slide", "crop_size", "stride",
            "crops_per_batch")
    return {key: getattr(args, key) for key in keys}
