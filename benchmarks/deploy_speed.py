"""Every inference backend x precision (and dygraph) on the same exported model, in one run.

    python benchmarks/deploy_speed.py                      # ICNet-R18, 1x3x512x1024
    python benchmarks/deploy_speed.py --input_shape 1 3 1024 2048 --repeats 7 \\
        --models ICNet-R50=configs/icnet/icnet_resnet50_vd_cityscapes_1024x1024_30k.yml

Each model is built from its config (pretrained weights off: they do not change the speed),
exported with export.py's code (output op argmax, the input shape fixed, as a deployment would)
and converted to ONNX (paddle2onnx, as tools/export_onnx.py).
Every available backend x precision of paddleseg/deploy/backends.py is loaded -- Paddle Inference
(oneDNN) fp32 / bf16, ONNX Runtime fp32, OpenVINO fp32 / bf16 / int8 (NNCF post-training
quantization calibrated on a few random inputs: the speed is real, the agreement column is not an
accuracy figure for int8 -- val.py --engine openvino --precision int8 measures that); bf16 only on
CPUs with native bf16, a missing runtime is skipped with its pip hint -- and, with --dygraph, the
dygraph model. After warm-up the timed runs are interleaved (one run of each, --repeats times), so
a busy machine slows all of them alike and the ratios hold. Reported: latency p50 / p90, fps,
GFLOP/s achieved (2 x MACs of the forward pass / p50), speed-up against Paddle Inference fp32 and
the share of pixels whose class equals Paddle Inference fp32's (the random input is a stress
test: near-ties everywhere).
"""
from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from typing import Callable, Dict, List

from paddleseg.deploy.backends import CPU_COMBOS, GPU_COMBOS, runtime_versions
from paddleseg.utils.cli import HelpFormatter, add_out_arg, add_runtime_args, run_cli

# the sibling script (run as python benchmarks/deploy_speed.py)
from model_speed import DEFAULT_MODELS, REPO, build_model

CALIBRATION_INPUTS = 4   # int8: random calibration inputs (the speed does not depend on the ranges)


def _load_runners(model, files: Dict[str, str], args: argparse.Namespace) -> Dict[str, Callable]:
    """label -> callable(x) for every backend x precision that can run here (others are printed)."""
    import paddle

    from paddleseg.deploy.backends import open_backend
    from paddleseg.utils.errors import UserError
    runners: Dict[str, Callable] = {}
    if args.dygraph:
        def dygraph(x):
            with paddle.no_grad():
                return paddle.argmax(model(paddle.to_tensor(x))[0], axis=1).numpy()
        runners["dygraph fp32"] = dygraph
    gpu = args.device.startswith("gpu")
    for backend, precision in GPU_COMBOS if gpu else CPU_COMBOS:
        if args.precision and precision not in args.precision:
            continue
        try:
            runners[f"{backend} {precision}"] = open_backend(
                backend, args.num_threads, precision, model_file=files["model"],
                params_file=files["params"],
                onnx_file=files.get("int8" if precision == "int8" else "onnx"),
                device=args.device)
        except UserError as err:   # no bf16 here, a runtime not installed: say so, measure the rest
            print(f"skipped {backend} {precision}: {err}", flush=True)
    return runners


def _time_interleaved(runners: Dict[str, Callable], x, warmup: int, repeats: int):
    """(outputs of the first call, label -> seconds per timed run); runs alternate runners."""
    outputs = {label: run(x) for label, run in runners.items()}
    for _ in range(max(0, warmup - 1)):
        for run in runners.values():
            run(x)
    times: Dict[str, List[float]] = {label: [] for label in runners}
    for _ in range(repeats):
        for label, run in runners.items():
            start = time.perf_counter()
            run(x)
            times[label].append(time.perf_counter() - start)
    return outputs, times


def _derived_models(name: str, files: Dict[str, str], tmp: str, shape: List[int]) -> Dict[str, str]:
    """The ONNX conversion and its int8 quantization (random calibration inputs), where possible."""
    import numpy as np

    from paddleseg.deploy.onnx_convert import convert_to_onnx
    from paddleseg.deploy.quantize import quantize_int8
    from paddleseg.utils.errors import UserError
    derived: Dict[str, str] = {}
    try:
        derived["onnx"] = convert_to_onnx(files["model"], files["params"],
                                          os.path.join(tmp, "model.onnx"), dynamic_size=False)
        calibration = np.random.RandomState(1).standard_normal([CALIBRATION_INPUTS, *shape[1:]])
        derived["int8"] = quantize_int8(derived["onnx"], calibration.astype("float32"),
                                        os.path.join(tmp, "model_int8.xml"))
    except UserError as err:   # paddle2onnx / nncf missing or failing: measure the rest
        print(f"{name}: {str(err).splitlines()[0]}; the backends needing it are skipped",
              flush=True)
    return derived


def measure(name: str, config: str, args: argparse.Namespace) -> List[Dict[str, object]]:
    """One row per backend x precision of the model ``name``."""
    import numpy as np

    from paddleseg.deploy.exporter import export_static
    from paddleseg.utils.flops import count_macs

    model = build_model(os.path.join(REPO, config))
    model.eval()
    macs = count_macs(model, args.input_shape)["total"]
    x = np.random.RandomState(0).standard_normal(args.input_shape).astype("float32")
    with tempfile.TemporaryDirectory() as tmp:
        files = export_static(model, tmp, "argmax", args.input_shape)
        if not args.device.startswith("gpu"):
            files.update(_derived_models(name, files, tmp, args.input_shape))
        runners = _load_runners(model, files, args)
        outputs, times = _time_interleaved(runners, x, args.warmup, args.repeats)
    reference = outputs.get("paddle fp32")
    base = np.median(times["paddle fp32"]) if "paddle fp32" in times else None
    rows = []
    for label, runs in times.items():
        p50, p90 = (float(np.percentile(runs, q)) for q in (50, 90))
        agree = float((outputs[label] == reference).mean()) if reference is not None else None
        row = {"model": name, "config": config, "runner": label, "gmacs": macs / 1e9,
               "p50_ms": p50 * 1e3, "p90_ms": p90 * 1e3, "fps": 1.0 / p50,
               "gflops_per_s": 2 * macs / p50 / 1e9, "times_s": runs,
               "speedup_vs_paddle_fp32": base / p50 if base else None,
               "agreement_with_paddle_fp32": agree}
        rows.append(row)
        print(f"{name} {label}: p50 {row['p50_ms']:.0f} ms, {row['fps']:.1f} fps", flush=True)
    return rows


def markdown(rows: List[Dict[str, object]]) -> str:
    lines = ["| model | runtime, precision | p50 (ms) | p90 (ms) | fps | GFLOP/s | "
             "vs Paddle Inference fp32 | argmax = Paddle fp32 |",
             "|---|---|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        speed = f"{r['speedup_vs_paddle_fp32']:.2f}x" if r["speedup_vs_paddle_fp32"] else "-"
        agreement = r["agreement_with_paddle_fp32"]
        agree = f"{agreement:.2%}" if agreement is not None else "-"
        lines.append(f"| {r['model']} | {r['runner']} | {r['p50_ms']:.0f} | {r['p90_ms']:.0f} | "
                     f"{r['fps']:.2f} | {r['gflops_per_s']:.0f} | {speed} | {agree} |")
    return "\n".join(lines)


def main(argv=None) -> List[Dict[str, object]]:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=HelpFormatter)
    p.add_argument("--models", nargs="+", default=[DEFAULT_MODELS[1]], metavar="NAME=CONFIG",
                   help="default: ICNet-R18")
    # 512x1024: Cityscapes at half resolution, the size issue 15's targets are stated at.
    p.add_argument("--input_shape", type=int, nargs=4, default=[1, 3, 512, 1024],
                   metavar=("N", "C", "H", "W"))
    p.add_argument("--warmup", type=int, default=2)
    p.add_argument("--repeats", type=int, default=7)
    p.add_argument("--dygraph", type=int, default=1, choices=[0, 1],
                   help="also time dygraph (default 1)")
    add_out_arg(p, "also write the rows as JSON here")
    p.add_argument("--precision", nargs="+", default=None, choices=["fp32", "bf16", "int8", "fp16"],
                   help="only these precisions (default: all; fp16 is Paddle Inference on GPU)")
    add_runtime_args(p)
    args = p.parse_args(argv)
    import warnings
    warnings.filterwarnings("ignore")
    import paddle
    from paddleseg.deploy.backends import cpu_has_bf16
    from paddleseg.utils.runtime import set_cpu_threads, set_device

    args.device = set_device(args.device)  # auto -> cpu or gpu[:N]
    args.num_threads = set_cpu_threads(args.num_threads)  # None -> all cores
    paddle.seed(0)
    print(f"input {args.input_shape}, {args.num_threads} threads, warm-up {args.warmup}, "
          f"{args.repeats} timed runs (interleaved), {runtime_versions()}, CPU bf16: {cpu_has_bf16()}",
          flush=True)
    rows = [row for item in args.models for row in measure(*item.split("=", 1), args)]
    print(markdown(rows))
    if args.out:
        with open(args.out, "w") as f:
            json.dump({"args": vars(args), "versions": runtime_versions(), "rows": rows}, f, indent=2)
    return rows


if __name__ == "__main__":
    run_cli(main)
