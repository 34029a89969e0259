"""Predict segmentation masks for images with a trained model.

    python tools/predict.py --config CFG --model_path M --image_path IMG_OR_DIR_OR_LIST --save_dir out
    python tools/predict.py ... --aug_pred --scales 0.75 1.0 1.25 --flip_horizontal
    python tools/predict.py ... --is_slide --crop_size 1024 512 --stride 768 384

IMG_OR_DIR_OR_LIST: one image, a folder (searched recursively) or a .txt file with one image path
per line (relative paths are relative to the list's folder; anything after the first
whitespace, e.g. a label path, is ignored). Outputs are named by the image's path relative to
the folder, or to the common parent folder of the list's images, without its extension; images
that differ only in their extension keep it in the name (frame.png, frame.jpg -> frame_png,
frame_jpg); two images that would still share a name are an error before anything is written.
Writes, under --save_dir, keeping sub-folders:
  pseudo_color_prediction/NAME.png  the mask in the dataset's colours (Cityscapes palette for Cityscapes)
  added_prediction/NAME.jpg         the mask blended over the image
  label_prediction/NAME.png         class ids (uint8), for scripts
Unreadable images are reported and skipped; the command then exits with status 1.
"""
from __future__ import annotations

import argparse
from typing import Any, Dict, List, Tuple

from paddleseg.utils.cli import HelpFormatter, add_common_args, announce_preparing, run_cli
from paddleseg.utils.errors import DataError, UserError
from paddleseg.utils.infer_cli import add_infer_args


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=HelpFormatter)
    add_common_args(p, workers=False)  # images are read one by one
    p.add_argument("--model_path", required=True, help="model.pdparams or a directory holding one")
    p.add_argument("--image_path", required=True, help="an image, a folder of images or a .txt list")
    p.add_argument("--save_dir", default="output/result", help="where the masks go (default output/result)")
    p.add_argument("--overlay_weight", type=float, default=0.6, help="image weight in the blended output")
    add_infer_args(p, "--aug_pred")
    return p.parse_args(argv)


def _build(args: argparse.Namespace) -> Tuple[Any, Any, Any, Any]:
    """The builder, the model (trained weights loaded, on the chosen engine), the val transforms
    and the inference options of the command line / ``test_config``."""
    from paddleseg.core.infer import InferOptions
    from paddleseg.cvlibs import Config, SegBuilder
    from paddleseg.deploy.engine import forward_engine
    from paddleseg.transforms import Compose
    from paddleseg.utils.pretrained import load_trained_model
    from paddleseg.utils.runtime import setup_runtime

    setup_runtime(args.device, args.num_threads, seed=None)
    cfg = Config(args.config, opts=args.opts)
    options = InferOptions.from_config(cfg, args, aug_key="aug_pred")
    builder = SegBuilder(cfg)
    model = builder.model
    load_trained_model(model, args.model_path)
    engine = forward_engine(model, args.engine, args.num_threads, args.precision)
    return builder, engine, Compose(builder.val_transforms), options


def _predict_images(args: argparse.Namespace, images: List[str], names: Dict[str, str]) -> Tuple[List[str], List[str]]:
    """Predict and save each of ``images`` as ``names[path]``: the pseudo-colour mask paths written
    and the images that could not be read."""
    import numpy as np
    import paddle

    from paddleseg.core.infer import inference
    from paddleseg.transforms.io import read_image
    from paddleseg.utils import logger
    from paddleseg.utils.progress import track
    from paddleseg.datasets import dataset_facts
    from paddleseg.utils.visualize import palette_for, save_prediction

    builder, model, transforms, options = _build(args)
    palette = None
    logger.info(f"Predicting {len(images)} image(s) ({options.describe()}) into {args.save_dir}")
    written, failed = [], []
    with paddle.no_grad():
        for path in track(images, "predict"):
            try:
                original = read_image(path, channels=3, to_rgb=True)   # decoded once, RGB float32
            except (OSError, ValueError, DataError) as e:
                logger.error(f"skipped {path}: {e}")
                failed.append(path)
                continue
            data = transforms({"img": original.copy()})
            scores = inference(model, paddle.to_tensor(data["img"][None]), trans_info=data["trans_info"],
                               ori_shape=original.shape[:2], options=options)
            if palette is None:
                palette = palette_for(dataset_facts(builder.val_dataset_class).palette, scores.shape[1])
            pred = paddle.argmax(scores, axis=1)[0].numpy().astype(np.uint8)
            paths = save_prediction(args.save_dir, names[path], pred, original, palette, args.overlay_weight)
            written.append(paths["pseudo_color_prediction"])
    return written, failed


def main(argv=None) -> List[str]:
    """Runs prediction; returns the pseudo-colour mask paths written."""
    args = parse_args(argv)
    announce_preparing(f"prediction of {args.image_path} with {args.model_path}",
                       f"the model ({args.engine} engine)")
    from paddleseg.utils import logger
    from paddleseg.utils.visualize import collect_images, prediction_names

    images, base = collect_images(args.image_path)   # a bad --image_path fails before the model is built
    written, failed = _predict_images(args, images, dict(zip(images, prediction_names(images, base))))
    logger.info(f"Wrote {len(written)} prediction(s) to {args.save_dir}")
    if failed:
        raise UserError(f"{len(failed)} image(s) could not be read (the others were predicted): {failed}")
    return written


if __name__ == "__main__":
    run_cli(main)
