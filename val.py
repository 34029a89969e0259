"""Evaluate a trained model on the config's val_dataset.

    python val.py --config CFG --model_path output/best_model/model.pdparams
    python val.py --config CFG --model_path M --aug_eval --flip_horizontal
    python val.py --config CFG --model_path M --aug_eval --scales 0.75 1.0 1.25 1.5 1.75 --flip_horizontal
    python val.py --config CFG --model_path M --is_slide --crop_size 1024 512 --stride 768 384
    python val.py --config CFG --model_path M --engine openvino --precision bf16   # as deployed

The same options can sit in the config under ``test_config:`` (PaddleSeg's keys); flags win.
Writes metrics.json, confusion_matrix.csv and confusion_matrix.png beside the model.
"""
from __future__ import annotations

import argparse
import json
import os

from paddleseg.utils.cli import HelpFormatter, add_common_args, add_out_arg, run_cli
from paddleseg.utils.infer_cli import add_infer_args


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=HelpFormatter)
    add_common_args(p)
    p.add_argument("--model_path", required=True, help="model.pdparams (ours or PaddleSeg's) or a directory holding one")
    p.add_argument("--batch_size", type=int, default=1,
                   help="images loaded together; those of equal size run as one batch (default 1)")
    add_out_arg(p, "write the metrics as JSON here, default metrics.json beside the model file; the confusion "
                   "matrix CSV/PNG go to the same folder", "--save_metrics")
    add_infer_args(p, "--aug_eval")
    return p.parse_args(argv)


def main(argv=None) -> dict:
    args = parse_args(argv)
    import paddle.distributed as dist
    from paddleseg.cvlibs import Config, SegBuilder
    from paddleseg.core.infer import InferOptions
    from paddleseg.core.val import evaluate
    from paddleseg.deploy.engine import forward_engine
    from paddleseg.utils import logger
    from paddleseg.utils.errors import UsageError
    from paddleseg.utils.confusion_report import save_confusion_report
    from paddleseg.utils.fileio import atomic_output
    from paddleseg.utils.pretrained import load_trained_model
    from paddleseg.utils.runtime import setup_runtime

    if args.batch_size < 1:
        raise UsageError(f"--batch_size must be >= 1, got {args.batch_size}")
    setup_runtime(args.device, args.num_threads, seed=None)
    if dist.get_world_size() > 1:
        dist.init_parallel_env()
    cfg = Config(args.config, opts=args.opts)
    options = InferOptions.from_config(cfg, args)
    builder = SegBuilder(cfg)
    model = builder.model
    load_trained_model(model, args.model_path)
    model = forward_engine(model, args.engine, args.num_threads, args.precision,
                           calibration=builder.val_dataset)   # int8: calibrated on the val set
    result = evaluate(model, builder.val_dataset, num_workers=args.num_workers, options=options,
                      batch_size=args.batch_size)
    if dist.get_rank() != 0:
        return result
    out = args.out
    if out is None:
        model_dir = args.model_path if os.path.isdir(args.model_path) else os.path.dirname(args.model_path)
        out = os.path.join(model_dir or ".", "metrics.json")
    # Each file is written to a temporary name and renamed: a full disk is an error naming the
    # file and the free space (exit 1), never a truncated metrics.json.
    with atomic_output(out, "w") as f:
        json.dump(result, f, indent=2)
    paths = save_confusion_report(result, os.path.dirname(os.path.abspath(out)))
    logger.info(f"Metrics written to {out}; confusion matrix: {paths['csv']}, {paths['png']}")
    return result


if __name__ == "__main__":
    run_cli(main)
