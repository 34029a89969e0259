"""Encoding layer benchmark: our matmul form vs the naive N x HW x K x C formulation.

    python benchmarks/encoding_bench.py [--device cpu|gpu] [--threads N]

Each variant runs in its own subprocess, measured the same way:
- time: forward + backward (grads w.r.t. input, codewords, scale), median of ``--reps``
  runs after ``--warmup`` runs (device synchronised around each run on GPU);
- peak memory: CPU -> ``ru_maxrss`` (peak resident set size) at the end minus ``ru_maxrss``
  just before the first call, i.e. the extra memory the op needed at its peak (inputs and
  parameters are allocated before the baseline); GPU -> ``max_memory_allocated`` after
  ``reset_max_memory_allocated``, minus the memory allocated before the first call.
The thread count is fixed before Paddle is imported (OMP/MKL env vars, as ``import paddle``
would otherwise pin OMP_NUM_THREADS=1) and again with ``paddle.base.core.set_num_threads``.
Prints a markdown table.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from typing import Dict, List, Optional

from paddleseg.utils.cli import HelpFormatter, add_runtime_args, run_cli

VARIANTS = ("matmul", "naive")


def parse_args(argv: Optional[List[str]]) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=HelpFormatter)
    p.add_argument("--batch", type=int, default=2)
    p.add_argument("--height", type=int, default=64)
    p.add_argument("--width", type=int, default=128)
    p.add_argument("--codes", type=int, default=32)
    p.add_argument("--channels", type=int, default=512)
    p.add_argument("--warmup", type=int, default=1)
    p.add_argument("--reps", type=int, default=3)
    p.add_argument("--worker", choices=VARIANTS, help=argparse.SUPPRESS)
    add_runtime_args(p)
    return p.parse_args(argv)


def naive_encoding(paddle, x, codewords, scale):
    """Reference formulation (as in PaddleSeg 2.8 / mmseg): materialises x_i - d_k."""
    n, c = x.shape[0], x.shape[1]
    k = codewords.shape[0]
    xs = x.reshape([n, c, -1]).transpose([0, 2, 1])
    expanded = paddle.tile(xs.unsqueeze(2), [1, 1, k, 1])                       # N x HW x K x C
    dist = scale.reshape([1, 1, k]) * (expanded - codewords.reshape([1, 1, k, c])).pow(2).sum(axis=3)
    assign = paddle.nn.functional.softmax(dist, axis=2)
    expanded = paddle.tile(xs.unsqueeze(2), [1, 1, k, 1])
    return (assign.unsqueeze(3) * (expanded - codewords.reshape([1, 1, k, c]))).sum(axis=1)


def worker(args: argparse.Namespace) -> Dict[str, float]:
    """Run one variant in this process and return its timings and peak memory."""
    import resource

    import paddle

    if hasattr(paddle.base.core, "set_num_threads"):
        paddle.base.core.set_num_threads(args.num_threads)
    from paddleseg.utils.runtime import set_device
    gpu = set_device(args.device).startswith("gpu")
    from paddleseg.models.layers import Encoding

    paddle.seed(0)
    layer = Encoding(args.channels, args.codes)
    x = paddle.randn([args.batch, args.channels, args.height, args.width])
    x.stop_gradient = False

    def step() -> None:
        out = layer(x) if args.worker == "matmul" else naive_encoding(paddle, x, layer.codewords, layer.scale)
        out.sum().backward()
        x.clear_gradient()
        layer.clear_gradients()

    def sync() -> None:
        if gpu:
            paddle.device.synchronize()

    sync()
    if gpu:
        base = paddle.device.cuda.memory_allocated()
        paddle.device.cuda.reset_max_memory_allocated()
    else:
        base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # Linux reports KiB
    for _ in range(args.warmup):
        step()
    times = []
    for _ in range(args.reps):
        sync()
        start = time.perf_counter()
        step()
        sync()
        times.append(time.perf_counter() - start)
    if gpu:
        peak = paddle.device.cuda.max_memory_allocated() - base
    else:
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 - base
    return {"median_s": statistics.median(times), "min_s": min(times), "peak_bytes": peak}


def run_variant(variant: str, args: argparse.Namespace) -> Dict[str, float]:
    env = dict(os.environ, OMP_NUM_THREADS=str(args.num_threads), MKL_NUM_THREADS=str(args.num_threads))
    cmd = [sys.executable, os.path.abspath(__file__), "--worker", variant] + \
        [f"--{k}={v}" for k, v in vars(args).items() if k not in ("worker", "debug")]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"{variant} worker failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main(argv: Optional[List[str]] = None) -> None:
    args = parse_args(argv)
    if args.worker:
        print(json.dumps(worker(args)))
        return
    from paddleseg.utils.runtime import default_num_threads
    args.num_threads = args.num_threads or default_num_threads()
    results = {v: run_variant(v, args) for v in VARIANTS}
    ours, naive = results["matmul"], results["naive"]
    hw = args.height * args.width
    print(f"Encoding fwd+bwd, device={args.device}, threads={args.num_threads}, N={args.batch}, "
          f"HW={hw} ({args.height}x{args.width}), K={args.codes}, C={args.channels}, "
          f"median of {args.reps} after {args.warmup} warm-up\n")
    print("| variant | median time (ms) | min time (ms) | peak extra memory (MiB) |")
    print("|---|---:|---:|---:|")
    for name, r in (("matmul (ours)", ours), ("naive N x HW x K x C", naive)):
        print(f"| {name} | {r['median_s'] * 1e3:.1f} | {r['min_s'] * 1e3:.1f} | {r['peak_bytes'] / 2**20:.1f} |")
    speedup = naive["median_s"] / ours["median_s"]
    mem_ratio = ours["peak_bytes"] / naive["peak_bytes"] if naive["peak_bytes"] > 0 else float("nan")
    print(f"\nspeed-up: {speedup:.1f}x; memory: ours = {mem_ratio:.4f} of naive (1/{1 / mem_ratio:.0f})")


if __name__ == "__main__":
    run_cli(main)
