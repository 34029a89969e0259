"""benchmarks/deploy_accuracy.py: one val.py evaluation per runtime x precision, dygraph fp32 first;
fp32 runtimes give dygraph's mIoU; what cannot run here is a row saying why, not a crash."""
import json
import os

import pytest

from paddleseg.deploy import backends

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
QUICKSTART = os.path.join(REPO, "configs", "quickstart", "encnet_resnet18_synthetic.yml")


@pytest.fixture
def script():
    from benchmarks import deploy_accuracy
    return deploy_accuracy


@pytest.mark.timeout(300)
def test_rows_table_and_json(script, encnet_checkpoint, synthetic_cityscapes, tmp_path,
                             monkeypatch, capsys):
    monkeypatch.setattr(backends, "cpu_has_bf16", lambda: False)   # bf16: a skipped row anywhere
    out = tmp_path / "results" / "acc.json"
    rows = script.main([
        "--config", QUICKSTART, "--model_path",
        os.path.join(encnet_checkpoint, "iter_2", "model.pdparams"), "--num_threads", "1",
        "--device", "cpu", "--engines", "paddle", "onnxruntime", "--precision", "fp32", "bf16",
        "--out", str(out), "--opts", f"val_dataset.dataset_root={synthetic_cityscapes}",
        f"train_dataset.dataset_root={synthetic_cityscapes}"])
    assert [(r["engine"], r["precision"]) for r in rows] == [
        ("dygraph", "fp32"), ("paddle", "fp32"), ("paddle", "bf16"), ("onnxruntime", "fp32")]
    dygraph, paddle_fp32, paddle_bf16, onnx_fp32 = rows
    assert dygraph["delta_points"] == 0 and dygraph["changed_min"] == 0
    assert dygraph["num_images"] == 3
    # fp32 runtimes equal dygraph to float rounding (a 2-iteration model: near-ties, so a pixel
    # or two may flip; val.py's own tests bound the moved pixels)
    assert abs(paddle_fp32["delta_points"]) < 0.5 and paddle_fp32["changed_min"] < 0.01
    assert "needs a CPU with native bf16" in paddle_bf16["skipped"]
    if "skipped" in onnx_fp32:   # ONNX Runtime / paddle2onnx not installed: the pip command
        assert "pip install" in onnx_fp32["skipped"]
    else:
        assert abs(onnx_fp32["delta_points"]) < 0.5
    table = capsys.readouterr().out
    assert "| paddle fp32 | " in table and "| paddle bf16 | skipped: " in table
    saved = json.loads(out.read_text())
    assert saved["rows"] == json.loads(json.dumps(rows)) and saved["cpu_bf16"] is False
    assert set(saved["versions"]) >= {"paddlepaddle", "onnxruntime", "openvino"}
