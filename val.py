"""Evaluate a trained model on the config's val_dataset.

    python val.py --config configs/encnet/encnet_cityscapes_1024x512_80k.yml --model_path output/best_model/model.pdparams
"""
from __future__ import annotations

import argparse
import json
import os

from paddleseg.utils.cli import add_common_args


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_common_args(p)
    p.add_argument("--model_path", required=True, help="model.pdparams (ours or PaddleSeg's) or a directory holding one")
    p.add_argument("--save_metrics", default=None,
                   help="write the metrics as JSON here (default: metrics.json beside the model file)")
    return p.parse_args(argv)


def main(argv=None) -> dict:
    args = parse_args(argv)
    from paddleseg.cvlibs import Config, SegBuilder
    from paddleseg.core.val import evaluate
    from paddleseg.utils.pretrained import load_entire_model
    from paddleseg.utils.runtime import setup_runtime
    from paddleseg.utils import logger

    setup_runtime(args.device, args.num_threads, seed=None)
    cfg = Config(args.config, opts=args.opts)
    builder = SegBuilder(cfg)
    model = builder.model
    load_entire_model(model, args.model_path)
    result = evaluate(model, builder.val_dataset, num_workers=args.num_workers)
    out = args.save_metrics
    if out is None:
        model_dir = args.model_path if os.path.isdir(args.model_path) else os.path.dirname(args.model_path)
        out = os.path.join(model_dir or ".", "metrics.json")
    try:
        with open(out, "w") as f:
            json.dump(result, f, indent=2)
        logger.info(f"Metrics written to {out}")
    except OSError as e:
        logger.warning(f"could not write metrics to {out}: {e}")
    return result


if __name__ == "__main__":
    main()
