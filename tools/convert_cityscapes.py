"""Convert Cityscapes labelIds to labelTrainIds (see :mod:`paddleseg.datasets.cityscapes_convert`).

    python tools/convert_cityscapes.py --cityscapes_root data/cityscapes --num_workers 4
"""
from __future__ import annotations

import argparse
import os
from typing import Optional, Sequence

from paddleseg.utils.cli import HelpFormatter, add_debug_arg, run_cli
from paddleseg.utils.errors import UsageError


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(formatter_class=HelpFormatter, 
        description="Convert Cityscapes *_gtFine_labelIds.png to *_gtFine_labelTrainIds.png "
                    "(19 train classes, everything else 255) and optionally write train/val/test lists.")
    parser.add_argument("--cityscapes_root", required=True,
                        help="directory holding leftImg8bit/ and gtFine/")
    parser.add_argument("--num_workers", type=int, default=min(8, os.cpu_count() or 1),
                        help="parallel processes (default: CPU count, at most 8)")
    parser.add_argument("--overwrite", action="store_true",
                        help="rewrite labelTrainIds files that already exist")
    parser.add_argument("--no_file_lists", action="store_true",
                        help="do not write train.txt / val.txt / test.txt")
    add_debug_arg(parser)
    return parser.parse_args(argv)


def main(argv: Optional[Sequence[str]] = None) -> None:
    """Command-line entry point."""
    args = parse_args(argv)
    if not os.path.isdir(args.cityscapes_root):
        raise UsageError(f"--cityscapes_root {args.cityscapes_root} is not a directory")
    from paddleseg.datasets.cityscapes_convert import convert_all, write_file_lists

    counts = convert_all(args.cityscapes_root, args.num_workers, args.overwrite)
    print(f"{counts['found']} labelIds files: {counts['written']} converted, "
          f"{counts['skipped']} already converted (use --overwrite to redo)")
    if not args.no_file_lists:
        for split, path in write_file_lists(args.cityscapes_root).items():
            print(f"wrote {path}")


if __name__ == "__main__":
    run_cli(main)
