"""TIPC: the txt files follow the standard layout; the lite chain passes for both models offline;
a broken step is logged as failed and fails the script; whole_infer runs from a given model without
training and refuses clearly without one."""
import json
import runpy
import os
import shutil
import subprocess
import sys

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# test_tipc/ is a folder of shell scripts, not a package (and its name is this module's): load by path.
parse = runpy.run_path(os.path.join(REPO, "test_tipc", "tipc_config.py"))["parse"]

MODELS = ["encnet", "icnet"]


def _txt(model):
    return os.path.join("test_tipc", "configs", model, "train_infer_python.txt")


def _bash(cwd, *args, env_extra=None):
    """Run a TIPC script in ``cwd`` (the tmp mirror from the ``tipc_checkout`` fixture: by default the
    scripts write test_tipc/output and test_tipc/data relative to the working directory, never into
    the checkout; TIPC_OUTPUT_DIR / TIPC_DATA_DIR from the caller's environment are dropped)."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("PADDLE_", "FLAGS_")) and k not in ("TIPC_MODEL_PATH", "CITYSCAPES_ROOT", "TIPC_OUTPUT_DIR", "TIPC_DATA_DIR")}
    env["PATH"] = os.path.dirname(sys.executable) + os.pathsep + env.get("PATH", "")  # `python` = this venv's
    env.update(env_extra or {})
    return subprocess.run(["bash", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=900)


@pytest.mark.parametrize("model", MODELS)
def test_txt_follows_the_positional_layout(model):
    cfg = parse(os.path.join(REPO, _txt(model)))
    summary = cfg.summary("lite_train_lite_infer")
    assert summary["model_name"] == model and summary["iters"] == "20" and summary["batch_size"] == "2"
    assert cfg.for_mode(6, "whole_train_whole_infer") == "2000"
    # PaddleSeg's spellings: the device flag on line 5 (one value per gpu_list entry), and
    # trainer:norm_train on line 15, so the standard runner names its folders norm_train_gpus_*
    assert cfg.lines[4][0] == "--device" and summary["train_devices"] == ["cpu", "gpu", "gpu"]
    assert summary["gpu_list"] == ["-1", "0", "0,1"]
    assert cfg.lines[14] == ("trainer", "norm_train") and cfg.lines[15][0] == "norm_train"
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
    lines = open(os.path.join(REPO, _txt("encnet"))).read().splitlines()
    lines[14] = "trainer:norm"   # the spelling before PaddleSeg's: names no command line
    bad.write_text("\n".join(lines) + "\n")
    with pytest.raises(ValueError, match="line 15: trainer 'norm' is not the key of a command"):
        parse(str(bad))


@pytest.fixture(scope="module")
def lite_data(tipc_checkout):
    run = _bash(tipc_checkout, "test_tipc/prepare.sh", _txt("encnet"), "lite_train_lite_infer")
    assert run.returncode == 0, run.stdout + run.stderr
    return os.path.join(tipc_checkout, "test_tipc", "data", "cityscapes")


@pytest.mark.e2e
@pytest.mark.parametrize("model", MODELS)
def test_lite_chain_passes(model, lite_data, tipc_checkout):
    run = _bash(tipc_checkout, "test_tipc/test_train_inference_python.sh", _txt(model), "lite_train_lite_infer")
    log = open(os.path.join(tipc_checkout, "test_tipc", "output", model, "results_python.log")).read()
    assert run.returncode == 0, run.stdout[-3000:] + log
    assert "Run failed" not in log
    # train, eval, export, and 2 x 2 x 2 CPU inference variants, each logged as successful
    assert log.count("Run successfully") == 3 + 8
    assert "Skipped gpu_list entry 0" in log or "--device gpu" in log
    run_dir = os.path.join(tipc_checkout, "test_tipc", "output", model, "norm_train_gpus_-1_autocast_fp32")
    assert os.path.isfile(os.path.join(run_dir, "best_model", "model.pdparams"))   # PaddleSeg's name


@pytest.mark.e2e
def test_a_broken_step_is_logged_and_fails_the_script(lite_data, tipc_checkout, tmp_path):
    lines = open(os.path.join(REPO, _txt("icnet"))).read().splitlines()
    lines[1] = "model_name:icnet_broken"
    lines[6] = "--iters:lite_train_lite_infer=2"
    lines[10] = "train_model_name:best_model/no_such_file.pdparams"   # a wrong model path
    lines[41], lines[42], lines[43] = "--enable_mkldnn:True", "--cpu_threads:1", "--batch_size:1"
    broken = tmp_path / "train_infer_python.txt"
    broken.write_text("\n".join(lines) + "\n")
    run = _bash(tipc_checkout, "test_tipc/test_train_inference_python.sh", str(broken), "lite_train_lite_infer")
    log = open(os.path.join(tipc_checkout, "test_tipc", "output", "icnet_broken", "results_python.log")).read()
    assert run.returncode != 0
    assert "Run successfully with command - python train.py" in log
    assert "Run failed with command - python val.py" in log and "no_such_file" in log
    assert "Run failed with command - python export.py" in log


@pytest.mark.e2e
@pytest.mark.timeout(600)
def test_output_and_data_dirs_are_variables(tipc_checkout, tmp_path):
    """TIPC_OUTPUT_DIR / TIPC_DATA_DIR move everything the scripts write; the log has no colour
    codes (nor has the console output when it is not a terminal); line 5 gives the device."""
    lines = open(os.path.join(REPO, _txt("icnet"))).read().splitlines()
    lines[1] = "model_name:icnet_dirs"
    lines[3], lines[4] = "gpu_list:-1|0", "--device:cpu|gpu"
    lines[6] = "--iters:lite_train_lite_infer=2"
    lines[15] = lines[15].replace("--do_eval ", "")   # no evaluation during training: iter_2 is the model
    lines[10] = "train_model_name:iter_2/model.pdparams"
    lines[41], lines[42], lines[43] = "--enable_mkldnn:True", "--cpu_threads:1", "--batch_size:1"
    txt = tmp_path / "train_infer_python.txt"
    txt.write_text("\n".join(lines) + "\n")
    out, data = tmp_path / "out", tmp_path / "data"
    env = {"TIPC_OUTPUT_DIR": str(out), "TIPC_DATA_DIR": str(data)}
    default_data = os.path.join(tipc_checkout, "test_tipc", "data")
    had_default_data = os.path.exists(default_data)
    prep = _bash(tipc_checkout, "test_tipc/prepare.sh", str(txt), "lite_train_lite_infer", env_extra=env)
    assert prep.returncode == 0, prep.stdout + prep.stderr
    assert (data / "cityscapes" / "val_images.txt").is_file()
    run = _bash(tipc_checkout, "test_tipc/test_train_inference_python.sh", str(txt), "lite_train_lite_infer",
                env_extra=env)
    log = (out / "icnet_dirs" / "results_python.log").read_text()
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:] + log
    assert "\x1b[" not in log and "\x1b[" not in run.stdout
    assert log.count("Run successfully") == 4 and "Run failed" not in log
    assert "Skipped gpu_list entry 0: this machine has 0 GPU(s)" in log
    assert f"--save_dir {out}/icnet_dirs/norm_train_gpus_-1_autocast_fp32 --device cpu" in log
    assert f"dataset_root={data}/cityscapes" in log
    assert f"--image_path {data}/cityscapes/val_images.txt" in log
    assert (out / "icnet_dirs" / "norm_train_gpus_-1_autocast_fp32" / "export" / "deploy.yaml").is_file()
    # nothing written where the defaults point (another test may have prepared the default data)
    assert not os.path.exists(os.path.join(tipc_checkout, "test_tipc", "output", "icnet_dirs"))
    assert os.path.exists(default_data) == had_default_data


def _whole_infer_txt(tmp_path, model_name, infer_model="null", image_path=None):
    """encnet's txt under another model name (own output folder), one inference variant."""
    lines = open(os.path.join(REPO, _txt("encnet"))).read().splitlines()
    lines[1] = f"model_name:{model_name}"
    lines[36] = f"infer_model:{infer_model}"
    lines[41], lines[42], lines[43] = "--enable_mkldnn:True", "--cpu_threads:1", "--batch_size:1"
    if image_path:
        lines[47] = f"--image_path:{image_path}"
    txt = tmp_path / f"{model_name}.txt"
    txt.write_text("\n".join(lines) + "\n")
    return str(txt)


@pytest.mark.e2e
def test_whole_infer_runs_from_a_given_model_without_training(lite_data, tipc_checkout, encnet_checkpoint, tmp_path):
    # a checkpoint from two training iterations of the same ENCNet stands in for trained weights
    model = os.path.join(encnet_checkpoint, "iter_2", "model.pdparams")
    out = os.path.join(tipc_checkout, "test_tipc", "output", "encnet_whole_infer")
    try:
        # the model from TIPC_MODEL_PATH: eval on the prepared data, export, infer; no training
        txt = _whole_infer_txt(tmp_path, "encnet_whole_infer")
        env = {"TIPC_MODEL_PATH": model}
        prep = _bash(tipc_checkout, "test_tipc/prepare.sh", txt, "whole_infer", env_extra=env)
        assert prep.returncode == 0 and "whole_infer model: " + model in prep.stdout, prep.stdout + prep.stderr
        run = _bash(tipc_checkout, "test_tipc/test_train_inference_python.sh", txt, "whole_infer", env_extra=env)
        log = open(os.path.join(out, "results_python.log")).read()
        assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:] + log
        assert f"whole_infer: no training; model {model}" in log
        assert "train.py" not in log and "Run failed" not in log
        assert f"Run successfully with command - python val.py --config test_tipc/configs/encnet/" \
               f"encnet_resnet18_tipc.yml --model_path {model} --device cpu!" in log
        assert f"Run successfully with command - python export.py --config test_tipc/configs/encnet/" \
               f"encnet_resnet18_tipc.yml --model_path {model} --save_dir" in log
        assert log.count("Run successfully with command - python tools/infer.py") == 1
        assert log.count("Run successfully") == 3
        run_dir = os.path.join(out, "whole_infer_gpus_-1")
        preds = os.path.join(run_dir, "infer_cpu_mkldnn_True_threads_1_bs_1_trt_False_fp32", "label_prediction")
        assert sum(len(files) for _, _, files in os.walk(preds)) == 4   # one per listed val image

        # an exported folder from the txt's infer_model line, images without labels: export and
        # eval are skipped (and logged so), inference runs
        exported = tmp_path / "exported"
        shutil.copytree(os.path.join(run_dir, "export"), exported)
        images = tmp_path / "images"
        images.mkdir()
        first = open(os.path.join(lite_data, "val_images.txt")).readline().strip()
        shutil.copy(os.path.join(lite_data, first), images / "a.png")
        txt = _whole_infer_txt(tmp_path, "encnet_whole_infer", infer_model=str(exported),
                               image_path=str(images / "a.png"))
        run = _bash(tipc_checkout, "test_tipc/test_train_inference_python.sh", txt, "whole_infer")
        log = open(os.path.join(out, "results_python.log")).read()
        assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:] + log
        assert f"Skipped export: {exported} is already exported" in log
        assert f"Skipped eval: {exported} is an exported model" in log
        assert log.count("Run successfully") == 1 and "Run failed" not in log
        assert f"tools/infer.py --config {exported}/deploy.yaml --image_path {images / 'a.png'}" in log
    finally:
        shutil.rmtree(out, ignore_errors=True)


def test_whole_infer_without_a_model_fails_clearly(tipc_checkout, tmp_path):
    out = os.path.join(tipc_checkout, "test_tipc", "output", "encnet_no_model")
    txt = _whole_infer_txt(tmp_path, "encnet_no_model")
    for script in ("test_tipc/prepare.sh", "test_tipc/test_train_inference_python.sh"):
        run = _bash(tipc_checkout, script, txt, "whole_infer")
        assert run.returncode == 1, (script, run.stdout, run.stderr)
        assert "whole_infer: no model given" in run.stderr and "TIPC_MODEL_PATH=" in run.stderr
        assert "infer_model line, line 37" in run.stderr
    assert not os.path.exists(out)   # it stops before running (or logging) anything
    run = _bash(tipc_checkout, "test_tipc/test_train_inference_python.sh", txt, "whole_infer",
                env_extra={"TIPC_MODEL_PATH": str(tmp_path / "missing.pdparams")})
    assert run.returncode == 1
    assert f"whole_infer: {tmp_path / 'missing.pdparams'} (from TIPC_MODEL_PATH) is not a model" in run.stderr
    assert not os.path.exists(out)


def test_train_benchmark_reports_ips_and_memory(tmp_path):
    from benchmarks import train_benchmark
    out = tmp_path / "bench.json"
    result = train_benchmark.main(["--config", "test_tipc/configs/icnet/icnet_resnet18_tipc.yml", "--iters", "3",
                                   "--skip", "1", "--synthetic", "--num_threads", "2", "--out", str(out)])
    assert result["iters_timed"] == 2 and result["ips"] > 0 and result["peak_memory_mb"] > 100
    assert json.load(open(out))["ips"] == result["ips"]


def test_layout_check_cli_says_what_is_wrong_without_a_traceback(tmp_path, capsys):
    main = runpy.run_path(os.path.join(REPO, "test_tipc", "tipc_config.py"))["main"]
    assert main([str(tmp_path / "missing.txt")]) == 2
    assert capsys.readouterr().err.startswith("tipc_config.py: error: ")
    assert main([os.path.join(REPO, _txt("icnet"))]) == 0
    assert "trainer: norm_train" in capsys.readouterr().out
