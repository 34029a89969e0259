"""Training faults (issue 12): non-finite weights, two runs on one save_dir, broken checkpoints on
resume, SIGTERM / SIGINT, a full disk. Each either stops with a one-line message naming what to do,
or recovers, and no bad checkpoint is written or a good one lost."""
import errno
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time

import numpy as np
import paddle
import paddle.nn as nn
import pytest

from tiny_training import REPO, TinyData, TinyNet, build_trainer
from paddleseg.core.train import TrainingInterrupted
from paddleseg.models.losses import CrossEntropyLoss, MultiOutputLoss
from paddleseg.utils import checkpoint as ckpt
from paddleseg.utils.cli import run_cli
from paddleseg.utils.errors import CheckpointError, UserError
from paddleseg.utils.run_lock import LOCK_NAME, SaveDirInUseError, SaveDirLock

QUICKSTART = os.path.join(REPO, "configs", "quickstart", "encnet_resnet18_synthetic.yml")


class BNNet(nn.Layer):
    """TinyNet with BatchNorm: with a huge learning rate its running variance overflows to Inf
    while the loss (computed with batch statistics) stays finite, as ENCNet's did in the issue."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2D(3, 8, 3, padding=1)
        self.bn = nn.BatchNorm2D(8)
        self.conv2 = nn.Conv2D(8, 3, 1)

    def forward(self, x):
        return [self.conv2(nn.functional.relu(self.bn(self.conv1(x))))]


def _trainer(save_dir, model=TinyNet, optimizer=None, **kwargs):
    paddle.seed(0)      # before building the model: its initial weights decide when BNNet overflows
    model = model()
    opt = optimizer(model) if optimizer else paddle.optimizer.SGD(learning_rate=0.1, parameters=model.parameters())
    kwargs.setdefault("iters", 4)
    kwargs.setdefault("save_interval", 2)
    return build_trainer(model, TinyData(), opt, MultiOutputLoss([CrossEntropyLoss()], [1.0]), save_dir,
                         batch_size=4, log_iters=1, seed=3, **kwargs)


def _momentum(lr=0.1):
    return lambda m: paddle.optimizer.Momentum(learning_rate=lr, momentum=0.9, parameters=m.parameters())


def _all_finite(ckpt_dir):
    state = paddle.load(os.path.join(ckpt_dir, "model.pdparams"))
    opt = paddle.load(os.path.join(ckpt_dir, "model.pdopt")) if os.path.isfile(
        os.path.join(ckpt_dir, "model.pdopt")) else {}
    tensors = [v for d in (state, opt) for v in d.values() if hasattr(v, "numpy")]
    return all(np.isfinite(t.numpy()).all() for t in tensors)


def _iter_dirs(save_dir):
    return sorted((p for p in os.listdir(save_dir) if p.startswith("iter_")), key=lambda n: int(n[5:]))


# ---------------------------------------------------------------- 2. non-finite weights
@pytest.mark.timeout(120)
def test_huge_lr_stops_before_a_nonfinite_checkpoint_and_pruning_keeps_the_last_good_one(tmp_path, capsys):
    # lr 1e10: the loss stays finite every step, bn._variance becomes Inf at iteration 3.
    trainer = _trainer(tmp_path, model=BNNet, optimizer=_momentum(1e10), iters=8, save_interval=1,
                       keep_checkpoint_max=1)
    with pytest.raises(SystemExit) as exit_info:
        run_cli(lambda argv: trainer.run(), [])
    assert exit_info.value.code == 1
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert "weights became non-finite at iteration 3" in err, err
    assert "1/8 model tensors (bn._variance)" in err, err
    assert f"last good checkpoint is {tmp_path / 'iter_2'}" in err, err
    assert _iter_dirs(tmp_path) == ["iter_2"]        # pruning kept it; nothing written after
    assert _all_finite(tmp_path / "iter_2")
    assert not [n for n in os.listdir(tmp_path) if n.startswith(".")]   # no temp dir, lock released


@pytest.mark.timeout(60)
def test_no_checkpoint_is_written_with_a_nonfinite_optimizer_moment(tmp_path):
    model = TinyNet()
    opt = _momentum()(model)
    model(paddle.ones([1, 3, 4, 4]))[0].sum().backward()
    opt.step()
    velocity = next(v for k, v in opt.state_dict().items() if k.startswith(model.conv2.weight.name))
    velocity.set_value(paddle.full(velocity.shape, float("inf")))
    with pytest.raises(ckpt.NonFiniteError, match=r"iter_1.*1/4 optimizer moments \(conv2\.weight \(velocity_0\)\)"):
        ckpt.save_checkpoint(str(tmp_path / "iter_1"), model, opt, meta={"iter": 1})
    model.conv1.bias.set_value(paddle.full(model.conv1.bias.shape, float("nan")))
    with pytest.raises(ckpt.NonFiniteError, match=r"1/4 model tensors \(conv1\.bias\)"):
        ckpt.save_checkpoint(str(tmp_path / "best_model"), model, meta={"mIoU": 0.5})
    assert os.listdir(tmp_path) == []


# ---------------------------------------------------------------- 5. one run per save_dir
@pytest.mark.timeout(60)
def test_second_run_on_a_locked_save_dir_is_refused_naming_the_holder(tmp_path):
    with SaveDirLock(str(tmp_path)):
        with pytest.raises(SaveDirInUseError,
                           match=rf"in use by another training run: PID {os.getpid()} on host {socket.gethostname()}"):
            _trainer(tmp_path).run()
    assert not os.path.exists(tmp_path / LOCK_NAME)
    assert _trainer(tmp_path).run()["iter"] == 4       # free again once released


def _dead_pid():
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


@pytest.mark.timeout(60)
def test_stale_lock_of_a_dead_process_is_taken_over_with_a_warning(tmp_path, capsys):
    dead = _dead_pid()
    (tmp_path / LOCK_NAME).write_text(json.dumps({"pid": dead, "host": socket.gethostname(), "started": "x"}))
    assert _trainer(tmp_path).run()["iter"] == 4
    err = capsys.readouterr().err
    assert f"Taking over the lock on {tmp_path} left by PID {dead} on host {socket.gethostname()}" in err
    assert not os.path.exists(tmp_path / LOCK_NAME)


# ---------------------------------------------------------------- 6. resuming from broken checkpoints
def _two_checkpoints(save_dir):
    _trainer(save_dir).run()
    assert _iter_dirs(save_dir) == ["iter_2", "iter_4"]


@pytest.mark.timeout(60)
@pytest.mark.parametrize("broken", ["model.pdparams", "meta.json", "model.pdopt"])
def test_auto_resume_skips_a_broken_newest_checkpoint(tmp_path, capsys, broken):
    _two_checkpoints(tmp_path)
    path = tmp_path / "iter_4" / broken
    if broken == "meta.json":
        path.write_text('{"iter": 4, "best_miou"')
    else:
        data = path.read_bytes()
        path.write_bytes(data[:len(data) // 2])
    capsys.readouterr()
    summary = _trainer(tmp_path, iters=6, resume_model="auto").run()
    assert [e["iter"] for e in summary["history"]] == [3, 4, 5, 6]
    err = capsys.readouterr().err
    assert re.search(rf"skipping the unloadable checkpoint {re.escape(str(tmp_path / 'iter_4'))}: "
                     rf"cannot read (the weights file )?{re.escape(str(path))}", err, re.IGNORECASE), err
    assert _iter_dirs(tmp_path) == ["iter_2", "iter_4", "iter_6"]
    assert ckpt.read_checkpoint(str(tmp_path / "iter_4")).meta["iter"] == 4    # rewritten whole


@pytest.mark.timeout(60)
def test_explicit_broken_checkpoint_is_an_error_naming_the_file(tmp_path):
    _two_checkpoints(tmp_path)
    path = tmp_path / "iter_4" / "model.pdparams"
    path.write_bytes(path.read_bytes()[:100])
    with pytest.raises(CheckpointError, match=rf"(?i)cannot read (the weights file )?{re.escape(str(path))}\W"):
        _trainer(tmp_path, iters=6, resume_model=str(tmp_path / "iter_4")).run()
    with pytest.raises(CheckpointError, match="does not exist"):
        _trainer(tmp_path, iters=6, resume_model=str(tmp_path / "iter_9")).run()


@pytest.mark.timeout(60)
def test_resume_with_another_optimizer_says_what_differs(tmp_path):
    _trainer(tmp_path, optimizer=_momentum()).run()
    adam = lambda m: paddle.optimizer.Adam(learning_rate=0.1, parameters=m.parameters())  # noqa: E731
    with pytest.raises(CheckpointError, match=r"iter_4/model.pdopt: the checkpoint's optimizer is Momentum, "
                                              r"the config's is Adam"):
        _trainer(tmp_path, optimizer=adam, iters=6, resume_model="auto").run()
    # A PaddleSeg checkpoint (no meta.json) is recognised by its accumulators.
    os.remove(tmp_path / "iter_4" / "meta.json")
    with pytest.raises(CheckpointError, match=r"holds optimizer state \['velocity'\], the config's Adam keeps"):
        _trainer(tmp_path, optimizer=adam, iters=6, resume_model=str(tmp_path / "iter_4")).run()


class WideNet(TinyNet):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2D(3, 16, 3, padding=1)
        self.conv2 = nn.Conv2D(16, 3, 1)


@pytest.mark.timeout(60)
def test_resume_after_the_model_changed_says_which_parameters_differ(tmp_path):
    _trainer(tmp_path, optimizer=_momentum()).run()
    with pytest.raises(CheckpointError, match=r"does not fit the WideNet.*conv1\.weight checkpoint \[8, 3, 3, 3\] "
                                              r"vs model \[16, 3, 3, 3\]"):
        _trainer(tmp_path, model=WideNet, optimizer=_momentum(), iters=6, resume_model="auto").run()


# ---------------------------------------------------------------- 7. signals
@pytest.mark.timeout(60)
def test_sigint_stops_after_the_step_with_a_checkpoint_and_restores_the_handlers(tmp_path):
    trainer = _trainer(tmp_path, iters=50, save_interval=1000)
    real_losses, calls = trainer.losses, [0]

    def interrupting(outputs, label):
        calls[0] += 1
        if calls[0] == 3:
            os.kill(os.getpid(), signal.SIGINT)     # "Ctrl-C" in the middle of step 3
        return real_losses(outputs, label)
    trainer.losses = interrupting
    before = signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)
    with pytest.raises(TrainingInterrupted, match=r"stopped by SIGINT at iteration 3/50; checkpoint .*iter_3 is "
                                                  r"written. Resume with: resume_model='auto'") as info:
        trainer.run()
    assert info.value.exit_code == 130
    assert (signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)) == before
    assert _iter_dirs(tmp_path) == ["iter_3"] and ckpt.read_checkpoint(str(tmp_path / "iter_3")).meta["iter"] == 3
    assert not os.path.exists(tmp_path / LOCK_NAME)
    resumed = _trainer(tmp_path, iters=5, save_interval=1000, resume_model="auto").run()
    assert [e["iter"] for e in resumed["history"]] == [4, 5]


def _train_cmd(data, save_dir, *extra):
    return [sys.executable, os.path.join(REPO, "train.py"), "--config", QUICKSTART, "--save_dir", str(save_dir),
            "--iters", "1000", "--save_interval", "1000", "--log_iters", "1", "--batch_size", "2", "--seed", "1",
            "--num_threads", "1", "--check_labels", "0", *extra, "--opts", f"train_dataset.dataset_root={data}",
            f"val_dataset.dataset_root={data}", "train_dataset.transforms.1.crop_size=[32,32]"]


def _start_and_wait_for_iterations(cmd, save_dir, n):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PADDLE_", "FLAGS_"))}
    proc = subprocess.Popen(cmd, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    log, deadline = save_dir / "train_log.jsonl", time.time() + 120
    while not (log.exists() and len(log.read_text().splitlines()) >= n):
        if proc.poll() is not None or time.time() > deadline:
            proc.kill()
            pytest.fail(f"training did not reach iteration {n}: {proc.communicate()[1][-3000:]}")
        time.sleep(0.05)
    return proc


@pytest.fixture
def tiny_data(synthetic_cityscapes):
    return synthetic_cityscapes


@pytest.mark.timeout(240)
def test_sigterm_to_train_py_checkpoints_prints_the_resume_command_and_exits_143(tiny_data, tmp_path):
    save_dir = tmp_path / "run"
    proc = _start_and_wait_for_iterations(_train_cmd(tiny_data, save_dir), save_dir, 2)
    # While it runs, the save_dir is locked: another run is refused, naming this process.
    with pytest.raises(SaveDirInUseError, match=rf"PID {proc.pid} on host {socket.gethostname()}"):
        _trainer(save_dir).run()
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 143, err[-3000:]
    assert "Termination signal" not in out + err and "Traceback" not in err, err[-3000:]
    last = err.strip().splitlines()[-1]
    assert last.startswith("train.py: error: stopped by SIGTERM at iteration "), last
    it = int(last.split("at iteration ")[1].split("/")[0])
    assert f"checkpoint {save_dir / f'iter_{it}'} is written" in last
    assert "Resume with: python " in last and last.endswith("--resume_model auto"), last
    assert _iter_dirs(save_dir) == [f"iter_{it}"]
    files = ckpt.read_checkpoint(str(save_dir / f"iter_{it}"))
    assert files.meta["iter"] == it and files.optimizer_state
    assert _all_finite(save_dir / f"iter_{it}")
    assert not [n for n in os.listdir(save_dir) if n.startswith(".")]   # lock released, no temp dir


@pytest.mark.timeout(240)
def test_sigterm_to_the_process_group_with_loader_workers_still_checkpoints(tiny_data, tmp_path):
    # Schedulers signal every process of the job: the loader's workers end too, and Paddle's SIGCHLD
    # handler used to abort the step in flight ("DataLoader process ... is killed by signal").
    save_dir = tmp_path / "run"
    cmd = _train_cmd(tiny_data, save_dir, "--num_workers", "2")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PADDLE_", "FLAGS_"))}
    proc = subprocess.Popen(cmd, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)
    log, deadline = save_dir / "train_log.jsonl", time.time() + 120
    while not (log.exists() and len(log.read_text().splitlines()) >= 2):
        assert proc.poll() is None and time.time() < deadline, proc.communicate()[1][-3000:]
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGTERM)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 143, err[-3000:]
    assert "Traceback" not in err and "killed by signal" not in err, err[-3000:]
    it = int(err.strip().splitlines()[-1].split("at iteration ")[1].split("/")[0])
    assert ckpt.read_checkpoint(str(save_dir / f"iter_{it}")).meta["iter"] == it


SLOW_SAVE = """
import os, sys, time
from paddleseg.utils import checkpoint as ckpt
def stuck_save(*args, **kwargs):
    open({ready!r}, "w").close()
    time.sleep(600)
ckpt.save_checkpoint = stuck_save
import train
from paddleseg.utils.cli import run_cli
sys.argv[0] = "train.py"
run_cli(train.main)
"""


@pytest.mark.timeout(240)
def test_a_second_sigint_exits_at_once_with_130(tiny_data, tmp_path):
    save_dir, ready = tmp_path / "run", tmp_path / "saving"
    cmd = _train_cmd(tiny_data, save_dir)
    cmd[1:2] = ["-c", SLOW_SAVE.format(repo=REPO, ready=str(ready))]    # its checkpoint write hangs
    proc = _start_and_wait_for_iterations(cmd, save_dir, 1)
    proc.send_signal(signal.SIGINT)
    deadline = time.time() + 60
    while not ready.exists():
        assert proc.poll() is None and time.time() < deadline, proc.communicate()[1][-3000:]
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)        # while the stop checkpoint is being written
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err[-3000:]
    assert "SIGINT again: exiting now" in err and "Traceback" not in err, err[-3000:]
    assert not os.path.exists(save_dir / LOCK_NAME)


# ---------------------------------------------------------------- 8. disk full
@pytest.mark.timeout(60)
def test_disk_full_names_the_checkpoint_and_free_space_and_leaves_no_temp_dir(tmp_path, monkeypatch):
    trainer = _trainer(tmp_path, iters=4, save_interval=2)
    real_save, calls = paddle.save, [0]

    def filling_up(obj, path, *args, **kwargs):
        calls[0] += 1
        if calls[0] > 2:       # iter_2 (model + optimizer) fits; iter_4 does not
            with open(path, "wb") as f:
                f.write(b"partial")
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real_save(obj, path, *args, **kwargs)
    monkeypatch.setattr(paddle, "save", filling_up)
    with pytest.raises(CheckpointError, match=rf"cannot write checkpoint {tmp_path / 'iter_4'}: No space left on "
                                              r"device \([0-9.]+ [KMGT]?i?B free on "):
        trainer.run()
    assert sorted(os.listdir(tmp_path)) == ["iter_2", "train_log.jsonl"]   # no .iter_4.tmp-*, no lock
    assert ckpt.read_checkpoint(str(tmp_path / "iter_2")).meta["iter"] == 2


def test_user_errors_of_the_trainer_are_user_errors():
    for cls in (ckpt.NonFiniteError, SaveDirInUseError, TrainingInterrupted, ckpt.BrokenCheckpointError):
        assert issubclass(cls, UserError)


@pytest.mark.timeout(60)
def test_unusable_save_dir_is_one_error_naming_it(tmp_path):
    blocker = tmp_path / "a_file"
    blocker.write_text("")
    with pytest.raises(UserError, match=rf"cannot use save_dir {re.escape(str(blocker / 'out'))}: .*--save_dir"):
        _trainer(blocker / "out").run()
