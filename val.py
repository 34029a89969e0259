"""Evaluate a trained model on the config's val_dataset.

    python val.py --config CFG --model_path output/best_model/model.pdparams
    python val.py --config CFG --model_path M --aug_eval --flip_horizontal
    python val.py --config CFG --model_path M --aug_eval --scales 0.75 1.0 1.25 1.5 1.75 --flip_horizontal
    python val.py --config CFG --model_path M --is_slide --crop_size 1024 512 --stride 768 384
    python val.py --config CFG --model_path M --engine openvino --precision bf16   # as deployed

The same options can sit in the config under ``test_config:`` (PaddleSeg's keys); flags win.
Writes metrics.json, confusion_matrix.csv and confusion_matrix.png beside the model (or in
--save_dir); any other inference variant names its files after itself, so results never overwrite
each other: metrics_flip.json + confusion_matrix_flip.csv/.png,
metrics_slide_1024x512_stride_768x384.json, metrics_ms_0.75-1-1.25_flip.json,
metrics_inference.json (--engine inference), metrics_openvino_int8.json (--engine openvino
--precision int8), ...
"""
from __future__ import annotations

import argparse
import json
import os
from typing import Tuple

from paddleseg.utils.cli import (HelpFormatter, add_common_args, add_out_arg, announce_preparing,
                                 run_cli)
from paddleseg.utils.infer_cli import add_infer_args


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=HelpFormatter)
    add_common_args(p)
    p.add_argument("--model_path", required=True, help="model.pdparams (ours or PaddleSeg's) or a directory holding one")
    p.add_argument("--batch_size", type=int, default=1,
                   help="images loaded together; those of equal size run as one batch (default 1)")
    add_out_arg(p, "write the metrics as JSON here, default metrics[_VARIANT].json beside the "
                   "model file; the confusion matrix CSV/PNG go to the same folder, named after it",
                "--save_metrics")
    p.add_argument("--save_dir", default=None,
                   help="write the results here instead of beside the model, named by variant "
                        "(default: the model's folder)")
    add_infer_args(p, "--aug_eval")
    return p.parse_args(argv)


def main(argv=None) -> dict:
    args = parse_args(argv)
    announce_preparing(f"evaluation of {args.model_path} on the val_dataset of {args.config}",
                       f"the data and the model ({args.engine} engine)")
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
    if args.out is not None and args.save_dir is not None:
        raise UsageError("give --out (the metrics file) or --save_dir (a folder for all results), "
                         "not both")
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
    out, prefix = result_paths(args, options.tag())
    # Each file is written to a temporary name and renamed: a full disk is an error naming the
    # file and the free space (exit 1), never a truncated metrics.json.
    with atomic_output(out, "w") as f:
        json.dump(result, f, indent=2)
    paths = save_confusion_report(result, os.path.dirname(out) or os.curdir, prefix)   # as --out reads
    logger.info(f"Results of this evaluation ({result['inference']}; engine {args.engine}) written "
                f"to {out}, {paths['csv']} and {paths['png']}")
    return result


def result_paths(args: argparse.Namespace, options_tag: str) -> Tuple[str, str]:
    """The metrics JSON path and the confusion-matrix file prefix of this evaluation.

    ``--out`` is the metrics file as given (the confusion matrix sits beside it, named after it:
    metrics_x.json -> confusion_matrix_x.*, other.json -> other_confusion_matrix.*). Otherwise the
    files go to ``--save_dir`` or the model's folder as ``metrics[_TAG].json`` and
    ``confusion_matrix[_TAG].*``, TAG naming the variant (inference options, engine, precision),
    so plain, flip, slide, engine and precision runs keep separate results.
    """
    if args.out is not None:
        stem = os.path.splitext(os.path.basename(args.out))[0]
        prefix = ("confusion_matrix" + stem[len("metrics"):] if stem.startswith("metrics")
                  else stem + "_confusion_matrix")
        return args.out, prefix
    # `paddle` and `inference` are one engine (Paddle Inference): one name for its results
    engine_tag = {"dygraph": "", "paddle": "inference"}.get(args.engine, args.engine)
    if args.precision != "fp32":   # bf16 / int8 results go beside fp32's, not over them
        engine_tag += f"_{args.precision}"
    tag = "_".join(part for part in (options_tag, engine_tag) if part)
    suffix = f"_{tag}" if tag else ""
    folder = args.save_dir
    if folder is None:
        model = args.model_path
        folder = model if os.path.isdir(model) else os.path.dirname(model)
    return os.path.join(folder or ".", f"metrics{suffix}.json"), f"confusion_matrix{suffix}"


if __name__ == "__main__":
    run_cli(main)
