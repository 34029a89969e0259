"""export.py (dynamic and fixed shapes, output ops, checked), deploy.yaml, Paddle Inference via tools/infer.py,
ONNX (tools/export_onnx.py: its adaptive-pooling check runs without paddle2onnx; both models convert
at any size, ICNet's pyramid pooling through layers.adaptive_avg_pool2d)."""
import importlib.util
import json
import os
import subprocess
import sys

import cv2
import numpy as np
import paddle
import paddle.nn.functional as F
import pytest
from paddle.static import InputSpec

import export as export_cli
from paddleseg.cvlibs import Config, SegBuilder
from paddleseg.deploy.deploy_config import DeployConfig, write_deploy_yaml
from paddleseg.utils.errors import UsageError, UserError
from paddleseg.deploy.exporter import ExportWrapper, verify_static
from paddleseg.deploy.onnx_convert import has_adaptive_pooling
from paddleseg.deploy.predictor import create_predictor, graph_has_interpolate, run_predictor
from paddleseg.models.layers import adaptive_avg_pool2d
from tools import export_onnx as export_onnx_cli
from tools import infer as infer_cli
from tools import predict as predict_cli
from paddleseg.datasets.synthetic import generate

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CONFIGS = {"encnet": os.path.join(REPO, "configs", "quickstart", "encnet_resnet18_synthetic.yml"),
           "icnet": os.path.join(REPO, "configs", "icnet", "icnet_resnet18_vd_synthetic_quickstart.yml")}
HAS_ONNX = importlib.util.find_spec("paddle2onnx") is not None and importlib.util.find_spec("onnxruntime") is not None
NEEDS_ONNX = pytest.mark.skipif(not HAS_ONNX,
                                reason="ONNX export is an optional extra: pip install paddle2onnx onnxruntime")


def pir_op_shape(model_file, op_name):
    """The result shape of the first ``op_name`` op (e.g. "data", the input) in a PIR model.json."""
    with open(model_file) as f:
        ops = json.load(f)["program"]["regions"][0]["blocks"][0]["ops"]
    op = next(o for o in ops if o["#"].split(".")[-1] == op_name)
    return op["O"][0]["TT"]["D"][1]


@pytest.fixture(scope="module", params=sorted(CONFIGS))
def exported(request, tmp_path_factory):
    """A randomly initialised quickstart model, saved and exported with dynamic shapes (logits out)."""
    root = tmp_path_factory.mktemp(request.param)
    paddle.seed(0)
    model = SegBuilder(Config(CONFIGS[request.param])).model
    model_path = str(root / "model.pdparams")
    paddle.save(model.state_dict(), model_path)
    out = export_cli.main(["--config", CONFIGS[request.param], "--model_path", model_path, "--save_dir",
                           str(root / "export"), "--output_op", "none", "--num_threads", "2"])
    model.eval()
    return request.param, root, model, model_path, out


def test_static_equals_dynamic_on_two_sizes(exported):
    name, root, model, _, out = exported
    assert os.path.basename(out["files"]["model"]) == "model.json"   # PaddlePaddle 3.x PIR format
    assert [r["shape"] for r in out["verify"]] == [[1, 3, 256, 512], [1, 3, 193, 321]]
    static = paddle.jit.load(str(root / "export" / "model"))
    for shape in ([1, 3, 64, 96], [2, 3, 97, 131]):
        x = paddle.randn(shape)
        with paddle.no_grad():
            want = model(x)[0].numpy()
            got = static(x)
        got = (got[0] if isinstance(got, (list, tuple)) else got).numpy()
        assert got.shape == want.shape == (shape[0], 19) + tuple(shape[2:])
        np.testing.assert_allclose(got, want, atol=1e-4, rtol=1e-4)


def test_deploy_yaml_round_trip(exported):
    _, root, _, _, out = exported
    deploy = DeployConfig(out["deploy_yaml"])
    assert deploy.output_op == "none" and deploy.input_shape == [-1, 3, -1, -1]
    assert deploy.dic["output_dtype"] == "float32"
    assert os.path.samefile(deploy.model_file, out["files"]["model"])
    assert [type(t).__name__ for t in deploy.build_transforms()] == ["Normalize"]
    assert len(deploy.palette) == 19 and deploy.palette[0] == [128, 64, 128] and deploy.class_names[0] == "road"
    assert graph_has_interpolate(deploy.model_file)


def test_a_wrong_export_fails_the_check(exported):
    name, root, model, _, _ = exported
    paddle.seed(123)
    other = SegBuilder(Config(CONFIGS[name])).model      # different weights from the exported ones
    with pytest.raises(RuntimeError, match="differs|disagrees"):
        verify_static(other, str(root / "export"), "none", [[1, 3, 64, 64]])


def test_export_cli_fails_loudly_and_writes_no_deploy_yaml(exported, tmp_path, monkeypatch):
    name, _, _, model_path, _ = exported
    import paddleseg.deploy.exporter as exporter

    real_export = exporter.export_static

    def broken_export(model, save_dir, *args, **kwargs):
        # A conversion that went wrong: the saved graph computes something else than ``model``.
        paddle.seed(321)
        return real_export(SegBuilder(Config(CONFIGS[name])).model, save_dir, *args, **kwargs)
    monkeypatch.setattr(exporter, "export_static", broken_export)
    with pytest.raises(UserError, match="Export check FAILED"):
        export_cli.main(["--config", CONFIGS[name], "--model_path", model_path, "--save_dir", str(tmp_path),
                         "--output_op", "none", "--verify_shapes", "64", "64"])
    assert (tmp_path / "model.json").exists() and not (tmp_path / "deploy.yaml").exists()


def test_infer_writes_the_masks_predict_writes(exported, tmp_path):
    name, root, _, model_path, _ = exported
    data = tmp_path / "data"
    generate(str(data), num_train=1, num_val=3, size=(96, 64), seed=9)
    images = str(data / "leftImg8bit" / "val")
    export_dir = tmp_path / "argmax"
    export_cli.main(["--config", CONFIGS[name], "--model_path", model_path, "--save_dir", str(export_dir)])
    result = infer_cli.main(["--config", str(export_dir / "deploy.yaml"), "--image_path", images,
                             "--save_dir", str(tmp_path / "infer"), "--batch_size", "2", "--benchmark",
                             "--warmup", "1", "--repeats", "2"])
    predict_cli.main(["--config", CONFIGS[name], "--model_path", model_path, "--image_path", images,
                      "--save_dir", str(tmp_path / "predict")])
    assert len(result["written"]) == 3 and len(result["benchmark"]["inference_s"]) == 2
    for path in result["written"]:
        rel = os.path.relpath(path, tmp_path / "infer")
        mine = cv2.imread(path, cv2.IMREAD_UNCHANGED)
        theirs = cv2.imread(str(tmp_path / "predict" / rel), cv2.IMREAD_UNCHANGED)
        assert mine.shape == (64, 96)
        assert (mine == theirs).mean() > 0.999
        colour = cv2.imread(str(tmp_path / "infer" / rel.replace("label_prediction", "pseudo_color_prediction")))
        np.testing.assert_array_equal(colour, cv2.imread(str(tmp_path / "predict" / rel.replace(
            "label_prediction", "pseudo_color_prediction"))))


def test_cpu_predictor_without_onednn_matches(exported):
    _, root, model, _, out = exported
    x = np.random.RandomState(0).standard_normal((1, 3, 64, 96)).astype("float32")
    with paddle.no_grad():
        want = model(paddle.to_tensor(x))[0].numpy()
    for onednn in (True, False):
        predictor = create_predictor(out["files"]["model"], out["files"]["params"], cpu_threads=2, use_onednn=onednn)
        np.testing.assert_allclose(run_predictor(predictor, x)[0], want, atol=1e-3, rtol=1e-3)


def test_export_with_a_fixed_input_shape(exported, tmp_path):
    name, _, model, model_path, _ = exported
    out = export_cli.main(["--config", CONFIGS[name], "--model_path", model_path, "--save_dir", str(tmp_path),
                           "--output_op", "none", "--input_shape", "1", "3", "64", "96", "--num_threads", "2"])
    assert [r["shape"] for r in out["verify"]] == [[1, 3, 64, 96]]      # checked on the fixed shape only
    assert DeployConfig(out["deploy_yaml"]).input_shape == [1, 3, 64, 96]
    assert pir_op_shape(out["files"]["model"], "data") == [1, 3, 64, 96]
    x = np.random.RandomState(1).standard_normal((1, 3, 64, 96)).astype("float32")
    with paddle.no_grad():
        want = model(paddle.to_tensor(x))[0].numpy()
    got = run_predictor(create_predictor(out["files"]["model"], out["files"]["params"], cpu_threads=2,
                                         use_onednn=False), x)[0]
    np.testing.assert_allclose(got, want, atol=1e-3, rtol=1e-3)


def test_softmax_export_gives_probabilities_with_the_argmax_exports_classes(exported, tmp_path):
    name, _, model, model_path, _ = exported
    outs = {op: export_cli.main(["--config", CONFIGS[name], "--model_path", model_path, "--save_dir",
                                 str(tmp_path / op), "--output_op", op, "--verify_shapes", "64", "96",
                                 "--num_threads", "2"]) for op in ("softmax", "argmax")}
    deploy = DeployConfig(outs["softmax"]["deploy_yaml"])
    assert deploy.output_op == "softmax" and deploy.dic["output_dtype"] == "float32"
    assert DeployConfig(outs["argmax"]["deploy_yaml"]).dic["output_dtype"] == "int32"
    x = np.random.RandomState(2).standard_normal((2, 3, 48, 80)).astype("float32")
    got = {op: run_predictor(create_predictor(out["files"]["model"], out["files"]["params"], cpu_threads=2,
                                              use_onednn=False), x)[0] for op, out in outs.items()}
    probs, classes = got["softmax"], got["argmax"]
    assert probs.shape == (2, 19, 48, 80) and probs.dtype == np.float32
    assert classes.shape == (2, 48, 80) and classes.dtype == np.int32
    assert probs.min() >= 0 and probs.max() <= 1
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, atol=1e-5)
    with paddle.no_grad():
        want = F.softmax(model(paddle.to_tensor(x))[0], axis=1).numpy()
    np.testing.assert_allclose(probs, want, atol=1e-4)
    assert (probs.argmax(axis=1) == classes).mean() > 0.999


class _Pool(paddle.nn.Layer):
    def __init__(self, kind, size):
        super().__init__()
        self.kind, self.size = kind, size

    def forward(self, x):
        if self.kind == "avg":
            return F.adaptive_avg_pool2d(x, self.size)
        if self.kind == "max":
            return F.adaptive_max_pool2d(x, self.size)
        if self.kind == "matmul":                              # ours: two matmuls, no pool op
            return adaptive_avg_pool2d(x, self.size)
        return F.max_pool2d(x, 3, 2, 1)                       # ordinary pooling: adaptive = false


@pytest.mark.parametrize("kind, size, refused", [("plain", None, False), ("avg", 1, False), ("max", 1, False),
                                                 ("avg", 2, True), ("avg", [2, 1], True), ("max", 3, True),
                                                 ("avg", [None, 2], True), ("matmul", 3, False),
                                                 ("matmul", [2, 6], False)])
# These one-op models have no parameters, which Paddle's save warns about: expected here.
@pytest.mark.filterwarnings("ignore:no variable in your model:UserWarning")
def test_adaptive_pooling_detection_on_single_ops(kind, size, refused, tmp_path):
    static = paddle.jit.to_static(_Pool(kind, size), input_spec=[InputSpec([None, 3, None, None], "float32", "x")],
                                  full_graph=True)
    paddle.jit.save(static, str(tmp_path / "model"))
    assert has_adaptive_pooling(str(tmp_path / "model.json")) is refused
    if HAS_ONNX:        # the ground truth: paddle2onnx 2.1 aborts on exactly these (dynamic input shape)
        run = subprocess.run([os.path.join(os.path.dirname(sys.executable), "paddle2onnx"), "--model_dir",
                              str(tmp_path), "--model_filename", "model.json", "--params_filename",
                              "model.pdiparams", "--save_file", str(tmp_path / "m.onnx"), "--optimize_tool", "None"],
                             capture_output=True, text=True, timeout=120)
        assert (run.returncode != 0) is refused, (run.stdout + run.stderr)[-2000:]
        if kind == "matmul":    # exact in ONNX at sizes the bins do not divide, one dynamic graph
            import onnxruntime
            sess = onnxruntime.InferenceSession(str(tmp_path / "m.onnx"),
                                                providers=["CPUExecutionProvider"])
            for shape in ((1, 3, 7, 13), (2, 3, 17, 33), (1, 3, 2, 5)):
                x = np.random.RandomState(0).standard_normal(shape).astype("float32")
                want = F.adaptive_avg_pool2d(paddle.to_tensor(x), size).numpy()
                np.testing.assert_allclose(sess.run(None, {sess.get_inputs()[0].name: x})[0], want,
                                           rtol=1e-5, atol=1e-6)


def test_adaptive_pooling_detection_on_the_models(exported):
    # Every pool2d op has an "adaptive" attribute (false in ResNet's stem), so its mere presence means
    # nothing: ENCNet has no adaptive pooling, ICNet pools to 1, 2, 3 and 6 bins with matmuls.
    name, _, _, _, out = exported
    assert has_adaptive_pooling(out["files"]["model"]) is False
    assert has_adaptive_pooling(out["files"]["params"]) is False     # not PIR json: not inspected


def _fake_converter(monkeypatch):
    """paddle2onnx replaced by a stub that writes an empty file; returns its command lines."""
    calls = []

    def fake_run(cmd, **kwargs):
        calls.append(cmd)
        open(cmd[cmd.index("--save_file") + 1], "wb").close()
        return subprocess.CompletedProcess(cmd, 0, "", "")
    from paddleseg.deploy import onnx_convert
    monkeypatch.setattr(onnx_convert.shutil, "which", lambda _: sys.executable)
    monkeypatch.setattr(onnx_convert.subprocess, "run", fake_run)
    return calls


def test_export_onnx_converts_both_models_on_dynamic_shapes(exported, tmp_path, monkeypatch):
    # Runs without paddle2onnx (faked): ICNet is no longer refused on a dynamic shape.
    _, _, _, _, out = exported
    calls = _fake_converter(monkeypatch)
    argv = ["--deploy_config", out["deploy_yaml"], "--save_file", str(tmp_path / "m.onnx"), "--skip_check"]
    assert export_onnx_cli.main(argv) == str(tmp_path / "m.onnx")
    assert len(calls) == 1 and calls[0][calls[0].index("--model_filename") + 1] == "model.json"
    # recorded in deploy.yaml for tools/infer.py --backend onnxruntime|openvino
    assert DeployConfig(out["deploy_yaml"]).onnx_file == str(tmp_path / "m.onnx")


@pytest.mark.filterwarnings("ignore:no variable in your model:UserWarning")
def test_export_onnx_refuses_raw_adaptive_pooling_on_dynamic_shapes(tmp_path, monkeypatch):
    # A model calling F.adaptive_avg_pool2d(x, 2) still cannot convert on a dynamic shape (the
    # converter aborts): refused before the converter is looked for, with the reason and ways out.
    spec = [InputSpec([None, 3, None, None], "float32", "x")]
    static = paddle.jit.to_static(_Pool("avg", 2), input_spec=spec, full_graph=True)
    paddle.jit.save(static, str(tmp_path / "model"))
    (tmp_path / "model.pdiparams").touch()      # a graph without weights saves no params file
    deploy_yaml = write_deploy_yaml(str(tmp_path), "model.json", "model.pdiparams", [], "none")
    calls = _fake_converter(monkeypatch)
    argv = ["--deploy_config", deploy_yaml, "--save_file", str(tmp_path / "m.onnx"), "--skip_check"]
    reason = "adaptive pooling.*dynamic.*layers.adaptive_avg_pool2d.*--input_shape"
    with pytest.raises(UsageError, match=reason):
        export_onnx_cli.main(argv)
    assert not calls and not (tmp_path / "m.onnx").exists()
    # The rule lives in the package, so val.py's ONNX engines meet it too; a fixed size converts.
    from paddleseg.deploy.onnx_convert import convert_to_onnx
    model, params = str(tmp_path / "model.json"), str(tmp_path / "model.pdiparams")
    with pytest.raises(UsageError, match=reason):
        convert_to_onnx(model, params, str(tmp_path / "m.onnx"))
    assert convert_to_onnx(model, params, str(tmp_path / "m.onnx"), dynamic_size=False)
    assert len(calls) == 1


@NEEDS_ONNX
def test_onnx_matches_static(exported, tmp_path):
    name, root, model, model_path, _ = exported
    fixed = tmp_path / "fixed"
    # 160x288, not a multiple of 192: ICNet's 1/32 map is 5x9, which the pyramid bins 2, 3, 6 do not
    # divide (paddle2onnx's fixed AveragePool windows for F.adaptive_avg_pool2d were wrong there).
    export_cli.main(["--config", CONFIGS[name], "--model_path", model_path, "--save_dir", str(fixed),
                     "--output_op", "none", "--input_shape", "1", "3", "160", "288"])
    onnx_path = tmp_path / "model.onnx"
    subprocess.run([sys.executable, os.path.join(REPO, "tools", "export_onnx.py"),
                    "--deploy_config", str(fixed / "deploy.yaml"), "--save_file", str(onnx_path)],
                   check=True, cwd=REPO, timeout=300)
    import onnxruntime
    x = np.random.RandomState(0).standard_normal((1, 3, 160, 288)).astype("float32")
    sess = onnxruntime.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    got = sess.run(None, {sess.get_inputs()[0].name: x})[0]
    with paddle.no_grad():
        want = ExportWrapper(model, "none")(paddle.to_tensor(x)).numpy()
    np.testing.assert_allclose(got, want, atol=1e-3, rtol=1e-3)


@NEEDS_ONNX
def test_onnx_dynamic_shape(exported, tmp_path):
    """Both models convert with a dynamic input shape and match on several sizes (ICNet at 64x96:
    its 1/32 map, 2x3, is smaller than the 6x6 bin)."""
    name, _, model, _, out = exported
    onnx_path = tmp_path / "model.onnx"
    run = subprocess.run([sys.executable, os.path.join(REPO, "tools", "export_onnx.py"),
                          "--deploy_config", out["deploy_yaml"], "--save_file", str(onnx_path)],
                         capture_output=True, text=True, cwd=REPO, timeout=300)
    assert run.returncode == 0, (run.stdout + run.stderr)[-3000:]
    import onnxruntime
    sess = onnxruntime.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    assert not any(isinstance(d, int) for d in sess.get_inputs()[0].shape[2:])       # height, width dynamic
    for shape in ((1, 3, 64, 96), (2, 3, 97, 131)):
        x = np.random.RandomState(0).standard_normal(shape).astype("float32")
        got = sess.run(None, {sess.get_inputs()[0].name: x})[0]
        with paddle.no_grad():
            want = model(paddle.to_tensor(x))[0].numpy()
        np.testing.assert_allclose(got, want, atol=1e-3, rtol=1e-3)


def test_val_engine_inference_matches_dygraph(exported, tmp_path):
    import val as val_cli
    name, _, _, model_path, _ = exported
    data = tmp_path / "data"
    generate(str(data), num_train=1, num_val=3, size=(96, 64), seed=4)
    common = ["--config", CONFIGS[name], "--model_path", model_path, "--opts", f"val_dataset.dataset_root={data}",
              f"train_dataset.dataset_root={data}"]
    dygraph = val_cli.main([*common[:4], "--save_metrics", str(tmp_path / "a.json"), *common[4:]])
    engine = val_cli.main([*common[:4], "--save_metrics", str(tmp_path / "b.json"), "--engine", "inference",
                           "--is_slide", "--crop_size", "96", "64", "--stride", "64", "64", *common[4:]])
    moved = np.abs(np.asarray(engine["confusion_matrix"]) - np.asarray(dygraph["confusion_matrix"])).sum() / 2
    assert moved <= 1e-3 * dygraph["num_pixels"]


@pytest.mark.parametrize("entry,pattern", [
    ("{type: Normalize, meen: [0.5, 0.5, 0.5]}",
     r"Unknown argument 'meen' for Normalize at 'Deploy.transforms.0.meen' in .*deploy.yaml.*Did you mean 'mean'"),
    ("{type: Resize, target_size: big}", r"'target_size' of Resize at 'Deploy.transforms.0.target_size'.*deploy.yaml"),
    ("{type: Normalise}", r"`Deploy.transforms.0.type` in .*deploy.yaml.*did you mean 'Normalize'")])
def test_deploy_transforms_are_built_by_the_checked_builder(tmp_path, entry, pattern):
    """deploy.yaml's transforms go through SegBuilder.build_component (argument checks before the
    constructor, the file and key path in the message), not raw registry calls."""
    from paddleseg.cvlibs import ConfigError
    (tmp_path / "model.json").write_text("{}")
    (tmp_path / "model.pdiparams").write_bytes(b"")
    deploy = tmp_path / "deploy.yaml"
    deploy.write_text(f"Deploy:\n  model: model.json\n  params: model.pdiparams\n  transforms:\n    - {entry}\n")
    with pytest.raises(ConfigError, match=pattern):
        DeployConfig(str(deploy)).build_transforms()
