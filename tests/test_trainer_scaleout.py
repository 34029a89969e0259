"""Data parallel, gradient accumulation, mixed-precision code path, kill-and-resume determinism."""
import json
import os
import re
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

import train as train_cli
from tiny_training import REPO, make_trainer, parameters
from paddleseg.datasets.synthetic import generate

QUICKSTART = os.path.join(REPO, "configs", "quickstart", "encnet_resnet18_synthetic.yml")


def _clean_env():
    return {k: v for k, v in os.environ.items() if not k.startswith(("PADDLE_", "FLAGS_"))}


def _launch_two_ranks(out_dir, batch, iters, *resume):
    cmd = [sys.executable, "-m", "paddle.distributed.launch", "--nproc_per_node", "2", "--log_dir",
           str(out_dir / "log"), os.path.join(REPO, "tests", "tiny_training.py"), str(out_dir), str(batch),
           str(iters), *map(str, resume)]
    run = subprocess.run(cmd, cwd=REPO, env=_clean_env(), capture_output=True, text=True, timeout=300)
    logs = "".join(open(out_dir / "log" / f).read() for f in sorted(os.listdir(out_dir / "log")))
    assert run.returncode == 0, run.stderr[-2000:] + logs[-3000:]
    return np.load(out_dir / "rank0.npz"), np.load(out_dir / "rank1.npz"), logs


def test_two_rank_data_parallel_matches_one_process_with_the_doubled_batch(tmp_path):
    rank0, rank1, logs = _launch_two_ranks(tmp_path, 2, 3)
    single = parameters(_run_single(tmp_path / "single", batch_size=4))
    for name in single:
        np.testing.assert_array_equal(rank0[name], rank1[name])          # ranks stay identical
        np.testing.assert_allclose(rank0[name], single[name], rtol=1e-5, atol=1e-6)
    assert "x 2 ranks" in logs
    # PaddleSeg's key spellings and order, which its log parsers and TIPC benchmark scripts read
    assert re.search(r"\[TRAIN\] epoch: \d+, iter: \d+/\d+, loss: [\d.]+, lr: [\d.]+, batch_cost: [\d.]+, "
                     r"reader_cost: [\d.]+, ips: [\d.]+ samples/sec \| ETA ", logs), logs[-2000:]


def test_checkpoints_move_between_one_process_and_two_ranks(tmp_path):
    _run_single(tmp_path / "one", batch_size=4, iters=2)                       # 1 process -> iter_2
    rank0, rank1, _ = _launch_two_ranks(tmp_path / "two", 2, 4, tmp_path / "one" / "iter_2")   # 2 ranks: 3..4
    reference = parameters(_run_single(tmp_path / "ref", batch_size=4, iters=5))
    four = parameters(_run_single(tmp_path / "ref4", batch_size=4, iters=4))
    for name in four:
        np.testing.assert_array_equal(rank0[name], rank1[name])
        np.testing.assert_allclose(rank0[name], four[name], rtol=1e-5, atol=1e-6)
    back = _run_single(tmp_path / "back", batch_size=4, iters=5,                 # 2 ranks -> 1 process: 5
                       resume_model=str(tmp_path / "two" / "run" / "iter_4"))
    assert [e["iter"] for e in back.history] == [5]
    for name, value in reference.items():
        np.testing.assert_allclose(parameters(back)[name], value, rtol=1e-5, atol=1e-6)


def _run_single(save_dir, **kwargs):
    trainer = make_trainer(save_dir, **kwargs)
    trainer.run()
    return trainer


def test_gradient_accumulation_equals_the_big_batch(tmp_path):
    big = _run_single(tmp_path / "big", batch_size=4)
    accumulated = _run_single(tmp_path / "acc", batch_size=2, accumulate_steps=2)
    for name, value in parameters(big).items():
        np.testing.assert_allclose(parameters(accumulated)[name], value, rtol=1e-5, atol=1e-6)
    assert [e["loss"] for e in accumulated.history] == pytest.approx([e["loss"] for e in big.history], rel=1e-5)


def test_same_seed_same_run_and_workers_do_not_change_it(tmp_path):
    a = _run_single(tmp_path / "a", iters=4)
    b = _run_single(tmp_path / "b", iters=4, num_workers=2)
    assert [e["loss"] for e in a.history] == pytest.approx([e["loss"] for e in b.history], rel=1e-6)


def test_mixed_precision_code_path_runs_on_cpu(tmp_path, capsys):
    # Paddle 3.3 runs AMP only on GPUs; on CPU the fp16 O2 path must run (as fp32) and say so.
    trainer = make_trainer(tmp_path, iters=2, precision="fp16", amp_level="O2")
    summary = trainer.run()
    assert summary["iter"] == 2 and np.isfinite(summary["history"][-1]["loss"])
    assert "runs mixed precision only on a GPU" in capsys.readouterr().err
    with pytest.raises(ValueError, match="--precision"):
        make_trainer(tmp_path, precision="fp8")


# A training process that stops (sleeps) inside the atomic write of its second checkpoint, after
# the model file is written and before meta.json marks the checkpoint complete, so the test can
# SIGKILL it exactly there.
KILLABLE = r'''
import os, sys, time
import paddleseg.utils.checkpoint as ckpt
original = ckpt._write_dir_atomically
count = [0]
def slow(final_dir, writer):
    count[0] += 1
    if count[0] == 2:
        def paused(tmp):
            with open(os.path.join(tmp, "model.pdparams"), "wb") as f:
                f.write(b"half a model file")
            open({ready!r}, "w").close()
            time.sleep(600)
        return original(final_dir, paused)
    return original(final_dir, writer)
ckpt._write_dir_atomically = slow
import train
train.main(sys.argv[1:])
'''


def test_sigkill_during_checkpoint_write_then_resume_reproduces_the_loss_curve(tmp_path):
    data = tmp_path / "data"
    generate(str(data), num_train=8, num_val=2, size=(64, 48), seed=2)
    args = ["--config", QUICKSTART, "--iters", "6", "--save_interval", "3", "--log_iters", "1", "--seed", "5",
            "--batch_size", "2", "--num_threads", "1", "--check_labels", "0",
            "--opts", f"train_dataset.dataset_root={data}", f"val_dataset.dataset_root={data}",
            "train_dataset.transforms.1.crop_size=[48,48]"]
    reference = train_cli.main([*args, "--save_dir", str(tmp_path / "reference")])
    ref_losses = {e["iter"]: e["loss"] for e in reference["history"] if "loss" in e}

    save_dir, ready = tmp_path / "killed", tmp_path / "ready"
    script = tmp_path / "killable.py"
    script.write_text(KILLABLE.format(repo=REPO, ready=str(ready)))
    proc = subprocess.Popen([sys.executable, str(script), *args, "--save_dir", str(save_dir)], cwd=REPO,
                            env=_clean_env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.time() + 240
    while not ready.exists():
        assert proc.poll() is None, proc.stderr.read().decode()[-3000:]
        assert time.time() < deadline, "the training process never reached its second checkpoint"
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    # The half-written iter_6 is not a checkpoint; iter_3 is the newest complete one.
    assert not (save_dir / "iter_6" / "meta.json").exists()
    assert (save_dir / "iter_3" / "meta.json").exists()

    resumed = train_cli.main([*args, "--save_dir", str(save_dir), "--resume_model", "auto"])
    assert resumed["iter"] == 6
    got = {e["iter"]: e["loss"] for e in resumed["history"] if "loss" in e}
    assert sorted(got) == [4, 5, 6]
    for it, loss in got.items():
        assert loss == pytest.approx(ref_losses[it], rel=1e-5), (it, got, ref_losses)
    assert json.load(open(save_dir / "iter_6" / "meta.json"))["iter"] == 6
    # The killed write's temporary directory is gone, and the JSON-lines log reads as one run:
    # iterations 4..6 logged before the kill were dropped on resume and logged again.
    assert not [p.name for p in save_dir.iterdir() if p.name.startswith(".")]
    logged = [json.loads(line) for line in open(save_dir / "train_log.jsonl")]
    losses = [(e["iter"], e["loss"]) for e in logged if "loss" in e]
    assert [it for it, _ in losses] == [1, 2, 3, 4, 5, 6]
    for it, loss in losses:
        assert loss == pytest.approx(ref_losses[it], rel=1e-5)


def test_visualdl_gets_scalars_and_prediction_images(tmp_path):
    from tiny_training import TinyData
    trainer = make_trainer(tmp_path, iters=2, use_vdl=True, do_eval=True, val_dataset=TinyData(n=4),
                           save_interval=2)
    trainer.run()
    from visualdl import LogReader
    logs = [f for f in os.listdir(tmp_path / "vdl") if f.startswith("vdlrecords")]
    assert logs
    reader = LogReader(file_path=str(tmp_path / "vdl" / logs[0]))
    tags = reader.get_tags()
    assert "Train/loss" in tags.get("scalar", []) and "Eval/mIoU" in tags.get("scalar", [])
    assert "Eval/prediction_0" in tags.get("image", [])


def test_nan_loss_stops_with_a_clear_message_and_keeps_the_last_good_checkpoint(tmp_path):
    trainer = make_trainer(tmp_path, iters=6, save_interval=2)
    real_losses, calls = trainer.losses, [0]

    def exploding(outputs, label):
        calls[0] += 1
        total, parts = real_losses(outputs, label)
        return (total * float("nan"), parts) if calls[0] == 3 else (total, parts)
    trainer.losses = exploding
    with pytest.raises(FloatingPointError, match=r"loss became nan at iteration 3.*last good checkpoint"):
        trainer.run()
    assert sorted(os.listdir(tmp_path)) == ["iter_2", "train_log.jsonl"]
    assert json.load(open(tmp_path / "iter_2" / "meta.json"))["iter"] == 2
