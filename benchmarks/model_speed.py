"""Model size, MACs and eval-mode forward latency of configured models, side by side in one run.

    python benchmarks/model_speed.py                                   # ICNet-R50, ICNet-R18, ENCNet-R101
    python benchmarks/model_speed.py --models NAME=CONFIG ... --input_shape 1 3 1024 2048 --repeats 5

Protocol (mmseg's benchmark): batch 1, a full-size input, warm-up passes, then the median of the
timed passes, the device synchronised after each; no preprocessing in the timed region. Models
are built from their configs with all pretrained weights switched off (weights do not change
the speed and CI has no network). Models run in the order given, in one process, so the ratios
in the table come from the same machine state.

On GPU (``--device gpu``) ``--precision fp16`` runs the dygraph model under ``paddle.amp``
auto_cast O1. The exported-model (Paddle Inference) figures belong to ``tools/infer.py --benchmark``.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from typing import Dict, List, Sequence

from paddleseg.utils.cli import HelpFormatter, add_out_arg, add_runtime_args, run_cli

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

DEFAULT_MODELS = [
    "ICNet-R50=configs/icnet/icnet_resnet50_vd_cityscapes_1024x1024_30k.yml",
    "ICNet-R18=configs/icnet/icnet_resnet18_vd_cityscapes_1024x1024_30k.yml",
    "ENCNet-R101=configs/encnet/encnet_cityscapes_1024x512_80k.yml",
]


def build_model(config_path: str):
    """The config's model with every ``pretrained`` key set to null."""
    from paddleseg.cvlibs import Config, SegBuilder

    cfg = Config(config_path)
    model_cfg = cfg.dic.get("model", {})
    opts = []
    if "pretrained" in model_cfg:
        opts.append("model.pretrained=null")
    if isinstance(model_cfg.get("backbone"), dict) and "pretrained" in model_cfg["backbone"]:
        opts.append("model.backbone.pretrained=null")
    return SegBuilder(Config(config_path, opts=opts)).model


def time_forward(model, input_shape: Sequence[int], warmup: int, repeats: int, device: str,
                 precision: str) -> List[float]:
    """Seconds per eval-mode forward pass, one entry per timed repeat."""
    import paddle

    x = paddle.randn(list(input_shape), dtype="float32")
    times = []
    for i in range(warmup + repeats):
        start = time.perf_counter()
        with paddle.no_grad(), paddle.amp.auto_cast(enable=precision == "fp16", level="O1"):
            out = model(x)[0]
        if device.startswith("gpu"):
            paddle.device.synchronize()
        else:
            out.numpy()  # CPU kernels may run asynchronously; reading the result waits for them
        if i >= warmup:
            times.append(time.perf_counter() - start)
    return times


def measure(name: str, config: str, args: argparse.Namespace) -> Dict[str, object]:
    from paddleseg.utils.flops import count_macs, count_parameters

    model = build_model(os.path.join(REPO, config) if not os.path.isabs(config) else config)
    model.eval()
    macs = count_macs(model, args.input_shape)["total"]  # a full forward pass: it is the first warm-up
    times = time_forward(model, args.input_shape, max(0, args.warmup - 1), args.repeats, args.device,
                         args.precision)
    median = statistics.median(times)
    row = {"model": name, "config": config, "params_m": count_parameters(model) / 1e6,
           "gmacs": macs / 1e9, "median_ms": median * 1e3, "fps": 1.0 / median, "times_s": times}
    print(f"{name}: {row['params_m']:.2f} M params, {row['gmacs']:.1f} GMACs, "
          f"median {row['median_ms']:.1f} ms over {args.repeats} runs", flush=True)
    del model
    return row


def markdown(rows: List[Dict[str, object]], reference: str) -> str:
    ref = next((r for r in rows if r["model"] == reference), rows[-1])
    lines = ["| model | params (M) | GMACs | GFLOPs (2 x MACs) | median latency (ms) | fps | "
             f"speed-up vs {ref['model']} |", "|---|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        lines.append(f"| {r['model']} | {r['params_m']:.2f} | {r['gmacs']:.1f} | {2 * r['gmacs']:.1f} | "
                     f"{r['median_ms']:.1f} | {r['fps']:.2f} | {ref['median_ms'] / r['median_ms']:.1f}x |")
    return "\n".join(lines)


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=HelpFormatter)
    p.add_argument("--models", nargs="+", default=DEFAULT_MODELS, metavar="NAME=CONFIG",
                   help="models to compare, each a display name and a config path")
    p.add_argument("--reference", default="ENCNet-R101", help="model the speed-up column divides by")
    p.add_argument("--input_shape", type=int, nargs=4, default=[1, 3, 1024, 2048], metavar=("N", "C", "H", "W"))
    p.add_argument("--warmup", type=int, default=2,
                   help="untimed passes per model, the MAC-counting pass included")
    p.add_argument("--repeats", type=int, default=5, help="timed passes per model (the median is reported)")
    p.add_argument("--precision", default="fp32", choices=["fp32", "fp16"], help="fp16: AMP O1, GPU only (default: fp32)")
    add_out_arg(p, "also write the rows as JSON here")
    add_runtime_args(p)
    return p.parse_args(argv)


def main(argv=None) -> List[Dict[str, object]]:
    args = parse_args(argv)
    import warnings
    warnings.filterwarnings("ignore")
    import paddle
    from paddleseg.utils.runtime import set_cpu_threads, set_device

    device = set_device(args.device)
    threads = set_cpu_threads(args.num_threads) if device == "cpu" else None
    if args.precision == "fp16" and device == "cpu":
        raise SystemExit("--precision fp16 needs --device gpu (Paddle runs AMP as fp32 on CPU)")
    paddle.seed(0)
    specs = []
    for item in args.models:
        name, sep, config = item.partition("=")
        if not sep:
            raise SystemExit(f"--models entry {item!r} must be NAME=CONFIG")
        specs.append((name, config))
    print(f"device={device} threads={threads} precision={args.precision} input={args.input_shape} "
          f"warmup={args.warmup} repeats={args.repeats} paddle={paddle.__version__}", flush=True)
    rows = [measure(name, config, args) for name, config in specs]
    print(markdown(rows, args.reference))
    if args.out:
        with open(args.out, "w") as f:
            json.dump({"device": device, "threads": threads, "precision": args.precision,
                       "input_shape": args.input_shape, "warmup": args.warmup, "repeats": args.repeats,
                       "paddle": paddle.__version__, "rows": rows}, f, indent=2)
    return rows


if __name__ == "__main__":
    run_cli(main)
