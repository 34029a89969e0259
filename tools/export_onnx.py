"""Convert an exported model (export.py's folder) to ONNX with paddle2onnx, then check it.

    pip install paddle2onnx onnxruntime        # optional extra: pip install -e ".[onnx]"
    python export.py --config CFG --model_path M --save_dir out/export --output_op none --input_shape 1 3 1024 2048
    python tools/export_onnx.py --deploy_config out/export/deploy.yaml --save_file out/model.onnx

paddle2onnx 2.1 facts handled here: it is run with ``--optimize_tool None`` (its default optimiser
tries to pip-install packages at run time), in a subprocess (adaptive pooling to sizes > 1 on a
dynamic input shape aborts the converter with SIGABRT). Models with pyramid pooling (ICNet) need
a fixed ``--input_shape`` at export; this tool says so instead of crashing. ONNX has no adaptive
pooling: the converter writes fixed AveragePool windows, exact only when the pooled map's size is a
multiple of every bin -- for ICNet (bins 1, 2, 3, 6 on the 1/32 map) heights and widths that are
multiples of 192, e.g. ``--input_shape 1 3 960 1920``; the check below catches other sizes. After conversion the
ONNX model runs in onnxruntime on a random input and is compared with Paddle Inference.
"""
from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if REPO not in sys.path:
    sys.path.insert(0, REPO)


def has_adaptive_pooling(model_file: str) -> bool:
    with open(model_file, "rb") as f:
        text = f.read().decode("utf-8", errors="ignore")
    return bool(re.search(r'"(?:\d+|pd_op)\.pool2d"', text)) and '"adaptive"' in text


def main(argv=None) -> str:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--deploy_config", required=True, help="deploy.yaml written by export.py")
    p.add_argument("--save_file", required=True, help="ONNX file to write")
    p.add_argument("--opset_version", type=int, default=11)
    p.add_argument("--skip_check", action="store_true", help="do not compare with Paddle Inference")
    args = p.parse_args(argv)

    import numpy as np
    from paddleseg.deploy.deploy_config import DeployConfig
    from paddleseg.deploy.predictor import create_predictor, run_predictor

    deploy = DeployConfig(args.deploy_config)
    converter = shutil.which("paddle2onnx") or os.path.join(os.path.dirname(sys.executable), "paddle2onnx")
    if not os.path.isfile(converter):
        raise SystemExit("paddle2onnx is not installed: pip install paddle2onnx onnxruntime "
                         "(or pip install -e \".[onnx]\")")
    shape = list(deploy.input_shape or [-1, 3, -1, -1])
    if any(v == -1 for v in shape[2:]) and has_adaptive_pooling(deploy.model_file):
        raise SystemExit("this model uses adaptive pooling (pyramid pooling, as in ICNet), which paddle2onnx 2.1 "
                         "cannot convert with a dynamic input size (the converter aborts). Export again with a "
                         "fixed size, e.g. python export.py ... --input_shape 1 3 1024 2048")
    cmd = [converter, "--model_dir", os.path.dirname(deploy.model_file),
           "--model_filename", os.path.basename(deploy.model_file),
           "--params_filename", os.path.basename(deploy.params_file), "--save_file", args.save_file,
           "--opset_version", str(args.opset_version), "--optimize_tool", "None"]
    run = subprocess.run(cmd, capture_output=True, text=True)
    if run.returncode != 0 or not os.path.isfile(args.save_file):
        raise SystemExit(f"paddle2onnx failed (exit {run.returncode}):\n{(run.stdout + run.stderr)[-3000:]}")
    print(f"Wrote {args.save_file}")
    if not args.skip_check:
        import onnxruntime
        fixed = [1 if v == -1 else v for v in shape[:2]] + [256 if v == -1 else v for v in shape[2:]]
        x = np.random.RandomState(0).standard_normal(fixed).astype("float32")
        sess = onnxruntime.InferenceSession(args.save_file, providers=["CPUExecutionProvider"])
        got = sess.run(None, {sess.get_inputs()[0].name: x})[0]
        want = run_predictor(create_predictor(deploy.model_file, deploy.params_file, use_onednn=False), x)[0]
        if deploy.output_op == "argmax":
            agree = float((got == want).mean())
            ok = agree > 0.999
            detail = f"{agree:.4%} of pixels agree"
        else:
            diff = float(np.abs(got - want).max())
            ok = diff <= 1e-3 * max(float(np.abs(want).max()), 1.0)
            detail = f"max abs difference {diff:.3g}"
        if not ok:
            raise SystemExit(f"ONNX model disagrees with Paddle Inference on a {fixed} input: {detail}")
        print(f"ONNX check passed on a {fixed} input: {detail}")
    return args.save_file


if __name__ == "__main__":
    main()
