"""Write train/val (and optionally test) file lists for a custom dataset: images and masks are
matched by name (see :mod:`paddleseg.datasets.file_lists`), split by ratio with a seed.

    python tools/make_dataset_lists.py --dataset_root data/my_dataset --images images \\
        --masks masks --mask_suffix _mask --val_ratio 0.2 --seed 0
"""
from __future__ import annotations

import argparse
import os
import sys
from typing import Dict, Optional, Sequence

from paddleseg.utils.cli import HelpFormatter, add_debug_arg, run_cli
from paddleseg.utils.errors import UsageError, UserError


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(formatter_class=HelpFormatter, description=__doc__)
    p.add_argument("--dataset_root", required=True,
                   help="dataset folder; list paths are relative to it (required)")
    p.add_argument("--images", default="images",
                   help="image folder, relative to --dataset_root or absolute")
    p.add_argument("--masks", default="masks",
                   help="mask (label) folder, relative to --dataset_root or absolute")
    p.add_argument("--image_suffix", default="",
                   help="ending of image names to drop before matching, e.g. _img (default: none)")
    p.add_argument("--mask_suffix", default="",
                   help="ending of mask names to drop before matching, e.g. _mask (default: none)")
    p.add_argument("--no_recursive", action="store_true",
                   help="only the folders themselves, not sub-folders")
    p.add_argument("--val_ratio", type=float, default=0.2, help="share of the pairs in val.txt")
    p.add_argument("--test_ratio", type=float, default=0.0,
                   help="share of the pairs in test.txt (0: no test.txt)")
    p.add_argument("--seed", type=int, default=0, help="seed of the shuffle before the split")
    p.add_argument("--separator", default=" ",
                   help="between image and mask on a line (default: a space)")
    p.add_argument("--out_dir", default=None, help="where the lists go (default: --dataset_root)")
    p.add_argument("--overwrite", action="store_true", help="replace lists that already exist")
    p.add_argument("--strict", action="store_true",
                   help="fail (exit 1) when some image has no mask or some mask no image, "
                        "instead of warning")
    add_debug_arg(p)
    return p.parse_args(argv)


def _folder(root: str, folder: str, flag: str) -> str:
    path = folder if os.path.isabs(folder) else os.path.join(root, folder)
    if not os.path.isdir(path):
        raise UsageError(f"{flag} {path} is not a folder")
    return path


def _report_unmatched(matching, strict: bool) -> None:
    """Warn about (or, with --strict, refuse) files without a partner."""
    from paddleseg.datasets.file_lists import listing

    parts = []
    if matching.images_without_mask:
        parts.append(f"{len(matching.images_without_mask)} image(s) have no mask:\n"
                     f"{listing(matching.images_without_mask)}")
    if matching.masks_without_image:
        parts.append(f"{len(matching.masks_without_image)} mask(s) have no image:\n"
                     f"{listing(matching.masks_without_image)}")
    if matching.skipped_masks:
        parts.append(f"{len(matching.skipped_masks)} file(s) in the mask folder are not PNG, BMP "
                     f"or TIFF and were not used (masks must be lossless):\n"
                     f"{listing(matching.skipped_masks)}")
    if not parts:
        return
    if strict:
        raise UserError("Images and masks do not pair up (--strict).\n" + "\n".join(parts))
    print("warning: " + "\nwarning: ".join(parts), file=sys.stderr, flush=True)


def main(argv: Optional[Sequence[str]] = None) -> Dict[str, str]:
    """Command-line entry point; returns split -> list path written."""
    args = parse_args(argv)
    from paddleseg.datasets.file_lists import match_files, split_pairs, write_lists

    if not os.path.isdir(args.dataset_root):
        raise UsageError(f"--dataset_root {args.dataset_root} is not a folder")
    image_dir = _folder(args.dataset_root, args.images, "--images")
    mask_dir = _folder(args.dataset_root, args.masks, "--masks")
    matching = match_files(image_dir, mask_dir, args.image_suffix, args.mask_suffix,
                           not args.no_recursive)
    if not matching.pairs:
        raise UserError(f"No image under {image_dir} has a mask under {mask_dir} "
                        f"({len(matching.images_without_mask)} images, "
                        f"{len(matching.masks_without_image)} masks); names must match once "
                        f"--image_suffix {args.image_suffix!r} and --mask_suffix "
                        f"{args.mask_suffix!r} are removed (e.g. 0001.jpg and 0001_mask.png with "
                        f"--mask_suffix _mask)")
    print(f"matched {len(matching.pairs)} image/mask pairs under {image_dir} and {mask_dir}",
          flush=True)
    _report_unmatched(matching, args.strict)
    splits = split_pairs(matching.pairs, args.val_ratio, args.test_ratio, args.seed)
    written = write_lists(args.dataset_root, splits, args.out_dir, args.separator, args.overwrite)
    for name, path in written.items():
        print(f"wrote {path} ({len(splits[name])} pairs)")
    return written


if __name__ == "__main__":
    run_cli(main)
