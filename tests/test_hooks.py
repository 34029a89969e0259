"""Trainer hooks (issue 13): a user's hook sees the events in order and can stop the run and log;
the logged lr is the lr the step used; ``to_static_training`` trains with the same losses."""
import json
import os
import subprocess
import sys

import numpy as np
import paddle
import pytest

from tiny_training import REPO, TinyData, TinyNet, build_trainer, make_trainer
from paddleseg.core.hooks import HookBase, LogRecord
from paddleseg.core.train import train
from paddleseg.models.losses import CrossEntropyLoss, MultiOutputLoss

QUICKSTART = os.path.join(REPO, "configs", "quickstart", "encnet_resnet18_synthetic.yml")


class Recorder(HookBase):
    """Records every event; stops the run after ``stop_at`` and logs its own scalar each step."""

    def __init__(self, stop_at):
        self.events, self.stop_at = [], stop_at

    def before_train(self, trainer):
        self.events.append(("before_train", trainer.iter))

    def after_step(self, trainer, step):
        self.events.append(("after_step", trainer.iter))
        trainer.log(LogRecord({"iter": trainer.iter, "grad_free": float(step.losses[0]) * 2},
                              {"Custom/double_loss": float(step.losses[0]) * 2}))
        if trainer.iter == self.stop_at:
            trainer.request_stop()

    def after_eval(self, trainer, metrics):
        self.events.append(("after_eval", trainer.iter))

    def on_log(self, trainer, record):
        self.events.append(("on_log", trainer.iter, sorted(record.entry)[0]))

    def after_train(self, trainer):
        self.events.append(("after_train", trainer.iter, trainer.finished))


def test_a_user_hook_gets_the_events_in_order_logs_and_stops_the_run(tmp_path):
    hook = Recorder(stop_at=3)
    trainer = make_trainer(tmp_path, iters=10, save_interval=2, do_eval=True, val_dataset=TinyData(n=4),
                           hooks=[hook])
    summary = trainer.run()
    assert summary["iter"] == 3
    train_log = ("on_log", 1, "batch_cost")      # the console hook's record (first key in sorted order)
    own_log = ("on_log", 1, "grad_free")
    assert hook.events == [
        ("before_train", 0),
        train_log, ("after_step", 1), own_log,
        ("on_log", 2, "batch_cost"), ("after_eval", 2), ("on_log", 2, "eval_Acc"), ("after_step", 2),
        ("on_log", 2, "grad_free"),
        ("on_log", 3, "batch_cost"), ("after_step", 3), ("on_log", 3, "grad_free"),
        ("after_train", 3, True),
    ]
    # The stop checkpoints the iteration it stopped at; the hook's records reach train_log.jsonl.
    assert sorted(d for d in os.listdir(tmp_path) if d.startswith("iter_")) == ["iter_2", "iter_3"]
    with open(tmp_path / "train_log.jsonl") as f:
        entries = [json.loads(line) for line in f]
    assert [e["iter"] for e in entries if "grad_free" in e] == [1, 2, 3]
    assert [e["iter"] for e in entries if "eval_mIoU" in e] == [2]


def test_visualdl_tags_come_from_the_records(tmp_path):
    trainer = make_trainer(tmp_path, iters=2, use_vdl=True, hooks=[Recorder(stop_at=None)])
    trainer.run()
    from visualdl import LogReader
    logs = [f for f in os.listdir(tmp_path / "vdl") if f.startswith("vdlrecords")]
    tags = LogReader(file_path=str(tmp_path / "vdl" / logs[0])).get_tags().get("scalar", [])
    assert "Custom/double_loss" in tags and "Train/lr" in tags and "Train/loss_0" in tags


def _scheduled_sgd(model):
    scheduler = paddle.optimizer.lr.StepDecay(learning_rate=0.1, step_size=1, gamma=0.5)
    return paddle.optimizer.SGD(learning_rate=scheduler, parameters=model.parameters()), scheduler


def test_the_logged_lr_is_the_lr_the_step_used(tmp_path):
    paddle.seed(0)
    model = TinyNet()
    opt, scheduler = _scheduled_sgd(model)
    trainer = build_trainer(model, TinyData(), opt, MultiOutputLoss([CrossEntropyLoss()], [1.0]), tmp_path,
                            iters=4, batch_size=4, log_iters=1, seed=7, lr_scheduler=scheduler)
    # Record each step's real learning rate: the scheduler's value when the optimizer stepped.
    used, real_step = [], opt.step

    def step_and_record():
        used.append(opt.get_lr())
        real_step()
    opt.step = step_and_record
    summary = trainer.run()
    logged = [e["lr"] for e in summary["history"]]
    assert used == pytest.approx([0.1, 0.05, 0.025, 0.0125])
    assert logged == pytest.approx(used)          # not one step ahead


def test_the_train_shim_steps_the_optimizers_scheduler(tmp_path):
    paddle.seed(0)
    model = TinyNet()
    opt, _ = _scheduled_sgd(model)
    summary = train(model, TinyData(), optimizer=opt, losses=MultiOutputLoss([CrossEntropyLoss()], [1.0]),
                    save_dir=str(tmp_path), iters=3, batch_size=4, log_iters=1)
    assert [e["lr"] for e in summary["history"]] == pytest.approx([0.1, 0.05, 0.025])


def test_to_static_training_gives_the_dygraph_losses(tmp_path):
    dygraph = make_trainer(tmp_path / "dygraph", iters=3).run()
    static = make_trainer(tmp_path / "static", iters=3, to_static=True).run()
    losses = [e["loss"] for e in dygraph["history"]]
    assert [e["loss"] for e in static["history"]] == pytest.approx(losses, rel=1e-5)
    assert len(set(losses)) == 3    # it trained: the loss moved


# Run in a child process: train.py sets process-wide state (CPU threads, seeds) that would leak into
# later tests in this process.
_TO_STATIC_RUNS = r"""
import json, sys
import paddle
import train
converted = []
real = paddle.jit.to_static
paddle.jit.to_static = lambda layer, *a, **k: converted.append(type(layer).__name__) or real(layer, *a, **k)
out, data, argv = sys.argv[1], sys.argv[2], sys.argv[3:]
runs = {}
for flag in ("false", "true"):
    del converted[:]
    summary = train.main([*argv, "--save_dir", f"{out}/{flag}", "--opts", f"train_dataset.dataset_root={data}",
                          f"val_dataset.dataset_root={data}", "train_dataset.transforms.1.crop_size=[32,32]",
                          f"to_static_training={flag}"])
    runs[flag] = {"converted": converted[:1], "history": summary["history"], "best_miou": summary["best_miou"]}
print("RESULT " + json.dumps(runs))
"""


@pytest.mark.timeout(600)
def test_config_to_static_training_trains_encnet_through_to_static(synthetic_cityscapes, tmp_path):
    data = synthetic_cityscapes
    argv = ["--config", QUICKSTART, "--iters", "2", "--save_interval", "2", "--log_iters", "1", "--seed", "1",
            "--batch_size", "2", "--num_threads", "1", "--check_labels", "0", "--do_eval"]
    proc = subprocess.run([sys.executable, "-c", _TO_STATIC_RUNS, str(tmp_path), str(data), *argv], cwd=REPO,
                          capture_output=True, text=True, timeout=540)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    runs = json.loads(proc.stdout.split("RESULT ", 1)[1])
    dygraph, static = runs["false"], runs["true"]
    assert dygraph["converted"] == [] and static["converted"] == ["ENCNet"]   # the model itself, then its layers
    for key in ("loss", "eval_mIoU"):
        expected = [e[key] for e in dygraph["history"] if key in e]
        assert len(expected) == (2 if key == "loss" else 1)
        assert [e[key] for e in static["history"] if key in e] == pytest.approx(expected, rel=1e-4, abs=1e-6)
    assert np.isfinite(static["best_miou"])
