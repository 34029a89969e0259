"""Train a segmentation model from a YAML config.

    python train.py --config configs/encnet/encnet_cityscapes_1024x512_80k.yml --do_eval --save_dir output
"""
from __future__ import annotations

import argparse
import shlex
import sys

from paddleseg.utils.cli import HelpFormatter, add_common_args, announce_preparing, run_cli


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=HelpFormatter)
    add_common_args(p)
    p.add_argument("--save_dir", default="output", help="directory for checkpoints and logs (default: output)")
    p.add_argument("--iters", type=int, default=None, help="total iterations (default: the config's iters)")
    p.add_argument("--batch_size", type=int, default=None, help="batch size per device (default: the config's batch_size)")
    p.add_argument("--learning_rate", type=float, default=None, help="base learning rate (default: the config's)")
    p.add_argument("--save_interval", type=int, default=1000, help="save (and evaluate) every N iterations")
    p.add_argument("--log_iters", type=int, default=10, help="log every N iterations")
    p.add_argument("--do_eval", action="store_true", help="evaluate at every save and keep best_model/")
    p.add_argument("--keep_checkpoint_max", type=int, default=5, help="iter_N checkpoints to keep")
    p.add_argument("--resume_model", default=None,
                   help="checkpoint directory (output/iter_N) to resume from, or 'auto' for the newest in --save_dir")
    p.add_argument("--seed", type=int, default=None,
                   help="seed for Paddle, NumPy, Python, the data order and every augmentation (default: random, "
                        "kept in checkpoints so a resumed run continues the same stream)")
    p.add_argument("--use_vdl", action="store_true",
                   help="also log to VisualDL in <save_dir>/vdl: losses, lr, ips, eval metrics, prediction images")
    p.add_argument("--precision", default="fp32", choices=["fp32", "fp16", "bf16"],
                   help="mixed precision on GPU (fp16 with dynamic loss scaling); CPU stays fp32")
    p.add_argument("--amp_level", default="O1", choices=["O1", "O2"],
                   help="O1: listed ops in low precision; O2: the whole model, fp32 master weights")
    p.add_argument("--accumulate_steps", type=int, default=1,
                   help="micro-batches per optimizer step (emulates a larger batch on fewer cards)")
    p.add_argument("--check_labels", type=int, default=100, metavar="N",
                   help="before training, decode N training image/label pairs spread over the list: label values in "
                        "range, label and image of the same size, no truncated file (default 100; 0: off, -1: all)")
    return p.parse_args(argv)


def resume_command(argv=None) -> str:
    """This command line with ``--resume_model auto`` in place of any ``--resume_model`` it had."""
    args = list(sys.argv[1:] if argv is None else argv)
    kept, skip = [], False
    for arg in args:
        if skip:
            skip = False
        elif arg == "--resume_model":
            skip = True
        elif not arg.startswith("--resume_model="):
            kept.append(arg)
    script = sys.argv[0] if argv is None and sys.argv[0].endswith(".py") else "train.py"
    return shlex.join(["python", script, *kept, "--resume_model", "auto"])


def main(argv=None) -> dict:
    args = parse_args(argv)
    announce_preparing(f"training from {args.config}", "data, model, optimizer")
    import paddle
    from paddleseg.cvlibs import Config, SegBuilder
    from paddleseg.utils import logger
    from paddleseg.core.infer import InferOptions
    from paddleseg.core.hooks import ConfigSnapshotHook
    from paddleseg.core.train import Trainer, TrainSettings
    from paddleseg.utils.runtime import setup_runtime

    setup_runtime(args.device, args.num_threads, args.seed)
    if paddle.distributed.get_world_size() > 1:
        paddle.distributed.init_parallel_env()
    cfg = Config(args.config, learning_rate=args.learning_rate, batch_size=args.batch_size, iters=args.iters,
                 opts=args.opts)
    builder = SegBuilder(cfg)
    train_dataset = builder.train_dataset
    if args.check_labels and hasattr(train_dataset, "check_labels"):
        limit = None if args.check_labels < 0 else args.check_labels
        logger.info(f"Checking {'all' if limit is None else f'up to {limit}'} training image/label "
                    f"pairs (--check_labels)")
        train_dataset.check_labels(max_files=limit)
    val_dataset = builder.val_dataset if args.do_eval else None
    # PaddleSeg evaluates during training with the config's test_config too.
    eval_options = InferOptions.from_config(cfg)
    model = builder.model
    optimizer = builder.optimizer
    losses = builder.loss
    logger.info(f"Config {args.config}: batch_size {cfg.batch_size}, iters {cfg.iters}, save_dir {args.save_dir}")
    settings = TrainSettings(save_dir=args.save_dir, iters=cfg.iters, batch_size=cfg.batch_size,
                             resume_model=args.resume_model, save_interval=args.save_interval,
                             log_iters=args.log_iters, num_workers=args.num_workers,
                             keep_checkpoint_max=args.keep_checkpoint_max, do_eval=args.do_eval,
                             use_vdl=args.use_vdl, eval_options=eval_options, seed=args.seed,
                             precision=args.precision, amp_level=args.amp_level,
                             accumulate_steps=args.accumulate_steps, resume_command=resume_command(argv),
                             to_static=cfg.to_static_training)
    trainer = Trainer(model, train_dataset, optimizer, losses, settings, val_dataset=val_dataset,
                      lr_scheduler=builder.lr_scheduler, hooks=[ConfigSnapshotHook(str(cfg))])
    return trainer.run()


if __name__ == "__main__":
    run_cli(main)
