"""Training throughput (ips) and peak memory of any config, for performance tables and TIPC.

    python benchmarks/train_benchmark.py --config test_tipc/configs/icnet/icnet_resnet18_tipc.yml --iters 30
    python benchmarks/train_benchmark.py --config CFG --batch_size 2 --iters 50 --skip 10 --opts KEY=VALUE ...

Trains ``--iters`` iterations with train.py's own code (no evaluation, no checkpoint until the
end) and reports the mean ips and batch_cost over the iterations after the first ``--skip``
(warm-up), plus the peak memory: resident set on CPU, the allocator's peak on GPU. Prints one JSON
line (and writes it to ``--out``); the training log lines carry PaddleSeg's keys as usual. When the
config's dataset is missing, ``--synthetic`` generates a small Cityscapes-layout one to train on.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import runpy
import statistics
import tempfile

from paddleseg.utils.cli import HelpFormatter, add_out_arg, add_runtime_args, run_cli

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=HelpFormatter)
    p.add_argument("--config", required=True, help="training config (required)")
    p.add_argument("--iters", type=int, default=30, help="iterations to run (default: 30)")
    p.add_argument("--skip", type=int, default=5, help="warm-up iterations left out of the averages (default: 5)")
    p.add_argument("--batch_size", type=int, default=None, help="batch size (default: the config's)")
    p.add_argument("--precision", default="fp32", choices=["fp32", "fp16", "bf16"], help="(default: fp32)")
    p.add_argument("--synthetic", action="store_true",
                   help="train on generated data, images 512x256 (default: the config's dataset)")
    p.add_argument("--opts", nargs="+", default=[], metavar="KEY=VALUE", help="config overrides (default: none)")
    add_out_arg(p, "also write the result as JSON here")
    add_runtime_args(p)
    args = p.parse_args(argv)
    if args.iters <= args.skip:
        raise SystemExit(f"--iters {args.iters} must exceed --skip {args.skip}")
    return args


def _train(args: argparse.Namespace) -> dict:
    """Run train.py's main() for ``--iters`` iterations in a temporary directory; its summary."""
    # train.py is a script, not a module of the package: run its main() from the file.
    train_main = runpy.run_path(os.path.join(REPO, "train.py"))["main"]
    with tempfile.TemporaryDirectory() as tmp:
        opts = list(args.opts)
        if args.synthetic:
            from paddleseg.datasets.synthetic import generate
            data = os.path.join(tmp, "data")
            generate(data, num_train=16, num_val=2, size=(512, 256), seed=0)
            opts += [f"train_dataset.dataset_root={data}", f"val_dataset.dataset_root={data}"]
        cli = ["--config", args.config, "--iters", str(args.iters), "--log_iters", "1", "--save_interval",
               str(args.iters), "--save_dir", os.path.join(tmp, "run"), "--seed", "0", "--check_labels", "0",
               "--device", args.device, "--precision", args.precision]
        if args.batch_size:
            cli += ["--batch_size", str(args.batch_size)]
        if args.num_threads:
            cli += ["--num_threads", str(args.num_threads)]
        if opts:
            cli += ["--opts", *opts]
        return train_main(cli)


def _measure(args: argparse.Namespace, summary: dict) -> dict:
    """Mean ips / batch_cost / reader_cost after the warm-up, the peak memory and the final loss."""
    import paddle
    steps = [e for e in summary["history"] if "ips" in e and e["iter"] > args.skip]
    on_gpu = paddle.get_device().startswith("gpu")
    peak = (paddle.device.cuda.max_memory_allocated() / 2**20 if on_gpu
            else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    return {"config": args.config, "device": paddle.get_device(), "precision": args.precision,
            "iters_timed": len(steps), "ips": statistics.mean(e["ips"] for e in steps),
            "batch_cost": statistics.mean(e["batch_cost"] for e in steps),
            "reader_cost": statistics.mean(e["reader_cost"] for e in steps),
            "peak_memory_mb": peak, "memory_kind": "gpu_allocated" if on_gpu else "cpu_max_rss",
            "final_loss": steps[-1]["loss"]}


def main(argv=None) -> dict:
    args = parse_args(argv)
    result = _measure(args, _train(args))
    print(json.dumps(result))
    if args.out:
        with open(args.out, "w") as f:
            json.dump(result, f, indent=2)
    return result


if __name__ == "__main__":
    run_cli(main)
