"""Issue 12 (items 3, 4, 8, 11, 12): strict loading of trained models, prediction names, full disks,
messages that name the user's file, bad downloads. Tiny ResNet18_vd models on generated images."""
import errno
import json
import os
import shutil
import subprocess
import sys
import tarfile

import cv2
import numpy as np
import paddle
import paddle.nn as nn
import pytest

import export as export_cli
import val as val_cli
from paddleseg.cvlibs import Config, ConfigError, SegBuilder, manager
from paddleseg.cvlibs.lr_scheduler import build_lr_scheduler
from paddleseg.deploy.deploy_config import DeployConfig
from paddleseg.models import ENCNet
from paddleseg.models.backbones import ResNet18_vd
from paddleseg.transforms import Compose
from paddleseg.utils import checkpoint, fileio
from paddleseg.utils.cli import run_cli
from paddleseg.utils.download import DownloadError, cache_location
from paddleseg.utils.errors import CheckpointError, UsageError, UserError
from paddleseg.utils.pretrained import (ARCHITECTURE_SIGNATURES, load_entire_model, load_pretrained_model,
                                        load_trained_model)
from paddleseg.utils.visualize import prediction_names, save_prediction
from tools import infer as infer_cli
from tools import predict as predict_cli

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ENCNET = os.path.join(REPO, "configs", "quickstart", "encnet_resnet18_synthetic.yml")
ICNET = os.path.join(REPO, "configs", "icnet", "icnet_resnet18_vd_synthetic_quickstart.yml")
ENOSPC = OSError(errno.ENOSPC, "No space left on device")


def encnet_like_quickstart(num_classes):
    """The quickstart ENCNet built directly (the config's dataset fixes num_classes to 19)."""
    return ENCNet(num_classes=num_classes, backbone=ResNet18_vd(output_stride=16), num_codes=16,
                  mid_channels=64, backbone_indices=[1, 2, 3], use_se_loss=True, add_lateral=True)


@pytest.fixture(scope="module")
def weights(tmp_path_factory):
    """Checkpoints: the quickstart ENCNet, the quickstart ICNet, a 5-class ENCNet."""
    root = tmp_path_factory.mktemp("load_faults")
    paddle.seed(0)
    paths = {}
    for name, model in (("encnet", SegBuilder(Config(ENCNET)).model), ("icnet", SegBuilder(Config(ICNET)).model),
                        ("encnet5", encnet_like_quickstart(5))):
        paths[name] = str(root / name / "model.pdparams")
        os.makedirs(os.path.dirname(paths[name]))
        paddle.save(model.state_dict(), paths[name])
    return root, paths


def encnet_model():
    return SegBuilder(Config(ENCNET)).model


# ------------------------------------------------------------------ 3. strict loading of trained models
@pytest.mark.timeout(120)
def test_icnet_weights_into_the_encnet_config_name_both_and_the_counts(weights):
    model = encnet_model()
    before = {k: v.numpy().copy() for k, v in model.state_dict().items()}
    with pytest.raises(CheckpointError) as info:
        load_trained_model(model, weights[1]["icnet"])
    msg = str(info.value)
    assert "checkpoint is ICNet, config is ENCNet" in msg
    assert "115/165 tensors of the model match" in msg and "50 missing" in msg and "unexpected" in msg
    assert "bottleneck." in msg and "high_branch." in msg       # the first names of each kind
    assert weights[1]["icnet"] in msg and "\n" not in msg
    # nothing was copied into the model
    assert all(np.array_equal(v.numpy(), before[k]) for k, v in model.state_dict().items())


@pytest.mark.timeout(120)
def test_another_num_classes_is_named(weights):
    with pytest.raises(CheckpointError, match="checkpoint has 5 classes, the config 19; 159/165"):
        load_trained_model(encnet_model(), weights[1]["encnet5"])


@pytest.mark.timeout(120)
def test_matching_checkpoint_loads_strictly_and_pretrained_stays_lenient(weights, capsys):
    model = encnet_model()
    load_trained_model(model, os.path.dirname(weights[1]["encnet"]))      # a folder holding model.pdparams
    assert "Loaded all 165 tensors of ENCNet" in capsys.readouterr().out
    # pretrained: a whole model of another architecture or head initialises what fits, with its summary
    load_entire_model(encnet_model(), weights[1]["icnet"])
    assert "Loaded 115/165 tensors into ENCNet" in capsys.readouterr().err
    load_pretrained_model(encnet_model(), weights[1]["encnet5"])
    err = capsys.readouterr().err
    assert "Loaded 159/165 tensors into ENCNet" in err and "shape mismatch, skipped (6)" in err


@pytest.mark.timeout(60)
def test_missing_or_unreadable_weights_name_the_file(tmp_path):
    model = nn.Conv2D(3, 4, 1)
    with pytest.raises(CheckpointError, match="--model_path .*nope.pdparams: no such weights file"):
        load_trained_model(model, str(tmp_path / "nope.pdparams"))
    broken = tmp_path / "broken.pdparams"
    paddle.save(model.state_dict(), str(broken))
    broken.write_bytes(broken.read_bytes()[:40])
    with pytest.raises(CheckpointError, match=f"Cannot read the weights file {broken}"):
        load_trained_model(model, str(broken))
    with pytest.raises(CheckpointError, match="Cannot read the weights file"):
        load_pretrained_model(model, str(broken))      # lenient about names, not about broken files


@pytest.mark.timeout(60)
def test_resume_is_strict(tmp_path):
    class Head(nn.Layer):
        def __init__(self, classes):
            super().__init__()
            self.num_classes = classes       # what the class-count diagnosis compares with
            self.conv = nn.Conv2D(8, classes, 1)
    checkpoint.save_checkpoint(str(tmp_path / "iter_2"), Head(4), meta={"iter": 2})
    with pytest.raises(CheckpointError, match="--resume_model .*checkpoint has 4 classes, the config 5"):
        checkpoint.resume(str(tmp_path / "iter_2"), Head(5))


def test_every_model_of_the_package_has_an_architecture_signature():
    ours = {name for name, cls in manager.MODELS.components_dict.items()
            if cls.__module__.startswith("paddleseg.models")}   # other tests register stubs
    assert ours and ours <= set(ARCHITECTURE_SIGNATURES)


@pytest.mark.timeout(300)
def test_val_with_mismatched_weights_exits_1_with_one_line_and_no_metrics(weights, synthetic_cityscapes):
    root, paths = weights
    data = synthetic_cityscapes
    run = subprocess.run([sys.executable, "val.py", "--config", ENCNET, "--model_path", paths["icnet"],
                          "--num_threads", "1", "--opts", f"train_dataset.dataset_root={data}",
                          f"val_dataset.dataset_root={data}"],
                         cwd=REPO, capture_output=True, text=True, timeout=240)
    assert run.returncode == 1, run.stderr[-2000:]
    errors = [line for line in run.stderr.splitlines() if "error:" in line]
    assert len(errors) == 1 and errors[0].startswith("val.py: error: --model_path")
    assert "checkpoint is ICNet, config is ENCNet" in errors[0] and "Traceback" not in run.stderr
    assert not os.path.exists(os.path.join(os.path.dirname(paths["icnet"]), "metrics.json"))


# ------------------------------------------------------------------ 4. predictions never overwrite each other
def _write_images(folder, names, size=(48, 32)):
    rng = np.random.RandomState(0)
    for name in names:
        path = os.path.join(folder, name)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        cv2.imwrite(path, rng.randint(0, 255, (size[1], size[0], 3), dtype=np.uint8))


def _outputs(save_dir, kind="label_prediction"):
    top = os.path.join(save_dir, kind)
    return sorted(os.path.relpath(os.path.join(r, n), top) for r, _, names in os.walk(top) for n in names)


def test_prediction_names_keep_relative_paths_and_extensions(tmp_path):
    base = str(tmp_path)
    paths = [os.path.join(base, p) for p in ("frame.png", "frame.jpg", "a/img.png", "b/img.png", "c.bmp")]
    assert prediction_names(paths, base) == ["frame_png", "frame_jpg", os.path.join("a", "img"),
                                             os.path.join("b", "img"), "c"]
    with pytest.raises(UsageError, match="frame_jpg.png and .*frame.jpg would both be written as frame_jpg"):
        prediction_names([os.path.join(base, p) for p in ("frame_jpg.png", "frame.jpg", "frame.png")], base)
    with pytest.raises(UsageError, match="is listed twice"):
        prediction_names([paths[2], paths[2]], base)


@pytest.mark.timeout(300)
def test_predict_and_infer_give_one_output_per_input(weights, tmp_path):
    root, paths = weights
    folder = tmp_path / "folder"
    _write_images(str(folder), ["frame.png", "frame.jpg", "sub/frame.png"])
    listed = tmp_path / "listed"
    _write_images(str(listed), ["A/img.png", "B/img.png"])
    (listed / "lists").mkdir()
    (listed / "lists" / "val.txt").write_text("../A/img.png\n../B/img.png\n")
    common = ["--image_path"]

    def predict(image_path, save_dir):
        return predict_cli.main(["--config", ENCNET, "--model_path", paths["encnet"], *common, image_path,
                                 "--save_dir", str(save_dir), "--num_threads", "1"])
    assert len(predict(str(folder), tmp_path / "p1")) == 3
    assert _outputs(tmp_path / "p1") == ["frame_jpg.png", "frame_png.png", os.path.join("sub", "frame.png")]
    assert len(predict(str(listed / "lists" / "val.txt"), tmp_path / "p2")) == 2
    assert _outputs(tmp_path / "p2") == [os.path.join("A", "img.png"), os.path.join("B", "img.png")]

    export_dir = tmp_path / "export"
    export_cli.main(["--config", ENCNET, "--model_path", paths["encnet"], "--save_dir", str(export_dir),
                     "--verify_shapes", "32", "48", "--num_threads", "1"])
    for image_path, save_dir, want in ((str(folder), tmp_path / "i1", _outputs(tmp_path / "p1")),
                                       (str(listed / "lists" / "val.txt"), tmp_path / "i2", _outputs(tmp_path / "p2"))):
        result = infer_cli.main(["--config", str(export_dir / "deploy.yaml"), *common, image_path,
                                 "--save_dir", str(save_dir), "--cpu_threads", "1"])
        assert len(result["written"]) == len(want) and _outputs(save_dir) == want

    # 11(f): a truncated exported model names its files and says to re-export
    params = export_dir / "model.pdiparams"
    params.write_bytes(params.read_bytes()[:300])
    with pytest.raises(CheckpointError, match=r"cannot load the exported model .*model.json .*model.pdiparams.*"
                                              r"Cannot read tensor desc size.*export the model again"):
        infer_cli.main(["--config", str(export_dir / "deploy.yaml"), *common, str(folder),
                        "--save_dir", str(tmp_path / "i3")])


@pytest.mark.timeout(60)
def test_unavoidable_collision_is_an_error_before_anything_is_written(tmp_path):
    folder = tmp_path / "in"
    _write_images(str(folder), ["frame.png", "frame.jpg", "frame_jpg.png"])
    with pytest.raises(UsageError, match="would both be written as frame_jpg"):
        predict_cli.main(["--config", ENCNET, "--model_path", str(tmp_path / "unused.pdparams"),
                          "--image_path", str(folder), "--save_dir", str(tmp_path / "out")])
    assert not (tmp_path / "out").exists()


# ------------------------------------------------------------------ 8. a full disk
def test_full_disk_while_saving_a_prediction_names_the_file_and_leaves_nothing(tmp_path, monkeypatch):
    def no_space(fd):
        raise ENOSPC
    monkeypatch.setattr(fileio.os, "fsync", no_space)
    ids = np.zeros((4, 6), np.uint8)
    with pytest.raises(UserError) as info:
        save_prediction(str(tmp_path), "frame", ids, np.zeros((4, 6, 3), np.uint8), np.zeros((256, 3), np.uint8))
    msg = str(info.value)
    assert str(tmp_path / "label_prediction" / "frame.png") in msg
    assert "No space left on device" in msg and " free on " in msg
    assert os.listdir(tmp_path / "label_prediction") == []          # no temporary or partial file


@pytest.mark.timeout(180)
def test_full_disk_while_writing_val_metrics_is_an_error(weights, synthetic_cityscapes, tmp_path, monkeypatch,
                                                        capsys):
    root, paths = weights
    model_dir = tmp_path / "model"
    model_dir.mkdir()
    shutil.copy(paths["encnet"], model_dir / "model.pdparams")
    import paddleseg.core.val as core_val
    monkeypatch.setattr(core_val, "evaluate", lambda *a, **k: {"mIoU": 0.5, "class_names": ["a", "b"],
                                                               "confusion_matrix": [[3, 1], [0, 2]]})

    def partial_dump(obj, f, **kwargs):
        f.write('{"mIoU": 0.')
        raise ENOSPC
    monkeypatch.setattr(json, "dump", partial_dump)
    monkeypatch.delenv("PADDLESEG_DEBUG", raising=False)
    data = synthetic_cityscapes
    with pytest.raises(SystemExit) as e:
        run_cli(val_cli.main, ["--config", ENCNET, "--model_path", str(model_dir / "model.pdparams"),
                               "--num_threads", "1", "--opts", f"train_dataset.dataset_root={data}",
                               f"val_dataset.dataset_root={data}"])
    err = capsys.readouterr().err
    assert e.value.code == 1
    assert f"Could not write {model_dir / 'metrics.json'}: No space left on device" in err and " free on " in err
    assert sorted(os.listdir(model_dir)) == ["model.pdparams"]       # no metrics.json, whole or partial


# ------------------------------------------------------------------ 11. messages that name the user's file
def test_transform_without_type_says_so_with_the_registered_names(tmp_path):
    with pytest.raises(TypeError, match=r"transforms\[0\] has no `type:` .*registered transforms: .*Normalize"):
        Compose([{"crop_size": [8, 8]}])
    deploy = tmp_path / "deploy.yaml"
    (tmp_path / "model.json").write_text("{}")
    (tmp_path / "model.pdiparams").write_bytes(b"")
    deploy.write_text("Deploy:\n  model: model.json\n  params: model.pdiparams\n  transforms:\n"
                      "    - {mean: [0.5, 0.5, 0.5]}\n")
    with pytest.raises(ConfigError, match=r"deploy.yaml: Deploy.transforms\[0\] has no `type:`.*Normalize"):
        DeployConfig(str(deploy)).build_transforms()


def test_learning_rate_zero_names_learning_rate_and_the_file(tmp_path, capsys):
    cfg = tmp_path / "lr0.yml"
    cfg.write_text(f"_base_: '{ENCNET}'\nlr_scheduler:\n  learning_rate: 0\n")
    with pytest.raises(ConfigError, match=r"`lr_scheduler.learning_rate` is 0(\.0)? in .*lr0.yml, but the warmup ramps "
                                          r"from `warmup_start_lr` 0.001"):
        SegBuilder(Config(str(cfg))).lr_scheduler
    # without warmup it trains, with a warning
    build_lr_scheduler({"type": "PolynomialDecay", "learning_rate": 0, "end_lr": 0, "power": 0.9}, 10,
                       lambda key: str(cfg), str(cfg))
    err = capsys.readouterr().err
    assert "[WARNING]" in err and f"`lr_scheduler.learning_rate` is 0.0 in {cfg}" in err and "will not change" in err


@pytest.mark.timeout(120)
def test_unsafe_tag_in_deploy_yaml_is_one_line(tmp_path):
    deploy = tmp_path / "deploy.yaml"
    deploy.write_text('Deploy:\n  model: !!python/object/apply:os.system ["echo owned"]\n')
    with pytest.raises(ConfigError, match="Invalid YAML in config file .*deploy.yaml: could not determine a "
                                          "constructor .* \\(line 2, column 10\\)"):
        DeployConfig(str(deploy))
    run = subprocess.run([sys.executable, os.path.join("tools", "infer.py"), "--config", str(deploy),
                          "--image_path", str(tmp_path)], cwd=REPO, capture_output=True, text=True, timeout=100)
    assert run.returncode == 2 and "owned" not in run.stdout
    lines = [line for line in run.stderr.splitlines() if line.strip() and "ccache" not in line]
    assert len(lines) == 1 and lines[0].startswith("infer.py: error: Invalid YAML") and "deploy.yaml" in lines[0]


@pytest.mark.timeout(120)
def test_export_input_shape_with_the_wrong_channels_is_named(tmp_path):
    with pytest.raises(UsageError, match="--input_shape 1 1 64 64: C is 1, but the model .* takes 3-channel "
                                         "images; use --input_shape 1 3 64 64"):
        export_cli.main(["--config", ENCNET, "--save_dir", str(tmp_path), "--input_shape", "1", "1", "64", "64",
                         "--num_threads", "1"])
    assert not os.listdir(tmp_path)


# ------------------------------------------------------------------ 12. bad downloads do not stay cached
@pytest.fixture
def cache_home(tmp_path, monkeypatch):
    home = tmp_path / "home"
    monkeypatch.setenv("PADDLESEG_HOME", str(home))
    return home


def test_html_page_is_refused_and_not_cached(tmp_path, cache_home):
    served = tmp_path / "served" / "encnet_x" / "model.pdparams"
    served.parent.mkdir(parents=True)
    served.write_text("<!DOCTYPE html><html><body>Sign in to continue</body></html>")
    url = served.as_uri()
    with pytest.raises(DownloadError) as info:
        load_pretrained_model(nn.Conv2D(3, 4, 1), url)
    cache_dir, name = cache_location(url)
    msg = str(info.value)
    assert url in msg and os.path.join(cache_dir, name) in msg and "not weights" in msg
    assert not os.path.exists(os.path.join(cache_dir, name))


def test_unreadable_download_is_removed_from_the_cache(tmp_path, cache_home):
    served = tmp_path / "served" / "tiny" / "model.pdparams"
    served.parent.mkdir(parents=True)
    model = nn.Conv2D(3, 4, 1)
    paddle.save(model.state_dict(), str(served))
    good = served.read_bytes()
    served.write_bytes(good[:len(good) // 2])            # truncated in transit: looks like a pickle
    url = served.as_uri()
    cached = os.path.join(*cache_location(url))
    with pytest.raises(DownloadError) as info:
        load_pretrained_model(nn.Conv2D(3, 4, 1), url)
    msg = str(info.value)
    assert url in msg and cached in msg and "removed from the cache" in msg and "run again" in msg
    assert not os.path.exists(cached)
    served.write_bytes(good)                               # the next run downloads it anew
    fresh = nn.Conv2D(3, 4, 1)
    load_pretrained_model(fresh, url)
    np.testing.assert_array_equal(fresh.weight.numpy(), model.weight.numpy())


def test_truncated_archive_is_a_download_error(tmp_path, cache_home):
    weights = tmp_path / "inner" / "model.pdparams"
    weights.parent.mkdir()
    paddle.save(nn.Conv2D(3, 64, 3).state_dict(), str(weights))
    archive = tmp_path / "resnet_tiny.tar.gz"
    with tarfile.open(archive, "w:gz") as tf:
        tf.add(weights, "inner/model.pdparams")
    archive.write_bytes(archive.read_bytes()[:200])
    with pytest.raises(DownloadError, match="Could not unpack .*resnet_tiny.tar.gz"):
        load_pretrained_model(nn.Conv2D(3, 4, 1), archive.as_uri())
    assert not os.path.exists(cache_location(archive.as_uri())[0])
