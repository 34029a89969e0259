"""Convert colour-coded masks (one RGB colour per class) to class-id PNGs
(see :mod:`paddleseg.datasets.color_masks`).

    python tools/convert_color_masks.py --src data/my_dataset/masks_rgb \\
        --dst data/my_dataset/masks --palette data/my_dataset/palette.txt \\
        --ignore_color 255 255 255 --ignore_index 11
    python tools/convert_color_masks.py --src ... --dst ... --config configs/custom/my_config.yml

The palette comes from a file (one ``R G B [name]`` line per class, in class-id order) or from the
config's ``train_dataset.palette`` (with its ``ignore_index``).
"""
from __future__ import annotations

import argparse
import os
from typing import List, Optional, Sequence, Tuple

from paddleseg.utils.cli import HelpFormatter, add_debug_arg, run_cli
from paddleseg.utils.errors import UsageError


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(formatter_class=HelpFormatter, description=__doc__)
    p.add_argument("--src", required=True,
                   help="folder of colour masks (PNG, BMP or TIFF; required)")
    p.add_argument("--dst", required=True,
                   help="folder for the class-id PNGs, same relative names (required)")
    source = p.add_mutually_exclusive_group(required=True)
    source.add_argument("--palette",
                        help="palette file: one 'R G B [name]' line per class, in class-id "
                             "order (this or --config is required)")
    source.add_argument("--config",
                        help="take train_dataset.palette and ignore_index from this config "
                             "(this or --palette is required)")
    p.add_argument("--ignore_color", nargs=3, type=int, action="append", default=[],
                   metavar=("R", "G", "B"),
                   help="a void colour, written as --ignore_index (repeatable; default: none)")
    p.add_argument("--ignore_index", type=int, default=None,
                   help="value of void pixels (default: the config's ignore_index, else 255)")
    p.add_argument("--unknown_to_ignore", action="store_true",
                   help="write colours not in the palette as --ignore_index instead of failing")
    p.add_argument("--suffix", default="",
                   help="ending of the colour masks' names to drop, e.g. _rgb (default: none)")
    p.add_argument("--no_recursive", action="store_true",
                   help="only --src itself, not sub-folders")
    p.add_argument("--overwrite", action="store_true",
                   help="replace output files that already exist")
    p.add_argument("--num_threads", type=int, default=4, help="files converted at once")
    add_debug_arg(p)
    return p.parse_args(argv)


def palette_from_config(path: str) -> Tuple[List[Tuple[int, int, int]], Optional[int]]:
    """(palette, ignore_index) of the config's train_dataset (val_dataset if it has none)."""
    from paddleseg.cvlibs import Config, manager
    from paddleseg.datasets.color_masks import check_palette
    from paddleseg.datasets.facts import dataset_facts

    cfg = Config(path)
    for key in ("train_dataset", "val_dataset"):
        section = cfg.dic.get(key) or {}
        # a dataset class's own palette (e.g. Cityscapes) counts as much as a `palette:` key
        dataset_cls = manager.DATASETS.components_dict.get(section.get("type"))
        facts = dataset_facts(dataset_cls, section)
        if facts.palette is not None:
            try:
                palette = check_palette(facts.palette, f"`{key}.palette` in {path}")
            except ValueError as e:
                raise UsageError(str(e)) from None
            return palette, facts.ignore_index
    raise UsageError(f"{path} has no `train_dataset.palette` (one [R, G, B] per class); add it, "
                     f"or pass --palette FILE")


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Command-line entry point; returns the number of masks written."""
    args = parse_args(argv)
    from paddleseg.datasets.color_masks import (ColorToClass, convert_folder, plan_outputs,
                                                read_palette_file)

    if not os.path.isdir(args.src):
        raise UsageError(f"--src {args.src} is not a folder")
    if args.palette:
        palette, config_ignore = read_palette_file(args.palette), None
    else:
        palette, config_ignore = palette_from_config(args.config)
    ignore_index = next(v for v in (args.ignore_index, config_ignore, 255) if v is not None)
    try:
        mapper = ColorToClass(palette, args.ignore_color, ignore_index, args.unknown_to_ignore)
    except ValueError as e:
        raise UsageError(str(e)) from None
    jobs = plan_outputs(args.src, args.dst, args.suffix, not args.no_recursive, args.overwrite)
    count = convert_folder(jobs, mapper, args.num_threads)
    print(f"converted {count} colour masks from {args.src} to class ids in {args.dst} "
          f"({len(palette)} classes, void = {ignore_index})")
    return count


if __name__ == "__main__":
    run_cli(main)
