"""mIoU of one trained model through dygraph and every deployment runtime x precision.

    python benchmarks/deploy_accuracy.py --config CFG --model_path output/iter_N/model.pdparams \\
        --num_threads 2 --out benchmarks/results/deploy_accuracy.json
    python benchmarks/deploy_accuracy.py --config CFG --model_path M --engines onnxruntime \\
        --precision fp32 --opts val_dataset.dataset_root=data/x

Each row is one run of val.py's main, unchanged (same data, inference options and metrics; int8
calibrated by val.py on the first val images), with --engine / --precision: dygraph fp32 first (the
reference), then every backend x precision of benchmarks/deploy_speed.py -- Paddle Inference fp32 /
bf16, ONNX Runtime fp32, OpenVINO fp32 / bf16 / int8. A combination that cannot run here (runtime
not installed, no native bf16) is skipped with val.py's one-line reason (the pip command). Printed:
mIoU, its difference from dygraph fp32 in points (1 point = 0.01 mIoU), pixel accuracy, mean class
accuracy, the share of pixels whose class differs from dygraph's as far as the confusion matrices
show (a lower bound: two changes can cancel in one cell) and the seconds of each evaluation
(export, conversion and quantization included).
"""
from __future__ import annotations

import argparse
import importlib.util
import json
import os
import tempfile
import time
from typing import Callable, Dict, List, Optional

from paddleseg.deploy.backends import CPU_COMBOS, runtime_versions
from paddleseg.utils.cli import HelpFormatter, add_out_arg, add_runtime_args, run_cli


REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
REFERENCE = ("dygraph", "fp32")


def load_val_main() -> Callable:
    """val.py's ``main`` (the script sits at the repository root, not in the package)."""
    spec = importlib.util.spec_from_file_location("val", os.path.join(REPO, "val.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.main


def evaluate(val_main: Callable, args: argparse.Namespace, engine: str, precision: str,
             folder: str) -> Dict[str, object]:
    """One row: val.py's metrics through ``engine`` at ``precision``, or the reason it was skipped.

    The reference (dygraph fp32) is never skipped: if it cannot run, nothing can be compared.
    """
    from paddleseg.utils.errors import UserError
    argv = ["--config", args.config, "--model_path", args.model_path, "--engine", engine,
            "--precision", precision, "--out", os.path.join(folder, f"{engine}_{precision}.json"),
            "--device", args.device]
    argv += ["--num_threads", str(args.num_threads)] if args.num_threads else []
    argv += ["--opts", *args.opts] if args.opts else []
    row: Dict[str, object] = {"engine": engine, "precision": precision}
    start = time.perf_counter()
    try:
        result = val_main(argv)
    except UserError as err:
        if (engine, precision) == REFERENCE:
            raise
        row["skipped"] = str(err).splitlines()[0]
        print(f"skipped {engine} {precision}: {row['skipped']}", flush=True)
        return row
    row.update({key: result[key] for key in ("mIoU", "Acc", "mAcc", "class_IoU", "num_images",
                                             "num_pixels", "confusion_matrix")})
    row["seconds"] = time.perf_counter() - start
    return row


def add_deltas(rows: List[Dict[str, object]]) -> None:
    """``delta_points``: mIoU minus dygraph fp32's, in points (x 100); ``changed_min``: the share
    of pixels that left their (label, prediction) cell of dygraph's confusion matrix, a lower
    bound of the pixels whose predicted class differs from dygraph's (changes can cancel)."""
    import numpy as np
    base = rows[0]
    for row in rows:
        if "mIoU" in row:
            row["delta_points"] = 100 * (row["mIoU"] - base["mIoU"])
            moved = np.abs(np.asarray(row["confusion_matrix"])
                           - np.asarray(base["confusion_matrix"])).sum() / 2
            row["changed_min"] = float(moved / base["num_pixels"])


def markdown(rows: List[Dict[str, object]]) -> str:
    lines = ["| runtime, precision | mIoU | vs dygraph fp32 (points) | pixel acc. "
             "| mean class acc. | pixels changed (at least) | eval (s) |",
             "|---|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        name = f"{r['engine']} {r['precision']}"
        if "skipped" in r:
            lines.append(f"| {name} | skipped: {r['skipped']} | | | | | |")
            continue
        delta = round(r["delta_points"], 2) + 0.0   # + 0.0: no "-0.00"
        lines.append(f"| {name} | {100 * r['mIoU']:.2f} | {delta:+.2f} | "
                     f"{100 * r['Acc']:.2f} | {100 * r['mAcc']:.2f} | {r['changed_min']:.2%} | "
                     f"{r['seconds']:.0f} |")
    return "\n".join(lines)


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=HelpFormatter)
    p.add_argument("--config", required=True, help="the model's YAML config (required)")
    p.add_argument("--model_path", required=True, help="trained model.pdparams (required)")
    p.add_argument("--opts", nargs="+", default=None, metavar="KEY=VALUE",
                   help="config overrides, as val.py's (default: none)")
    p.add_argument("--engines", nargs="+", default=None,
                   choices=sorted({engine for engine, _ in CPU_COMBOS}),
                   help="only these runtimes besides dygraph (default: all)")
    p.add_argument("--precision", nargs="+", default=None, choices=["fp32", "bf16", "int8"],
                   help="only these precisions besides dygraph fp32 (default: all)")
    add_out_arg(p, "also write the rows as JSON here, e.g. benchmarks/results/deploy_accuracy.json")
    add_runtime_args(p)
    return p.parse_args(argv)


def main(argv: Optional[List[str]] = None) -> List[Dict[str, object]]:
    args = parse_args(argv)
    from paddleseg.deploy.backends import cpu_has_bf16
    combos = [REFERENCE] + [(engine, precision) for engine, precision in CPU_COMBOS
                            if (args.engines is None or engine in args.engines)
                            and (args.precision is None or precision in args.precision)]
    val_main = load_val_main()
    with tempfile.TemporaryDirectory(prefix="deploy_accuracy_") as folder:
        rows = [evaluate(val_main, args, engine, precision, folder) for engine, precision in combos]
    add_deltas(rows)
    print(markdown(rows), flush=True)
    if args.out:
        report = {"config": args.config, "model_path": args.model_path, "opts": args.opts,
                  "num_threads": args.num_threads, "cpu_bf16": cpu_has_bf16(),
                  "versions": runtime_versions(), "rows": rows}
        os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
        with open(args.out, "w") as f:
            json.dump(report, f, indent=2)
    return rows


if __name__ == "__main__":
    run_cli(main)
