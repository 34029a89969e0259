"""Inference backends (paddleseg/deploy/backends.py): tools/infer.py --backend / --precision and
val.py --engine onnxruntime|openvino give Paddle's masks; bf16 / int8 agree; refusals are one line.

The runtimes are optional extras: tests needing one skip (pytest.importorskip) when it is missing.
"""
import importlib.util
import json
import os
import sys

import cv2
import numpy as np
import pytest

import export as export_cli
from paddleseg.deploy import backends
from paddleseg.deploy.deploy_config import DeployConfig, record_onnx
from paddleseg.utils.errors import CheckpointError, UsageError, UserError
from tools import infer as infer_cli

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
QUICKSTART = os.path.join(REPO, "configs", "quickstart", "encnet_resnet18_synthetic.yml")
HAS_BF16 = backends.cpu_has_bf16()
# int8 on a 2-iteration model calibrated on its 3 val images: near-ties everywhere (measured
# 90.9%; bf16 99+%). The mIoU check (test_val_engine_int8...) is the accuracy criterion.
INT8_AGREEMENT = 0.8
NEEDS_BF16 = pytest.mark.skipif(not HAS_BF16,
                                reason="the CPU has no native bf16 (avx512_bf16 / amx_bf16)")


def _needs(*modules):
    for module in modules:
        hint = backends.INSTALL_HINTS.get(module, module)
        pytest.importorskip(module, reason=f"optional extra: {hint}")


@pytest.fixture(scope="module")
def deployed(encnet_checkpoint, tmp_path_factory):
    """The 2-iteration quickstart ENCNet exported (argmax, dynamic shapes); ONNX recorded when
    paddle2onnx is installed (its conversion check skipped: the tests below compare masks)."""
    root = tmp_path_factory.mktemp("deployed")
    model_path = os.path.join(encnet_checkpoint, "iter_2", "model.pdparams")
    out = export_cli.main(["--config", QUICKSTART, "--model_path", model_path, "--save_dir",
                           str(root / "export"), "--skip_verify", "--num_threads", "1"])
    if importlib.util.find_spec("paddle2onnx") is not None:
        from tools import export_onnx
        export_onnx.main(["--config", out["deploy_yaml"], "--save_file",
                          str(root / "export" / "model.onnx"), "--skip_check"])
    return out["deploy_yaml"], model_path


def _masks(deploy_yaml, images, save_dir, *flags):
    """tools/infer.py's label masks (file name -> array) with ``flags``."""
    written = infer_cli.main(["--config", deploy_yaml, "--image_path", images, "--save_dir",
                              str(save_dir), "--num_threads", "1", "--device", "cpu", *flags])
    assert written["written"]
    return {os.path.basename(p): cv2.imread(p, cv2.IMREAD_UNCHANGED) for p in written["written"]}


def _agreement(got, want):
    return float(np.mean([np.mean(got[name] == want[name]) for name in want]))


def _val(checkpoint, data, out, *flags):
    """val.py's result for the 2-iteration model on ``data`` with ``flags``."""
    import val as val_cli
    return val_cli.main(["--config", QUICKSTART, "--model_path",
                         os.path.join(checkpoint, "iter_2", "model.pdparams"), "--num_threads", "1",
                         "--save_metrics", str(out), *flags, "--opts",
                         f"val_dataset.dataset_root={data}", f"train_dataset.dataset_root={data}"])


@pytest.fixture(scope="module")
def paddle_masks(deployed, synthetic_cityscapes, tmp_path_factory):
    images = os.path.join(synthetic_cityscapes, "leftImg8bit", "val")
    return images, _masks(deployed[0], images, tmp_path_factory.mktemp("paddle_fp32"))


@pytest.mark.parametrize("backend", ["onnxruntime", "openvino"])
def test_fp32_backends_write_paddles_masks(backend, deployed, paddle_masks, tmp_path):
    _needs("paddle2onnx", backend)
    images, want = paddle_masks
    got = _masks(deployed[0], images, tmp_path, "--backend", backend, "--benchmark",
                 "--repeats", "2", "--out", str(tmp_path / "bench.json"))
    assert sorted(got) == sorted(want)
    # Equal masks up to float rounding: a 2-iteration model has near-ties almost everywhere, where
    # another summation order may flip a pixel; measured identical here (and identical confusion
    # matrices for the trained ICNet-R18 in docs/deploy_speed.md).
    assert _agreement(got, want) >= 0.999
    with open(tmp_path / "bench.json") as f:
        bench = json.load(f)
    assert bench["backend"] == backend and len(bench["inference_s"]) == 2  # same percentiles


@NEEDS_BF16
@pytest.mark.parametrize("backend", ["paddle", "openvino"])
def test_bf16_agrees_with_fp32(backend, deployed, paddle_masks, tmp_path):
    if backend != "paddle":
        _needs("paddle2onnx", backend)
    images, want = paddle_masks
    agree = _agreement(_masks(deployed[0], images, tmp_path, "--backend", backend,
                              "--precision", "bf16"), want)
    # A 2-iteration model has near-ties between classes almost everywhere, so bf16's ~3 significant
    # digits flip some argmaxes: measured 98.9-99.8% depending on the training stream. This catches
    # a bf16 path that is wrong; the mIoU test through val.py is the accuracy check.
    assert agree >= 0.97, f"{backend} bf16 agrees with Paddle fp32 on {agree:.2%} of the pixels"


@pytest.mark.timeout(300)
def test_val_engine_measures_the_deployed_model(encnet_checkpoint, synthetic_cityscapes, tmp_path):
    """val.py --engine openvino (bf16 where the CPU has it): one ONNX conversion keeps this short;
    the fp32 masks of every backend equal Paddle's in test_fp32_backends_write_paddles_masks."""
    _needs("paddle2onnx", "openvino")
    dygraph = _val(encnet_checkpoint, synthetic_cityscapes, tmp_path / "a.json")
    precision = "bf16" if HAS_BF16 else "fp32"
    deployed = _val(encnet_checkpoint, synthetic_cityscapes, tmp_path / "b.json",
                    "--engine", "openvino", "--precision", precision)
    diff = np.asarray(deployed["confusion_matrix"]) - np.asarray(dygraph["confusion_matrix"])
    moved = np.abs(diff).sum() / 2
    assert moved <= (0.01 if HAS_BF16 else 1e-3) * dygraph["num_pixels"]
    assert abs(deployed["mIoU"] - dygraph["mIoU"]) <= 0.01        # within 1.0 point


@pytest.mark.timeout(300)
def test_int8_quantized_model_runs_through_openvino(deployed, paddle_masks, tmp_path):
    _needs("paddle2onnx", "openvino", "nncf")
    from tools import quantize as quantize_cli
    images, want = paddle_masks
    with pytest.raises(UserError, match=r"records no int8 model \(Deploy.int8\).*"
                                        r"python tools/quantize.py --config"):
        _masks(deployed[0], images, tmp_path / "none", "--backend", "openvino",
               "--precision", "int8")
    out = quantize_cli.main(["--config", deployed[0], "--calib_images", images])
    assert out == os.path.join(os.path.dirname(deployed[0]), "model_int8.xml")
    assert DeployConfig(deployed[0]).int8_file == out          # recorded beside the fp32 model
    agree = _agreement(_masks(deployed[0], images, tmp_path / "int8", "--backend", "openvino",
                              "--precision", "int8"), want)
    assert agree >= INT8_AGREEMENT, f"int8 agrees with Paddle fp32 on {agree:.2%} of the pixels"


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_val_engine_int8_is_within_a_point_of_fp32(encnet_checkpoint, synthetic_cityscapes,
                                                    tmp_path):
    _needs("paddle2onnx", "openvino", "nncf")
    fp32 = _val(encnet_checkpoint, synthetic_cityscapes, tmp_path / "a.json")
    int8 = _val(encnet_checkpoint, synthetic_cityscapes, tmp_path / "b.json",
                "--engine", "openvino", "--precision", "int8")
    assert abs(int8["mIoU"] - fp32["mIoU"]) <= 0.01, (int8["mIoU"], fp32["mIoU"])


@pytest.mark.parametrize("backend,precision,cpu_bf16,pattern", [
    ("onnxruntime", "bf16", True, "ONNX Runtime's CPU provider has no bf16 kernels: use --backend "
                                  "openvino"),
    ("openvino", "bf16", False, r"needs a CPU with native bf16 \(avx512_bf16 or amx_bf16 .*fp32"),
    ("paddle", "bf16", False, "needs a CPU with native bf16"),
    ("openvino", "fp16", True, "fp16 is a GPU option of the paddle backend"),
    ("paddle", "int8", True, "int8 runs through OpenVINO on the CPU.*use --backend openvino"),
])
def test_precision_refusals(backend, precision, cpu_bf16, pattern, monkeypatch):
    monkeypatch.setattr(backends, "cpu_has_bf16", lambda: cpu_bf16)
    with pytest.raises(UsageError, match=pattern):
        backends.check_precision(backend, precision)
    backends.check_precision(backend, "fp32")
    with pytest.raises(UsageError, match="bf16 is a CPU option"):
        backends.check_precision("paddle", "bf16", "gpu")


def test_cpu_bf16_flags_are_read_from_cpuinfo(tmp_path):
    without, with_bf16 = tmp_path / "cpuinfo_vnni", tmp_path / "cpuinfo_bf16"   # cached per path
    without.write_text("processor\t: 0\nflags\t\t: fpu avx512f avx512_vnni\n")
    assert backends.cpu_has_bf16(str(without)) is False
    with_bf16.write_text("processor\t: 0\nflags\t\t: fpu avx512f avx512_bf16\n")
    assert backends.cpu_has_bf16(str(with_bf16)) is True
    assert backends.cpu_has_bf16(str(tmp_path / "missing")) is False


def test_onnx_backend_without_a_recorded_onnx_names_the_command(deployed):
    # the same model without Deploy.onnx: files are found relative to the yaml's folder
    export_dir = os.path.dirname(deployed[0])
    plain = os.path.join(export_dir, "plain_deploy.yaml")
    with open(deployed[0]) as f:
        lines = [line for line in f.read().splitlines() if not line.strip().startswith("onnx:")]
    with open(plain, "w") as f:
        f.write("\n".join(lines) + "\n")
    with pytest.raises(UserError, match=r"records no ONNX model \(Deploy.onnx\).*python "
                                        r"tools/export_onnx.py --config .*plain_deploy.yaml "
                                        r"--save_file"):
        backends.backend_for_deploy("openvino", DeployConfig(plain), 1)
    record_onnx(plain, os.path.join(export_dir, "gone.onnx"))
    assert DeployConfig(plain).dic["onnx"] == "gone.onnx"       # relative to the yaml
    with pytest.raises(UserError, match=r"Deploy.onnx points to .*gone.onnx, which does not exist; "
                                        r"make it again"):
        backends.backend_for_deploy("onnxruntime", DeployConfig(plain), 1)
    with pytest.raises(UsageError, match="--backend openvino runs on the CPU here: use --device cpu"):
        backends.backend_for_deploy("openvino", DeployConfig(deployed[0]), 1, device="gpu")


@pytest.mark.parametrize("backend", ["onnxruntime", "openvino"])
def test_a_corrupt_onnx_file_is_one_line(backend, deployed):
    _needs(backend)
    bad = os.path.join(os.path.dirname(deployed[0]), f"bad_{backend}.onnx")
    open(bad, "wb").close()
    with pytest.raises(CheckpointError, match=r"cannot load the ONNX model .*bad_.*\.onnx: "
                                              r".*tools/export_onnx.py"):
        backends.open_backend(backend, 1, onnx_file=bad)


@pytest.mark.parametrize("module,extra", [("openvino", "openvino"), ("nncf", "openvino")])
def test_a_missing_runtime_is_a_pip_hint(module, extra, monkeypatch):
    if module == "nncf":
        _needs("openvino")
    monkeypatch.setitem(sys.modules, module, None)        # import MODULE -> ImportError
    from paddleseg.deploy.quantize import quantize_int8
    want = (rf'^{module} is not installed: pip install {module} '
            rf'\(or pip install -e "\.\[{extra}\]"\)$')
    with pytest.raises(UserError, match=want):
        if module == "openvino":
            backends.open_backend("openvino", 1, onnx_file="m.onnx")
        else:
            quantize_int8("m.onnx", [np.zeros((3, 8, 8), "float32")], "m.xml")


def test_onnx_backends_refuse_another_shape_than_exported():
    backend = backends.Backend(1, "fp32")
    backend.fixed_shape = [1, 3, 192, 384]
    with pytest.raises(UsageError, match=r"exported for inputs \[1, 3, 192, 384\].*this batch is "
                                         r"\[1, 3, 64, 64\]"):
        backend(np.zeros((1, 3, 64, 64), "float32"))


def test_dygraph_engine_refuses_another_precision():
    import paddle
    from paddleseg.deploy.engine import forward_engine
    with pytest.raises(UsageError, match="--precision bf16 needs --engine paddle, onnxruntime or "
                                         "openvino"):
        forward_engine(paddle.nn.Conv2D(3, 2, 1), "dygraph", 1, "bf16")


def test_a_refused_engine_leaves_no_error_behind(monkeypatch):
    """A precision refused before the export: the half-built engine's clean-up has nothing to
    remove and says nothing (it raised AttributeError from __del__ before)."""
    import gc
    from paddleseg.deploy.engine import PredictorModel
    unraisable = []
    monkeypatch.setattr(sys, "unraisablehook", unraisable.append)
    monkeypatch.setattr(backends, "cpu_has_bf16", lambda: False)
    with pytest.raises(UsageError, match="needs a CPU with native bf16"):
        PredictorModel(None, backend="paddle", precision="bf16")
    gc.collect()
    assert not unraisable, [str(u.exc_value) for u in unraisable]


def test_a_converter_crash_names_the_known_cause(monkeypatch, tmp_path):
    import subprocess
    from paddleseg.deploy import onnx_convert
    monkeypatch.setattr(onnx_convert.shutil, "which", lambda _: sys.executable)
    monkeypatch.setattr(onnx_convert.subprocess, "run",
                        lambda cmd, **kw: subprocess.CompletedProcess(cmd, -6, "", "Aborted"))
    (tmp_path / "model.json").write_text("{}")     # a graph without adaptive pooling: not refused
    with pytest.raises(UserError, match=r"paddle2onnx failed \(exit -6; paddle2onnx 2.1 aborts on "
                                        r"adaptive pooling .*--input_shape\):\nAborted"):
        onnx_convert.convert_to_onnx(str(tmp_path / "model.json"), str(tmp_path / "model.pdiparams"),
                                     str(tmp_path / "m.onnx"))
