"""Write a small synthetic dataset in the real Cityscapes layout (see :mod:`paddleseg.datasets.synthetic`).

    python tools/generate_synthetic_cityscapes.py --out data/synthetic_cityscapes [--train 40 --val 10 --size 256 128]
"""
from __future__ import annotations

import argparse
import os
import time
from typing import Optional, Sequence

from paddleseg.utils.cli import HelpFormatter, add_debug_arg, run_cli
from paddleseg.utils.errors import UsageError


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(formatter_class=HelpFormatter, 
        description="Generate a small synthetic dataset in the Cityscapes layout "
                    "(leftImg8bit/, gtFine/ with labelTrainIds and labelIds, train.txt, val.txt).")
    parser.add_argument("--out", required=True, help="output dataset root (required)")
    parser.add_argument("--train", type=int, default=40, help="number of training images (default 40)")
    parser.add_argument("--val", type=int, default=10, help="number of validation images (default 10)")
    parser.add_argument("--size", type=int, nargs=2, default=(256, 128), metavar=("W", "H"),
                        help="image width and height, at least 32 each (default 256 128)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    add_debug_arg(parser)
    return parser.parse_args(argv)


def main(argv: Optional[Sequence[str]] = None) -> None:
    """Command-line entry point."""
    args = parse_args(argv)
    if min(args.size) < 32:
        raise UsageError(f"--size must be at least 32 32, got {args.size[0]} {args.size[1]}")
    from paddleseg.datasets.synthetic import generate

    start = time.time()
    info = generate(args.out, args.train, args.val, tuple(args.size), args.seed)
    for split in ("train", "val"):
        present = int((info["class_pixels"][split] > 0).sum())
        print(f"{split}: {len(info[split])} images, {present}/{info['num_classes']} classes present")
    print(f"Wrote {info['size'][0]}x{info['size'][1]} images to {os.path.abspath(args.out)} "
          f"(leftImg8bit/, gtFine/, train.txt, val.txt) in {time.time() - start:.1f}s")


if __name__ == "__main__":
    run_cli(main)
