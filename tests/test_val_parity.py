"""val.py on a checkpoint trained by PaddleSeg 2.8 gives PaddleSeg's own evaluation figures.

The reference comes from ``fixtures/make_val_parity_fixture.py`` (run in a PaddleSeg 2.8 venv): an
ENCNet-ResNet18_vd (OS16, num_codes 8, mid_channels 32, lateral, SE-loss, 19 classes) trained by PaddleSeg
on generated Cityscapes-layout data, then scored by ``paddleseg.core.evaluate`` on 4 generated val images
whole-image, with horizontal flip, and by sliding window. This file never imports PaddleSeg.

Fixtures: ``paddleseg_val_parity_data.zip`` holds the exact val files PaddleSeg read;
``paddleseg_encnet_r18_val.pdparams`` is the checkpoint PaddleSeg saved, less the backbone's convolution
kernels (~44 MB), which were fixed to ``synthetic_weights`` values during training and are added back
here from the names/shapes recorded in ``paddleseg_val_parity.json``.

PaddleSeg 2.8's ``aug_inference`` (``--aug_eval``) averages the raw logits of the passes and takes the
argmax; it applies no softmax. The flip case only matches if val.py fuses passes the same way by default.
"""
import hashlib
import json
import os
import zipfile

import paddle
import pytest

import val as val_cli

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
FIXTURES = os.path.join(HERE, "fixtures")
from fixtures.synthetic_weights import synthetic_state  # noqa: E402

REFERENCE = os.path.join(FIXTURES, "paddleseg_val_parity.json")
PDPARAMS = os.path.join(FIXTURES, "paddleseg_encnet_r18_val.pdparams")
DATA_ZIP = os.path.join(FIXTURES, "paddleseg_val_parity_data.zip")
QUICKSTART = os.path.join(REPO, "configs", "quickstart", "encnet_resnet18_synthetic.yml")

MIOU_TOL = 1e-4  # only float summation order may differ
FLAGS = {
    "whole": [],
    "flip": ["--aug_eval", "--flip_horizontal"],
    "slide": ["--is_slide", "--crop_size", "128", "128", "--stride", "96", "96"],
}


def _sha256(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    with open(REFERENCE) as f:
        ref = json.load(f)
    tmp = tmp_path_factory.mktemp("val_parity")
    assert _sha256(DATA_ZIP) == ref["val_data"]["sha256"], "val data zip does not belong to the reference JSON"
    assert _sha256(PDPARAMS) == ref["checkpoint"]["sha256"], "checkpoint does not belong to the reference JSON"

    data_root = tmp / "data"
    with zipfile.ZipFile(DATA_ZIP) as zf:
        zf.extractall(data_root)

    # PaddleSeg's checkpoint plus the synthetic backbone kernels it was trained with = the whole model.
    state = paddle.load(PDPARAMS)
    synthetic = ref["checkpoint"]["synthetic_tensors"]
    assert not set(state) & set(synthetic)
    state.update({k: paddle.to_tensor(v) for k, v in
                  synthetic_state(synthetic.items(), seed=ref["training"]["synthetic_weights_seed"]).items()})
    model_path = tmp / "model.pdparams"
    paddle.save(state, str(model_path))

    m = ref["model"]
    cfg = tmp / "encnet_r18_val_parity.yml"
    cfg.write_text(
        f"_base_: '{QUICKSTART}'\n"
        f"train_dataset:\n  dataset_root: '{data_root}'\n"
        f"val_dataset:\n  type: Cityscapes\n  dataset_root: '{data_root}'\n  mode: val\n"
        f"  transforms:\n    - type: Normalize\n"
        f"model:\n  type: ENCNet\n  num_classes: {m['num_classes']}\n"
        f"  backbone:\n    type: {m['backbone']}\n    output_stride: {m['output_stride']}\n    pretrained: null\n"
        f"  num_codes: {m['num_codes']}\n  mid_channels: {m['mid_channels']}\n"
        f"  backbone_indices: {m['backbone_indices']}\n  use_se_loss: {m['use_se_loss']}\n"
        f"  add_lateral: {m['add_lateral']}\n")
    return {"ref": ref, "cfg": str(cfg), "model_path": str(model_path), "state": state, "tmp": tmp}


def test_checkpoint_covers_our_model(setup):
    """The assembled PaddleSeg checkpoint fills every tensor of our model, with the same shapes (val.py's
    loader tolerates partial matches, so a silent gap would otherwise only show as a lower mIoU)."""
    from paddleseg.cvlibs import Config, SegBuilder

    ours = SegBuilder(Config(setup["cfg"])).model.state_dict()
    theirs = setup["state"]
    assert set(ours) == set(theirs), (sorted(set(ours) - set(theirs))[:5], sorted(set(theirs) - set(ours))[:5])
    bad = [k for k in ours if list(ours[k].shape) != list(theirs[k].shape)]
    assert not bad, bad[:5]


@pytest.mark.parametrize("mode", ["whole", "flip", "slide"])
def test_val_matches_paddleseg(setup, mode):
    expected = setup["ref"]["results"][mode]
    assert expected["val_flags"] == FLAGS[mode]
    out = setup["tmp"] / f"metrics_{mode}.json"
    result = val_cli.main(["--config", setup["cfg"], "--model_path", setup["model_path"], "--device", "cpu",
                           "--save_metrics", str(out), *FLAGS[mode]])
    assert out.exists()
    got = {k: result[k] for k in ("mIoU", "Acc", "Kappa")}
    want = {k: expected[k] for k in ("mIoU", "Acc", "Kappa")}
    assert got["mIoU"] == pytest.approx(want["mIoU"], abs=MIOU_TOL), (mode, got, want)
    assert got["Acc"] == pytest.approx(want["Acc"], abs=MIOU_TOL), (mode, got, want)
    assert got["Kappa"] == pytest.approx(want["Kappa"], abs=MIOU_TOL), (mode, got, want)
    assert len(result["class_IoU"]) == len(expected["class_IoU"])
    # A pixel whose top two classes tie to float rounding may flip; allow a few such pixels per class.
    assert list(result["class_IoU"]) == pytest.approx(expected["class_IoU"], abs=1e-3), mode
