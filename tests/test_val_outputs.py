"""val.py's result files: each inference variant keeps its own set (issue 14 item 4); slide-window
edges (item 5): no crop size is a one-line usage error, a crop larger than the image is said
once."""
import argparse
import json
import os
import shutil
import subprocess
import sys

import paddle
import pytest

import val as val_cli
from paddleseg.cvlibs import ConfigError
from paddleseg.core import infer
from paddleseg.core.infer import InferOptions, slide_inference
from paddleseg.utils.errors import UsageError

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
QUICKSTART = os.path.join(REPO, "configs", "quickstart", "encnet_resnet18_synthetic.yml")


def _args(**kw) -> argparse.Namespace:
    base = dict(out=None, save_dir=None, engine="dygraph", precision="fp32",
                model_path="/m/iter_2/model.pdparams")
    base.update(kw)
    return argparse.Namespace(**base)


def test_variants_get_their_own_names():
    plain = InferOptions()
    slide = InferOptions(is_slide=True, crop_size=(512, 256), stride=(384, 192))
    aug = InferOptions(aug=True, scales=(0.75, 1.0, 1.25), flip_horizontal=True, fuse="prob")
    assert (plain.tag(), slide.tag()) == ("", "slide_512x256_stride_384x192")
    assert aug.tag() == "ms_0.75-1-1.25_flip_prob"
    assert InferOptions(aug=True, flip_vertical=True).tag() == "vflip"
    assert val_cli.result_paths(_args(), plain.tag()) == ("/m/iter_2/metrics.json",
                                                          "confusion_matrix")
    assert val_cli.result_paths(_args(engine="inference", save_dir="res"), slide.tag()) == (
        "res/metrics_slide_512x256_stride_384x192_inference.json",
        "confusion_matrix_slide_512x256_stride_384x192_inference")
    # each precision of an engine keeps its own results (int8 used to overwrite fp32's)
    assert val_cli.result_paths(_args(engine="openvino", precision="int8"), plain.tag()) == (
        "/m/iter_2/metrics_openvino_int8.json", "confusion_matrix_openvino_int8")
    assert val_cli.result_paths(_args(engine="openvino"), plain.tag())[0] == (
        "/m/iter_2/metrics_openvino.json")
    # `--engine paddle` is `--engine inference` under another name: the same results file
    assert val_cli.result_paths(_args(engine="paddle"), plain.tag())[0] == (
        "/m/iter_2/metrics_inference.json")
    # --out keeps its documented meaning; the confusion matrix beside it is named after it
    assert val_cli.result_paths(_args(out="o/metrics_a.json"), "flip") == ("o/metrics_a.json",
                                                                          "confusion_matrix_a")
    assert val_cli.result_paths(_args(out="o/run1.json"), "") == ("o/run1.json",
                                                                  "run1_confusion_matrix")


@pytest.mark.timeout(300)
def test_two_variants_leave_two_result_sets(encnet_checkpoint, synthetic_cityscapes, tmp_path,
                                            capsys):
    model_dir = tmp_path / "model"
    model_dir.mkdir()
    shutil.copy(os.path.join(encnet_checkpoint, "iter_2", "model.pdparams"), model_dir)
    common = ["--config", QUICKSTART, "--model_path", str(model_dir / "model.pdparams"),
              "--num_threads", "1", "--opts", f"train_dataset.dataset_root={synthetic_cityscapes}",
              f"val_dataset.dataset_root={synthetic_cityscapes}"]
    plain = val_cli.main(common)
    flip = val_cli.main(common[:4] + ["--aug_eval", "--flip_horizontal"] + common[4:])
    assert sorted(os.listdir(model_dir)) == [
        "confusion_matrix.csv", "confusion_matrix.png", "confusion_matrix_flip.csv",
        "confusion_matrix_flip.png", "metrics.json", "metrics_flip.json", "model.pdparams"]
    saved = json.load(open(model_dir / "metrics.json"))
    assert saved["inference"] == plain["inference"] == "whole image"
    assert "flips ['horizontal']" in json.load(open(model_dir / "metrics_flip.json"))["inference"]
    assert flip["inference"] != plain["inference"]
    out = capsys.readouterr().out
    flip_json, flip_csv = model_dir / "metrics_flip.json", model_dir / "confusion_matrix_flip.csv"
    assert f"written to {flip_json}, {flip_csv}" in out
    # --save_dir: the same names in another folder, the model's folder untouched
    val_cli.main(common[:4] + ["--save_dir", str(tmp_path / "res")] + common[4:])
    assert sorted(os.listdir(tmp_path / "res")) == ["confusion_matrix.csv", "confusion_matrix.png",
                                                    "metrics.json"]
    with pytest.raises(UsageError, match="--out .* or --save_dir"):
        val_cli.main(common[:4] + ["--save_dir", "x", "--out", "y.json"] + common[4:])


@pytest.mark.timeout(120)
def test_slide_without_crop_size_is_one_line_exit_2(tmp_path):
    with pytest.raises(ConfigError, match="--crop_size W H or set test_config.crop_size"):
        InferOptions(is_slide=True, stride=(4, 4))
    # checked before any model or data is loaded, so a missing model path does not matter
    run = subprocess.run([sys.executable, "val.py", "--config", QUICKSTART, "--model_path",
                          str(tmp_path / "none.pdparams"), "--is_slide", "--num_threads", "1"],
                         cwd=REPO, capture_output=True, text=True, timeout=100)
    assert run.returncode == 2, run.stderr[-2000:]
    assert "Traceback" not in run.stderr
    errors = [line for line in run.stderr.splitlines() if line.startswith("val.py: error:")]
    assert len(errors) == 1, run.stderr
    assert "needs crop_size" in errors[0] and "--crop_size W H" in errors[0]


class Pointwise(paddle.nn.Layer):
    def __init__(self):
        super().__init__()
        self.conv = paddle.nn.Conv2D(3, 2, 1)

    def forward(self, x):
        return [self.conv(x)]


def _notes(capsys):
    lines = capsys.readouterr().out.splitlines()
    return [line for line in lines if "larger than the image" in line]


def test_crop_larger_than_image_is_said_once(monkeypatch, capsys):
    monkeypatch.setattr(infer, "_CROPS_NOTED", set())
    model = Pointwise()
    img = paddle.randn([1, 3, 8, 12])
    for _ in range(3):
        out = slide_inference(model, img, crop_size=(16, 16), stride=(8, 8))
    assert list(out.shape) == [1, 2, 8, 12]
    slide_inference(model, paddle.randn([1, 3, 8, 32]), crop_size=(16, 16), stride=(8, 8))  # same
    notes = _notes(capsys)
    assert len(notes) == 1, notes
    assert "Slide crop 16x16 (WxH) is larger than the image (12x8) in width and height" in notes[0]
    assert "whole-image inference" in notes[0]
    slide_inference(model, paddle.randn([1, 3, 8, 32]), crop_size=(16, 12), stride=(8, 8))
    note = _notes(capsys)
    assert len(note) == 1 and "in height: " in note[0] and "one window across the height" in note[0]
