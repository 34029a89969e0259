"""TIPC: the txt files follow the standard layout; the lite chain passes for both models offline;
a broken step is logged as failed and fails the script."""
import json
import os
import shutil
import subprocess
import sys

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(REPO, "test_tipc"))
from tipc_config import parse  # noqa: E402

MODELS = ["encnet", "icnet"]


def _txt(model):
    return os.path.join("test_tipc", "configs", model, "train_infer_python.txt")


def _bash(*args, env_extra=None):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PADDLE_", "FLAGS_"))}
    env["PATH"] = os.path.dirname(sys.executable) + os.pathsep + env.get("PATH", "")  # `python` = this venv's
    env.update(env_extra or {})
    return subprocess.run(["bash", *args], cwd=REPO, env=env, capture_output=True, text=True, timeout=900)


@pytest.mark.parametrize("model", MODELS)
def test_txt_follows_the_positional_layout(model):
    cfg = parse(os.path.join(REPO, _txt(model)))
    summary = cfg.summary("lite_train_lite_infer")
    assert summary["model_name"] == model and summary["iters"] == "20" and summary["batch_size"] == "2"
    assert cfg.for_mode(6, "whole_train_whole_infer") == "2000"
    assert summary["train"].startswith("train.py --config test_tipc/configs/")
    for line in (15, 23, 29):   # the scripts and configs the chain runs exist
        script, _, rest = cfg.value(line).partition(" ")
        assert os.path.isfile(os.path.join(REPO, script))
        config = rest.split("--config ")[1].split()[0]
        assert os.path.isfile(os.path.join(REPO, config))


def test_layout_errors_name_the_line(tmp_path):
    lines = open(os.path.join(REPO, _txt("encnet"))).read().splitlines()
    lines[15] = "train:python train.py"
    bad = tmp_path / "bad.txt"
    bad.write_text("\n".join(lines) + "\n")
    with pytest.raises(ValueError, match="line 16: expected 'norm_train'"):
        parse(str(bad))


@pytest.fixture(scope="module")
def lite_data():
    run = _bash("test_tipc/prepare.sh", _txt("encnet"), "lite_train_lite_infer")
    assert run.returncode == 0, run.stdout + run.stderr
    return os.path.join(REPO, "test_tipc", "data", "cityscapes")


@pytest.mark.parametrize("model", MODELS)
def test_lite_chain_passes(model, lite_data):
    run = _bash("test_tipc/test_train_inference_python.sh", _txt(model), "lite_train_lite_infer")
    log = open(os.path.join(REPO, "test_tipc", "output", model, "results_python.log")).read()
    assert run.returncode == 0, run.stdout[-3000:] + log
    assert "Run failed" not in log
    # train, eval, export, and 2 x 2 x 2 CPU inference variants, each logged as successful
    assert log.count("Run successfully") == 3 + 8
    assert "Skipped gpu_list entry 0" in log or "--device gpu" in log


def test_a_broken_step_is_logged_and_fails_the_script(lite_data, tmp_path):
    lines = open(os.path.join(REPO, _txt("icnet"))).read().splitlines()
    lines[1] = "model_name:icnet_broken"
    lines[6] = "--iters:lite_train_lite_infer=2"
    lines[10] = "train_model_name:best_model/no_such_file.pdparams"   # a wrong model path
    lines[41], lines[42], lines[43] = "--enable_mkldnn:True", "--cpu_threads:1", "--batch_size:1"
    broken = tmp_path / "train_infer_python.txt"
    broken.write_text("\n".join(lines) + "\n")
    run = _bash("test_tipc/test_train_inference_python.sh", str(broken), "lite_train_lite_infer")
    log = open(os.path.join(REPO, "test_tipc", "output", "icnet_broken", "results_python.log")).read()
    shutil.rmtree(os.path.join(REPO, "test_tipc", "output", "icnet_broken"), ignore_errors=True)
    assert run.returncode != 0
    assert "Run successfully with command - python train.py" in log
    assert "Run failed with command - python val.py" in log and "no_such_file" in log
    assert "Run failed with command - python export.py" in log


def test_train_benchmark_reports_ips_and_memory(tmp_path):
    sys.path.insert(0, os.path.join(REPO, "benchmarks"))
    import train_benchmark
    out = tmp_path / "bench.json"
    result = train_benchmark.main(["--config", "test_tipc/configs/icnet/icnet_resnet18_tipc.yml", "--iters", "3",
                                   "--skip", "1", "--synthetic", "--num_threads", "2", "--out", str(out)])
    assert result["iters_timed"] == 2 and result["ips"] > 0 and result["peak_memory_mb"] > 100
    assert json.load(open(out))["ips"] == result["ips"]
