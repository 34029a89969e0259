"""Training-step speed and peak memory: this project against PaddleSeg 2.8, in one run.

ENCNet-ResNet101_vd OS8 (num_codes 32, mid_channels 512, lateral + SE loss, losses 1/0.4/0.2),
batch 2, 256x256 crops of generated data, SGD momentum. Each implementation runs in its own
subprocess (PaddleSeg from a separate virtualenv: the package names collide), on the same fixed
random batch, so only the model step is timed (forward, losses, backward, optimizer step).

    python benchmarks/train_speed.py --paddleseg_python /path/to/venv_ps/bin/python --warmup 2 --iters 5

Peak memory is the child's peak resident set (ru_maxrss) on CPU, or the allocator's peak on GPU.
PaddleSeg runs with its default thread count (``import paddle`` pins OMP_NUM_THREADS=1) and again with
OMP_NUM_THREADS set to ours, so the table shows what the thread choice and the model code each give.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))


def _build_ours(num_classes: int):
    from paddleseg.models import ENCNet
    from paddleseg.models.backbones import ResNet101_vd
    from paddleseg.models.losses import CrossEntropyLoss, MultiOutputLoss, SECrossEntropyLoss

    model = ENCNet(num_classes=num_classes, backbone=ResNet101_vd(output_stride=8), backbone_indices=[1, 2, 3],
                   num_codes=32, mid_channels=512, use_se_loss=True, add_lateral=True)
    loss = MultiOutputLoss([CrossEntropyLoss(), CrossEntropyLoss(), SECrossEntropyLoss()], [1.0, 0.4, 0.2])
    return model, lambda outs, label: loss(outs, label)[0]


def _build_paddleseg(num_classes: int):
    import paddle
    import paddle.nn.functional as F
    from paddleseg.models import ENCNet
    from paddleseg.models.backbones import ResNet101_vd
    from paddleseg.models.losses import SECrossEntropyLoss

    model = ENCNet(num_classes=num_classes, backbone=ResNet101_vd(output_stride=8), backbone_indices=[1, 2, 3],
                   num_codes=32, mid_channels=512, use_se_loss=True, add_lateral=True)
    se_loss = SECrossEntropyLoss()

    def ce(logit, label):
        # PaddleSeg 2.8's CrossEntropyLoss fails on Paddle 3.3 (it multiplies a float32 mask by an int64
        # ones_like(label): "Type promotion only support calculations between floating-point numbers"),
        # so this side computes the same thing with the same ops, minus the crash.
        loss = F.cross_entropy(paddle.transpose(logit, [0, 2, 3, 1]), label, ignore_index=255, reduction="none")
        mask = paddle.cast(label != 255, "float32")
        return paddle.mean(loss.squeeze(-1) * mask) / (paddle.mean(mask) + 1e-8)

    def loss_fn(outs, label):  # what paddleseg.core.train's loss_computation does for this config
        return 1.0 * ce(outs[0], label) + 0.4 * ce(outs[1], label) + 0.2 * se_loss(outs[2], label)
    return model, loss_fn


def worker(args: argparse.Namespace) -> None:
    """Runs inside the child process; prints one JSON line."""
    import resource
    import warnings
    warnings.filterwarnings("ignore")
    import numpy as np
    import paddle

    if args.num_threads:
        paddle.base.core.set_num_threads(args.num_threads)
    paddle.set_device(args.device)  # resolved by main(): never auto here
    paddle.seed(0)
    model, loss_fn = (_build_ours if args.impl == "ours" else _build_paddleseg)(args.num_classes)
    model.train()
    opt = paddle.optimizer.Momentum(learning_rate=0.01, momentum=0.9, weight_decay=5e-4,
                                    parameters=model.parameters())
    rng = np.random.RandomState(0)
    img = paddle.to_tensor(rng.standard_normal((args.batch_size, 3, args.crop, args.crop)).astype("float32"))
    label = paddle.to_tensor(rng.randint(0, args.num_classes, (args.batch_size, args.crop, args.crop)).astype("int64"))
    times = []
    for i in range(args.warmup + args.iters):
        t0 = time.perf_counter()
        loss = loss_fn(model(img), label)
        loss.backward()
        opt.step()
        opt.clear_grad()
        loss_value = float(loss.item())
        if args.device.startswith("gpu"):
            paddle.device.synchronize()
        if i >= args.warmup:
            times.append(time.perf_counter() - t0)
    if args.device.startswith("gpu"):
        peak_mb = paddle.device.cuda.max_memory_allocated() / 2**20
    else:
        peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"impl": args.impl, "median_s": float(np.median(times)), "times": times,
                      "peak_mb": peak_mb, "loss": loss_value,
                      "omp": os.environ.get("OMP_NUM_THREADS"), "threads": args.num_threads}))


def run_child(python: str, impl: str, args: argparse.Namespace, threads: int, omp: str = None) -> dict:
    env = dict(os.environ)
    env.pop("PYTHONPATH", None)
    if omp is not None:
        env["OMP_NUM_THREADS"] = omp
    else:
        env.pop("OMP_NUM_THREADS", None)
    cmd = [python, os.path.abspath(__file__), "--worker", "--impl", impl, "--num_threads", str(threads),
           "--warmup", str(args.warmup), "--iters", str(args.iters), "--crop", str(args.crop),
           "--batch_size", str(args.batch_size), "--device", args.device, "--num_classes", str(args.num_classes)]
    # run from a neutral directory so PaddleSeg's child cannot import this repo's package by accident
    out = subprocess.run(cmd, env=env, cwd="/", capture_output=True, text=True)
    if out.returncode != 0:
        raise RuntimeError(f"{impl} benchmark failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def _worker_args(argv) -> argparse.Namespace:
    """The child's flags (set by run_child). Plain argparse: PaddleSeg 2.8's venv runs this file too,
    and its ``paddleseg`` package has no ``paddleseg.utils.cli``."""
    p = argparse.ArgumentParser()
    p.add_argument("--worker", action="store_true")
    p.add_argument("--impl", default="ours")
    p.add_argument("--device", default="cpu")
    for flag in ("--num_threads", "--warmup", "--iters", "--crop", "--batch_size", "--num_classes"):
        p.add_argument(flag, type=int)
    return p.parse_args(argv)


def main(argv=None) -> None:
    from paddleseg.utils.cli import HelpFormatter, add_out_arg, add_runtime_args

    p = argparse.ArgumentParser(description=__doc__, formatter_class=HelpFormatter)
    p.add_argument("--paddleseg_python", default=None,
                   help="python of a venv with paddleseg==2.8.0 (--no-deps) + paddlepaddle; omit to time ours only")
    p.add_argument("--warmup", type=int, default=2)
    p.add_argument("--iters", type=int, default=5)
    p.add_argument("--crop", type=int, default=256)
    p.add_argument("--batch_size", type=int, default=2)
    p.add_argument("--num_classes", type=int, default=19)
    add_out_arg(p, "also write the results as JSON here", "--json_out")
    add_runtime_args(p)
    args = p.parse_args(argv)
    from paddleseg.utils.runtime import set_device
    args.device = set_device(args.device)  # the children (and PaddleSeg's) need cpu or gpu[:N], not auto
    threads = args.num_threads or len(os.sched_getaffinity(0))
    rows = [("ours", f"{threads} threads", run_child(sys.executable, "ours", args, threads))]
    if args.paddleseg_python:
        rows.append(("PaddleSeg 2.8", "default (OMP_NUM_THREADS=1)", run_child(args.paddleseg_python, "paddleseg", args, 0)))
        rows.append(("PaddleSeg 2.8", f"OMP_NUM_THREADS={threads}",
                     run_child(args.paddleseg_python, "paddleseg", args, 0, omp=str(threads))))
    base = rows[0][2]
    print(f"ENCNet-ResNet101_vd OS8, batch {args.batch_size}, {args.crop}x{args.crop}, device {args.device}, "
          f"{args.warmup} warm-up + {args.iters} timed iterations")
    print("| implementation | threads | median iter (s) | peak memory (MiB) | ours faster by |")
    print("|---|---|---|---|---|")
    for name, thr, r in rows:
        print(f"| {name} | {thr} | {r['median_s']:.2f} | {r['peak_mb']:.0f} | {r['median_s'] / base['median_s']:.2f}x |")
    if args.out:
        with open(args.out, "w") as f:
            json.dump([{"name": n, "threads": t, **r} for n, t, r in rows], f, indent=2)


if __name__ == "__main__":
    if "--worker" in sys.argv[1:]:
        worker(_worker_args(sys.argv[1:]))
    else:
        from paddleseg.utils.cli import run_cli
        run_cli(main)
