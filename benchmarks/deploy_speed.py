"""Exported model (Paddle Inference) against dygraph eval of the same model, in one run.

    python benchmarks/deploy_speed.py                                   # ENCNet-R101, ICNet-R50, ICNet-R18
    python benchmarks/deploy_speed.py --input_shape 1 3 512 1024 --repeats 3 --out benchmarks/results/deploy_speed_cpu.json

Each model is built from its config (pretrained weights off: they do not change the speed),
exported with export.py's code (output op argmax), and timed both ways on the same input after
warm-up: dygraph ``model(x)[0]`` + argmax under ``no_grad``; Paddle Inference on CPU with oneDNN
(its broken placement pass removed, see paddleseg/deploy/predictor.py) and without oneDNN, or on
GPU (``--device gpu``, optionally ``--precision fp16``). Medians are reported; ratios come from one run.
"""
from __future__ import annotations

import argparse
import functools
import json
import os
import statistics
import tempfile
import time
from typing import Dict, List

from paddleseg.utils.cli import HelpFormatter, add_out_arg, add_runtime_args, run_cli

from model_speed import DEFAULT_MODELS, REPO, build_model  # the sibling script (run as python benchmarks/deploy_speed.py)

DEFAULT_ORDER = [DEFAULT_MODELS[2], DEFAULT_MODELS[0], DEFAULT_MODELS[1]]   # ENCNet first: the target


def _median_seconds(fn, warmup: int, repeats: int) -> List[float]:
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return times


def measure(name: str, config: str, args: argparse.Namespace) -> Dict[str, object]:
    import numpy as np
    import paddle

    from paddleseg.deploy.exporter import export_static
    from paddleseg.deploy.predictor import create_predictor, run_predictor

    model = build_model(os.path.join(REPO, config))
    model.eval()
    x_np = np.random.RandomState(0).standard_normal(args.input_shape).astype("float32")
    x = paddle.to_tensor(x_np)

    def dygraph():
        with paddle.no_grad():
            paddle.argmax(model(x)[0], axis=1).numpy()
    row: Dict[str, object] = {"model": name, "config": config}
    row["dygraph_s"] = _median_seconds(dygraph, args.warmup, args.repeats)
    with tempfile.TemporaryDirectory() as tmp:
        files = export_static(model, tmp, "argmax")
        variants = [("gpu", {"device": "gpu", "precision": args.precision})] if args.device.startswith("gpu") else \
            [("onednn", {"use_onednn": True}), ("plain", {"use_onednn": False})]
        for label, kwargs in variants:
            predictor = create_predictor(files["model"], files["params"], cpu_threads=args.num_threads, **kwargs)
            row[f"inference_{label}_s"] = _median_seconds(functools.partial(run_predictor, predictor, x_np),
                                                          args.warmup, args.repeats)
            del predictor   # free its memory before the next variant is built
    medians = {k: statistics.median(v) for k, v in row.items() if k.endswith("_s")}
    row["median_s"] = medians
    best = min(v for k, v in medians.items() if k.startswith("inference"))
    row["speedup_best"] = medians["dygraph_s"] / best
    print(f"{name}: " + ", ".join(f"{k[:-2]} {v * 1000:.0f} ms" for k, v in medians.items())
          + f" -> exported {row['speedup_best']:.2f}x faster", flush=True)
    return row


def main(argv=None) -> List[Dict[str, object]]:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=HelpFormatter)
    p.add_argument("--models", nargs="+", default=DEFAULT_ORDER, metavar="NAME=CONFIG")
    p.add_argument("--input_shape", type=int, nargs=4, default=[1, 3, 512, 1024], metavar=("N", "C", "H", "W"))
    p.add_argument("--warmup", type=int, default=1)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--precision", default="fp32", choices=["fp32", "fp16"], help="GPU precision (default: fp32)")
    add_out_arg(p, "also write the rows as JSON here")
    add_runtime_args(p)
    args = p.parse_args(argv)
    import warnings
    warnings.filterwarnings("ignore")
    import paddle
    from paddleseg.utils.runtime import set_cpu_threads, set_device

    args.device = set_device(args.device)  # auto -> cpu or gpu[:N]
    args.num_threads = set_cpu_threads(args.num_threads)  # None -> all cores
    paddle.seed(0)
    print(f"input {args.input_shape}, device {args.device}, {args.num_threads} threads, warm-up {args.warmup}, "
          f"{args.repeats} timed runs, paddle {paddle.__version__}", flush=True)
    rows = [measure(*item.split("=", 1), args) for item in args.models]
    keys = [k for k in rows[0]["median_s"]]
    print("| model | " + " | ".join(f"{k[:-2]} (ms)" for k in keys) + " | exported speed-up |")
    print("|---|" + "---:|" * (len(keys) + 1))
    for r in rows:
        print(f"| {r['model']} | " + " | ".join(f"{r['median_s'][k] * 1000:.0f}" for k in keys)
              + f" | {r['speedup_best']:.2f}x |")
    if args.out:
        with open(args.out, "w") as f:
            json.dump({"args": vars(args), "paddle": paddle.__version__, "rows": rows}, f, indent=2)
    return rows


if __name__ == "__main__":
    run_cli(main)
