"""INT8 post-training quantization of an exported model (OpenVINO NNCF), recorded in deploy.yaml.

    pip install -e ".[openvino]"
    python tools/export_onnx.py --config out/export/deploy.yaml --save_file out/export/model.onnx
    python tools/quantize.py --config out/export/deploy.yaml \\
        --calib_images data/cityscapes/leftImg8bit/val
    python tools/infer.py --config out/export/deploy.yaml --image_path IMG \\
        --backend openvino --precision int8

Reads the ONNX conversion recorded in deploy.yaml (``Deploy.onnx``), calibrates activation ranges on
--num_images images (a folder, an image or a .txt list; preprocessed with deploy.yaml's transforms,
as tools/infer.py does), writes the int8 OpenVINO IR (``model_int8.xml`` + ``.bin`` beside
deploy.yaml unless --out) and records it as ``Deploy.int8``. Why NNCF: paddleseg/deploy/quantize.py.
val.py --engine openvino --precision int8 measures the mIoU of the same recipe (NNCF on the
same conversion, calibrated on the first val images); it quantizes its own copy, not this file.
"""
from __future__ import annotations

import argparse
import os

from paddleseg.utils.cli import HelpFormatter, add_debug_arg, run_cli
from paddleseg.utils.errors import UsageError


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=HelpFormatter)
    p.add_argument("--config", "--deploy_config", dest="config", required=True,
                   help="deploy.yaml written by export.py, with Deploy.onnx (tools/export_onnx.py) "
                        "(required)")
    p.add_argument("--calib_images", required=True,
                   help="calibration images: a folder, an image or a .txt list (required)")
    p.add_argument("--num_images", type=int, default=32,
                   help="images used for calibration (default: 32)")
    p.add_argument("--out", default=None, metavar="PATH",
                   help="the int8 OpenVINO IR to write, .xml (default: model_int8.xml beside "
                        "deploy.yaml)")
    add_debug_arg(p)
    return p.parse_args(argv)


def main(argv=None) -> str:
    args = parse_args(argv)
    from paddleseg.deploy.backends import derived_file
    from paddleseg.deploy.deploy_config import DeployConfig, record_deploy_file
    from paddleseg.deploy.quantize import quantize_int8
    from paddleseg.transforms import Compose
    from paddleseg.transforms.io import read_image
    from paddleseg.utils.visualize import collect_images

    if args.num_images < 1:
        raise UsageError(f"--num_images must be >= 1, got {args.num_images}")
    deploy = DeployConfig(args.config)
    onnx_file = derived_file(deploy, "onnx", "openvino")
    transforms = Compose(deploy.build_transforms())
    images, _ = collect_images(args.calib_images)
    samples = [transforms({"img": read_image(path, channels=3, to_rgb=True)})["img"]
               for path in images[:args.num_images]]
    out = args.out or os.path.join(os.path.dirname(os.path.abspath(args.config)), "model_int8.xml")
    quantize_int8(onnx_file, samples, out)
    record_deploy_file(args.config, "int8", out)
    print(f"Wrote {out} (calibrated on {len(samples)} image(s)) and recorded it in {args.config} "
          f"(Deploy.int8)")
    return out


if __name__ == "__main__":
    run_cli(main)
