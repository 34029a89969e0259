"""Evaluation throughput and peak memory: our evaluator against a straightforward one, in one run.

    python benchmarks/val_speed.py                       # whole-image and slide, defaults below
    python benchmarks/val_speed.py --config CFG --num_images 8 --size 1024 512 --batch_size 4

Both sides run the same model (the config's, randomly initialised: weights do not change the speed)
on the same generated Cityscapes-layout images and must produce the same confusion matrix (checked;
with ``--engine inference`` at most 0.1% of the pixels may move, from reordered float sums).

- ours: ``paddleseg.core.val.evaluate`` -- images of one size batched, argmax and confusion matrix
  (bincount) on the device, slide windows batched and accumulated on the device; with
  ``--engine inference`` (val.py's flag) the forward passes run through Paddle Inference on a
  temporary export (oneDNN on CPU).
- straightforward: one image at a time, logits copied to NumPy, NumPy argmax and ``np.bincount``
  confusion matrix; slide windows run one by one and accumulated in NumPy arrays.

Each (implementation, mode) runs in its own child process so peak memory (ru_maxrss on CPU, the
allocator's peak on GPU) belongs to it alone. Throughput is images / second over the whole pass
after one warm-up image.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

from paddleseg.utils.cli import HelpFormatter, add_out_arg, add_runtime_args, run_cli

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_CONFIG = "configs/quickstart/encnet_resnet18_synthetic.yml"


def naive_slide(model, img, crop_size, stride):
    """Windows one at a time, logits accumulated in NumPy (the baseline's slide)."""
    import numpy as np
    from paddleseg.core.infer import slide_windows

    _, _, h, w = img.shape
    total, count = None, np.zeros((1, 1, h, w), np.float32)
    for y1, y2, x1, x2 in slide_windows(h, w, crop_size, stride):
        out = model(img[:, :, y1:y2, x1:x2])[0].numpy()
        if total is None:
            total = np.zeros((out.shape[0], out.shape[1], h, w), np.float32)
        total[:, :, y1:y2, x1:x2] += out
        count[:, :, y1:y2, x1:x2] += 1
    return total / count


def naive_evaluate(model, dataset, slide):
    """Per image: forward, logits to NumPy, NumPy argmax and bincount."""
    import numpy as np
    import paddle

    c = dataset.num_classes
    cm = np.zeros((c, c), np.int64)
    with paddle.no_grad():
        for i in range(len(dataset)):
            sample = dataset[i]
            img = paddle.to_tensor(sample["img"][None])
            logits = naive_slide(model, img, *slide) if slide else model(img)[0].numpy()
            pred = logits[0].argmax(0)
            label = sample["label"]
            valid = label != dataset.ignore_index
            cm += np.bincount(label[valid] * c + pred[valid], minlength=c * c).reshape(c, c)
    return cm


def worker(args: argparse.Namespace) -> None:
    import resource
    import warnings
    warnings.filterwarnings("ignore")
    import numpy as np
    import paddle

    from paddleseg.core.infer import InferOptions
    from paddleseg.core.val import evaluate
    from paddleseg.cvlibs import Config, SegBuilder
    from paddleseg.deploy.engine import forward_engine
    from paddleseg.utils.runtime import set_cpu_threads, set_device

    device = set_device(args.device)
    if device == "cpu":
        set_cpu_threads(args.num_threads)
    paddle.seed(0)
    opts = ["model.backbone.pretrained=null", f"val_dataset.dataset_root={args.data}",
            f"train_dataset.dataset_root={args.data}"]
    builder = SegBuilder(Config(os.path.join(REPO, args.config), opts=opts))
    dataset = builder.val_dataset
    # val.py's own switch; the straightforward side always runs the dygraph model
    model = forward_engine(builder.model, args.engine if args.impl == "ours" else "dygraph", args.num_threads)
    slide = (tuple(args.crop_size), tuple(args.stride)) if args.mode == "slide" else None
    options = InferOptions(is_slide=True, crop_size=slide[0], stride=slide[1],
                           crops_per_batch=args.crops_per_batch) if slide else InferOptions()
    with paddle.no_grad():  # warm-up: one image through the model
        model(paddle.to_tensor(dataset[0]["img"][None]))
    start = time.perf_counter()
    if args.impl == "ours":
        cm = np.asarray(evaluate(model, dataset, num_workers=args.num_workers, print_detail=False,
                                 progress=False, options=options, batch_size=args.batch_size)["confusion_matrix"])
    else:
        cm = naive_evaluate(model, dataset, slide)
    if device.startswith("gpu"):
        paddle.device.synchronize()
    seconds = time.perf_counter() - start
    peak = (paddle.device.cuda.max_memory_allocated() / 2**20 if device.startswith("gpu")
            else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    print(json.dumps({"impl": args.impl, "mode": args.mode, "seconds": seconds,
                      "images_per_second": len(dataset) / seconds, "peak_mb": peak, "cm": cm.tolist()}))


def run_child(impl: str, mode: str, args: argparse.Namespace) -> dict:
    cmd = [sys.executable, os.path.abspath(__file__), "--worker", "--impl", impl, "--mode", mode,
           "--config", args.config, "--data", args.data, "--device", args.device,
           *(["--num_threads", str(args.num_threads)] if args.num_threads else []), "--batch_size", str(args.batch_size), "--engine", args.engine,
           "--num_workers", str(args.num_workers), "--crops_per_batch", str(args.crops_per_batch),
           "--crop_size", *map(str, args.crop_size), "--stride", *map(str, args.stride)]
    out = subprocess.run(cmd, capture_output=True, text=True, cwd=REPO)
    if out.returncode != 0:
        raise RuntimeError(f"{impl}/{mode} failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=HelpFormatter)
    p.add_argument("--config", default=DEFAULT_CONFIG, help="model config (its model and val transforms)")
    p.add_argument("--num_images", type=int, default=8)
    p.add_argument("--size", type=int, nargs=2, default=[1024, 512], metavar=("W", "H"))
    p.add_argument("--modes", nargs="+", default=["whole", "slide"], choices=["whole", "slide"])
    p.add_argument("--batch_size", type=int, default=4, help="our evaluator's batch size")
    p.add_argument("--num_workers", type=int, default=1, help="our evaluator's loader workers")
    p.add_argument("--crop_size", type=int, nargs=2, default=[512, 512], metavar=("W", "H"))
    p.add_argument("--stride", type=int, nargs=2, default=[384, 384], metavar=("W", "H"))
    p.add_argument("--crops_per_batch", type=int, default=4)
    p.add_argument("--engine", default="dygraph", choices=["dygraph", "inference"], help="our forward passes")
    add_out_arg(p, "also write the results as JSON here")
    add_runtime_args(p)
    p.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--impl", choices=["ours", "naive"], help=argparse.SUPPRESS)
    p.add_argument("--mode", choices=["whole", "slide"], help=argparse.SUPPRESS)
    p.add_argument("--data", help=argparse.SUPPRESS)
    return p.parse_args(argv)


def main(argv=None) -> list:
    args = parse_args(argv)
    if args.worker:
        worker(args)
        return []
    from paddleseg.datasets.synthetic import generate

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        args.data = os.path.join(tmp, "data")
        generate(args.data, num_train=1, num_val=args.num_images, size=tuple(args.size), seed=0)
        print(f"{args.num_images} images {args.size[0]}x{args.size[1]}, config {args.config}, device {args.device}, "
              f"{args.num_threads} threads; ours: engine {args.engine}, batch {args.batch_size}, {args.num_workers} "
              f"loader worker(s), {args.crops_per_batch} windows per batch", flush=True)
        for mode in args.modes:
            naive = run_child("naive", mode, args)
            ours = run_child("ours", mode, args)
            moved = sum(abs(a - b) for ra, rb in zip(ours["cm"], naive["cm"]) for a, b in zip(ra, rb)) / 2
            total = sum(map(sum, naive["cm"]))
            allowed = 0 if args.engine == "dygraph" else 1e-3 * total
            if moved > allowed:
                raise SystemExit(f"{mode}: the two evaluators disagree on {moved} of {total} pixels -- the "
                                 "comparison would be meaningless")
            row = {"mode": mode, "ours_ips": ours["images_per_second"], "naive_ips": naive["images_per_second"],
                   "speedup": ours["images_per_second"] / naive["images_per_second"],
                   "ours_peak_mb": ours["peak_mb"], "naive_peak_mb": naive["peak_mb"]}
            rows.append(row)
            print(f"{mode}: ours {row['ours_ips']:.3f} img/s vs straightforward {row['naive_ips']:.3f} img/s "
                  f"({row['speedup']:.2f}x); peak {row['ours_peak_mb']:.0f} vs {row['naive_peak_mb']:.0f} MiB",
                  flush=True)
    print("| mode | ours (img/s) | straightforward (img/s) | speed-up | peak ours (MiB) | peak straightforward (MiB) |")
    print("|---|---:|---:|---:|---:|---:|")
    for r in rows:
        print(f"| {r['mode']} | {r['ours_ips']:.3f} | {r['naive_ips']:.3f} | {r['speedup']:.2f}x | "
              f"{r['ours_peak_mb']:.0f} | {r['naive_peak_mb']:.0f} |")
    if args.out:
        with open(args.out, "w") as f:
            json.dump({"args": {k: v for k, v in vars(args).items() if k not in ("worker", "impl", "mode", "data")},
                       "rows": rows}, f, indent=2)
    return rows


if __name__ == "__main__":
    run_cli(main)
