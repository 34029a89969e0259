"""Export a trained model to a static inference model plus deploy.yaml.

    python export.py --config CFG --model_path output/best_model/model.pdparams --save_dir output/export
    python export.py ... --output_op softmax|none|argmax --input_shape 1 3 1024 2048

Writes model.json + model.pdiparams (PaddlePaddle 3.x PIR format) and deploy.yaml (PaddleSeg's
format: model files, val transforms, output op and dtype, input shape). The saved model is then
loaded back and compared with the dynamic model on random inputs; if they disagree, the command
fails and deploy.yaml is not written.
"""
from __future__ import annotations

import argparse

from paddleseg.utils.cli import HelpFormatter, add_common_args, announce_preparing, run_cli


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=HelpFormatter)
    add_common_args(p, workers=False)  # export loads no dataset
    p.add_argument("--model_path", default=None,
                   help="model.pdparams (or a folder holding one); without it the config's pretrained weights")
    p.add_argument("--save_dir", default="output/export", help="where the static model and deploy.yaml go")
    p.add_argument("--output_op", default="argmax", choices=["argmax", "softmax", "none"],
                   help="appended to the model: class ids (int32), probabilities or raw logits")
    p.add_argument("--input_shape", type=int, nargs=4, default=None, metavar=("N", "C", "H", "W"),
                   help="fix the input shape (default: dynamic batch, height and width)")
    p.add_argument("--verify_shapes", type=int, nargs=2, action="append", default=None, metavar=("H", "W"),
                   help="input sizes for the static-vs-dynamic check (default: two sizes from the "
                        "input shape, one odd)")
    p.add_argument("--skip_verify", action="store_true", help="do not compare the exported model (not advised)")
    return p.parse_args(argv)


def main(argv=None) -> dict:
    args = parse_args(argv)
    announce_preparing(f"export of {args.model_path or 'the pretrained weights'} ({args.config}) to "
                       f"{args.save_dir}", "the model, the static graph and its check")
    from paddleseg.cvlibs import Config, SegBuilder
    from paddleseg.datasets import dataset_facts
    from paddleseg.deploy.deploy_config import write_deploy_yaml
    from paddleseg.deploy.exporter import export_static, input_channels, verify_static
    from paddleseg.utils import logger
    from paddleseg.utils.errors import UsageError, UserError
    from paddleseg.utils.pretrained import load_trained_model
    from paddleseg.utils.runtime import setup_runtime

    setup_runtime(args.device, args.num_threads, seed=None)
    cfg = Config(args.config, opts=args.opts)
    builder = SegBuilder(cfg)
    model = builder.model
    if args.model_path:
        load_trained_model(model, args.model_path)
    model.eval()
    channels = input_channels(model)
    if args.input_shape and args.input_shape[1] != channels:
        raise UsageError(f"--input_shape {' '.join(map(str, args.input_shape))}: C is {args.input_shape[1]}, but "
                         f"the model of {args.config} takes {channels}-channel images; use --input_shape "
                         f"{args.input_shape[0]} {channels} {args.input_shape[2]} {args.input_shape[3]}")
    files = export_static(model, args.save_dir, args.output_op, args.input_shape)
    logger.info(f"Saved the static model: {files['model']}, {files['params']}")

    report = []
    if not args.skip_verify:
        if args.input_shape:
            shapes = [list(args.input_shape)]
        else:
            sizes = args.verify_shapes or [[256, 512], [193, 321]]
            shapes = [[1, channels, h, w] for h, w in sizes]
        try:
            report = verify_static(model, args.save_dir, args.output_op, shapes)
        except RuntimeError as e:
            raise UserError(f"Export check FAILED: {e}. deploy.yaml was not written; the static model in "
                            f"{args.save_dir} must not be deployed.") from e
        logger.info(f"Export check passed: static == dynamic on {[r['shape'] for r in report]}")

    val_cfg = cfg.dic.get("val_dataset") or {}
    facts = dataset_facts(builder.val_dataset_class if val_cfg else None)
    path = write_deploy_yaml(args.save_dir, files["model"], files["params"], val_cfg.get("transforms") or [],
                             args.output_op, args.input_shape or [None, channels, None, None],
                             palette=facts.palette, class_names=facts.class_names)
    logger.info(f"Wrote {path}")
    return {"files": files, "deploy_yaml": path, "verify": report}


if __name__ == "__main__":
    run_cli(main)
