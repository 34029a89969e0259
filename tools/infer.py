"""Run an exported model with Paddle Inference, ONNX Runtime or OpenVINO.

    python tools/infer.py --config out/export/deploy.yaml --image_path IMG_OR_DIR_OR_LIST --save_dir out/pred
        [--backend paddle|onnxruntime|openvino] [--precision fp32|bf16|int8|fp16]
        [--device cpu|gpu] [--use_trt] [--batch_size N] [--num_threads N] [--benchmark]

--backend onnxruntime / openvino run the ONNX file recorded in deploy.yaml (tools/export_onnx.py
makes it); every backend gets the same pre- and post-processing (paddleseg/deploy/backends.py).
--precision bf16: Paddle Inference (oneDNN) or OpenVINO on a CPU with native bf16; int8: OpenVINO
on the model tools/quantize.py wrote (``Deploy.int8``); fp16: Paddle Inference on GPU.

Writes, like tools/predict.py and with its names (the image's path relative to the folder or to the
list's common parent folder; see tools/predict.py), ``label_prediction/`` (class ids),
``pseudo_color_prediction/`` (the palette stored in deploy.yaml, else the VOC colour map) and
``added_prediction/`` (overlay).
Images of equal size run in batches of --batch_size. --benchmark prints preprocess / inference /
postprocess latency percentiles after warm-up runs.
"""
from __future__ import annotations

import argparse
import time
from typing import Dict, List

from paddleseg.utils.cli import (HelpFormatter, add_onednn_arg, add_out_arg, add_runtime_args,
                                 announce_preparing, parse_bool, run_cli)
from paddleseg.utils.errors import DataError, UsageError, UserError


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=HelpFormatter)
    p.add_argument("--config", "--deploy_config", dest="config", required=True,
                   help="deploy.yaml written by export.py (required; alias --deploy_config)")
    p.add_argument("--image_path", required=True, help="an image, a folder of images or a .txt list (required)")
    p.add_argument("--save_dir", default="output/infer", help="where the masks go (default: output/infer)")
    p.add_argument("--use_trt", type=parse_bool, nargs="?", const=True, default=False, metavar="True|False",
                   help="GPU: TensorRT subgraphs (default: False)")
    p.add_argument("--backend", default="paddle", choices=["paddle", "onnxruntime", "openvino"],
                   help="runtime: Paddle Inference (default), or ONNX Runtime / OpenVINO on the "
                        "ONNX file recorded in deploy.yaml (CPU)")
    p.add_argument("--precision", default="fp32", choices=["fp32", "bf16", "int8", "fp16"],
                   help="fp32 (default); bf16: paddle or openvino on a CPU with avx512_bf16 / "
                        "amx_bf16; int8: openvino on the model tools/quantize.py made; fp16: "
                        "paddle on GPU")
    p.add_argument("--trt_shape_range", type=int, nargs=4, default=None, metavar=("MIN_H", "MIN_W", "MAX_H", "MAX_W"),
                   help="TensorRT dynamic-shape range (default: the first image's size)")
    p.add_argument("--batch_size", type=int, default=1, help="images of equal size run together (default: 1)")
    p.add_argument("--benchmark", type=parse_bool, nargs="?", const=True, default=False, metavar="True|False",
                   help="time warm-up and repeated runs, print percentiles (default: False)")
    add_out_arg(p, "also write the benchmark figures as JSON here", "--save_log_path")
    p.add_argument("--model_name", default=None, help="a name for the log lines (TIPC passes one; default: none)")
    p.add_argument("--warmup", type=int, default=2, help="--benchmark: untimed runs first (default: 2)")
    p.add_argument("--repeats", type=int, default=10, help="--benchmark: timed runs (default: 10)")
    add_onednn_arg(p)
    add_runtime_args(p)
    return p.parse_args(argv)


def _percentiles(values: List[float]) -> str:
    import numpy as np
    ms = np.asarray(values) * 1000
    return f"p50 {np.percentile(ms, 50):.1f} ms, p90 {np.percentile(ms, 90):.1f} ms, p99 {np.percentile(ms, 99):.1f} ms"


def main(argv=None) -> Dict[str, object]:
    """Predict every image with the exported model; optionally benchmark it (see the module doc)."""
    args = parse_args(argv)
    runtime = {"paddle": "Paddle Inference", "onnxruntime": "ONNX Runtime",
               "openvino": "OpenVINO"}[args.backend]
    announce_preparing(f"inference of {args.image_path} with {args.config}",
                       f"the {runtime} predictor", importing="PaddlePaddle and OpenCV")
    from paddleseg.deploy.deploy_config import DeployConfig
    from paddleseg.transforms import Compose
    from paddleseg.utils import logger
    from paddleseg.utils.visualize import collect_images

    if args.batch_size < 1:
        raise UsageError(f"--batch_size must be >= 1, got {args.batch_size}")
    deploy = DeployConfig(args.config)
    if deploy.output_op not in ("argmax", "softmax", "none"):
        raise UsageError(f"{args.config}: unknown output_op {deploy.output_op!r} (argmax, softmax or none)")
    transforms = Compose(deploy.build_transforms())
    images, base = collect_images(args.image_path)
    predictor = _create_backend(args, deploy, lambda: _preprocess(transforms, images[0])[1]["img"])
    written, failed, times = _predict_all(args, deploy, predictor, transforms, images, base)
    logger.info(f"Wrote {len(written)} prediction(s) to {args.save_dir}")
    result: Dict[str, object] = {"written": written, "failed": failed}
    if args.benchmark and written:
        result["benchmark"] = _benchmark(args, predictor, _preprocess(transforms, images[0])[1]["img"], times)
    if failed:
        raise UserError(f"{len(failed)} image(s) could not be read (the others were predicted): {failed}")
    return result


def _preprocess(transforms, path: str):
    """(the original RGB image, the transformed sample) of the image at ``path``."""
    from paddleseg.transforms.io import read_image
    original = read_image(path, channels=3, to_rgb=True)
    return original, transforms({"img": original.copy()})


def _create_backend(args: argparse.Namespace, deploy, first_image):
    """The --backend on --device (paddleseg/deploy/backends.py); with TensorRT, its shape range
    (``first_image()`` gives the default: the first image's transformed size)."""
    from paddleseg.deploy.backends import backend_for_deploy
    from paddleseg.utils.runtime import default_num_threads, set_device
    if args.backend != "paddle" and args.use_trt:
        raise UsageError(f"--use_trt is a Paddle Inference option; --backend {args.backend} runs "
                         f"on the CPU")
    trt_range = None
    if args.use_trt:
        if args.trt_shape_range:
            h0, w0, h1, w1 = args.trt_shape_range
        else:
            first = first_image()
            h0 = h1 = first.shape[1]
            w0 = w1 = first.shape[2]
        trt_range = ([1, 3, h0, w0], [args.batch_size, 3, h1, w1])
    threads = args.num_threads or default_num_threads()
    if args.backend != "paddle":   # CPU runtimes: --device gpu is refused, auto means cpu
        device = "cpu" if args.device == "auto" else args.device
        return backend_for_deploy(args.backend, deploy, threads, args.precision, device=device)
    device = set_device(args.device)  # auto -> gpu or cpu; gpu:N -> card N
    return backend_for_deploy("paddle", deploy, threads, args.precision, device=device,
                              gpu_id=int(device.split(":")[1]) if ":" in device else 0,
                              use_onednn=args.onednn, use_trt=args.use_trt,
                              trt_min_shape=trt_range[0] if trt_range else None,
                              trt_max_shape=trt_range[1] if trt_range else None)


def _predict_all(args: argparse.Namespace, deploy, predictor, transforms, images: List[str], base: str):
    """Predict and save every image, batching equal sizes; returns (written, failed, per-batch times).

    An unreadable image is logged and skipped (listed in ``failed``); the others are still predicted.
    """
    from paddleseg.utils import logger
    from paddleseg.utils.progress import track
    from paddleseg.utils.visualize import palette_for, prediction_names
    names = dict(zip(images, prediction_names(images, base)))
    palette = palette_for(deploy.palette, len(deploy.palette or ()))
    times: Dict[str, List[float]] = {"preprocess": [], "inference": [], "postprocess": []}
    written, failed, group = [], [], []

    def flush():
        written.extend(_run_batch(args, deploy, predictor, group, names, palette, times))
        group.clear()

    for path in track(images, "infer"):
        start = time.perf_counter()
        try:
            original, data = _preprocess(transforms, path)
        except (OSError, ValueError, DataError) as e:
            logger.error(f"skipped {path}: {e}")
            failed.append(path)
            continue
        if group and group[0][2]["img"].shape != data["img"].shape:
            flush()
        if not group:
            times["preprocess"].append(0.0)
        times["preprocess"][-1] += time.perf_counter() - start
        group.append((path, original, data))
        if len(group) == args.batch_size:
            flush()
    if group:
        flush()
    return written, failed, times


def _run_batch(args: argparse.Namespace, deploy, predictor, group, names, palette, times) -> List[str]:
    """Run one batch of equally sized samples, save its masks; returns the label files written."""
    import numpy as np

    from paddleseg.utils.visualize import save_prediction
    start = time.perf_counter()
    batch = np.stack([data["img"] for _, _, data in group])
    times["preprocess"][-1] += time.perf_counter() - start
    start = time.perf_counter()
    out = predictor(batch)
    times["inference"].append(time.perf_counter() - start)
    start = time.perf_counter()
    preds = out if deploy.output_op == "argmax" else out.argmax(axis=1)
    written = []
    for (path, original, data), pred in zip(group, preds):
        pred = _restore(pred.astype(np.int32), data["trans_info"], original.shape[:2])
        written.append(save_prediction(args.save_dir, names[path], pred, original, palette)["label_prediction"])
    times["postprocess"].append(time.perf_counter() - start)
    return written


def _benchmark(args: argparse.Namespace, predictor, first, times: Dict[str, List[float]]) -> Dict[str, object]:
    """Time --repeats runs of a --batch_size batch of ``first`` after --warmup; log and maybe save them."""
    import numpy as np

    from paddleseg.utils import logger
    batch = np.repeat(first[None], args.batch_size, axis=0)
    for _ in range(args.warmup):
        predictor(batch)
    runs = []
    for _ in range(args.repeats):
        start = time.perf_counter()
        predictor(batch)
        runs.append(time.perf_counter() - start)
    bench = {"inference_s": runs, "preprocess_s": times["preprocess"], "postprocess_s": times["postprocess"]}
    if args.out and args.out != "null":
        import json
        from paddleseg.utils.fileio import atomic_output
        with atomic_output(args.out, "w") as f:
            json.dump({"model_name": args.model_name, "backend": args.backend,
                       "precision": args.precision, **bench}, f, indent=2)
    logger.info(f"[BENCHMARK] {args.model_name or ''} {args.backend} {args.precision} input "
                f"{list(batch.shape)}, {args.repeats} runs after {args.warmup} warm-up: "
                f"inference {_percentiles(runs)}; per batch during the pass: preprocess "
                f"{_percentiles(times['preprocess'])}, postprocess {_percentiles(times['postprocess'])}")
    return bench


def _restore(pred, trans_info, ori_shape):
    """Undo resize/padding records on a class-id map (nearest), then match the original size."""
    import cv2

    from paddleseg.core.infer import undo_steps
    for op, h, w in undo_steps(trans_info):
        if op == "resize":
            pred = cv2.resize(pred, (w, h), interpolation=cv2.INTER_NEAREST)
        else:
            pred = pred[:h, :w]
    if pred.shape[:2] != tuple(ori_shape):
        pred = cv2.resize(pred, (int(ori_shape[1]), int(ori_shape[0])), interpolation=cv2.INTER_NEAREST)
    return pred


if __name__ == "__main__":
    run_cli(main)
