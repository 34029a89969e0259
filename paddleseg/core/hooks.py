"""Trainer hooks: what happens around the training steps (logging, evaluation, checkpoints).

The interface, modelled on detectron2's ``HookBase`` and mmengine's hooks, is six methods that a
subclass overrides as needed; each gets the :class:`~paddleseg.core.train.Trainer`, whose public
state (``iter``, ``iters``, ``epoch``, ``model``, ``optimizer``, ``settings``, ``is_main``,
``best_miou``...) it may read. Hooks run on every rank, in list order, at the same iterations, so a
hook may use collectives; rank-0-only work checks ``trainer.is_main``.

- ``before_train(trainer)``: once, after resuming and before the first step.
- ``after_step(trainer, step)``: after each optimizer step (``trainer.iter`` is the step just
  finished; ``step`` is a :class:`StepInfo`). Calling ``trainer.request_stop()`` ends the run after
  this step (on every rank: decide from rank-independent facts).
- ``after_eval(trainer, metrics)``: an evaluation finished (``metrics`` from ``core.val.evaluate``).
- ``on_log(trainer, record)``: someone called ``trainer.log(record)`` (rank 0 only).
- ``on_interrupt(trainer, signum)``: SIGTERM / SIGINT is ending the run after this step; be quick.
- ``after_train(trainer)``: always, last (``trainer.finished`` tells whether the loop completed).

A user hook is passed as ``Trainer(..., hooks=[MyHook()])``; it runs after the built-in ones.
"""
from __future__ import annotations

import json
import os
from collections import deque
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Dict, List, Optional

import numpy as np
import paddle

from ..utils import checkpoint as ckpt
from ..utils import logger
from ..utils.fileio import atomic_output
from ..utils.timer import TimeAverager, format_eta
from .ranks import mean_over_ranks
from .val import evaluate
from .vdl_images import log_predictions

if TYPE_CHECKING:
    from .settings import TrainSettings
    from .train import Trainer


@dataclass
class StepInfo:
    """One optimizer step as this rank saw it."""
    losses: np.ndarray            # [total, per-output...], mean over the step's micro-batches
    lr: float                     # the learning rate this step used
    batch_cost: float             # seconds, reading included (PaddleSeg's batch_cost)
    reader_costs: List[float]     # seconds waiting for each micro-batch
    samples: int                  # samples this rank trained on in the step


@dataclass
class LogRecord:
    """One log entry: ``entry`` is a ``train_log.jsonl`` line, ``scalars`` maps VisualDL tags to values."""
    entry: Dict[str, Any]
    scalars: Dict[str, float] = field(default_factory=dict)


class HookBase:
    """No-op base class: override the events you need."""

    def before_train(self, trainer: "Trainer") -> None:
        pass

    def after_step(self, trainer: "Trainer", step: StepInfo) -> None:
        pass

    def after_eval(self, trainer: "Trainer", metrics: Dict[str, Any]) -> None:
        pass

    def on_log(self, trainer: "Trainer", record: LogRecord) -> None:
        pass

    def on_interrupt(self, trainer: "Trainer", signum: int) -> None:
        pass

    def after_train(self, trainer: "Trainer") -> None:
        pass


class ConsoleLogHook(HookBase):
    """Every ``log_iters`` steps (and at the last): the PaddleSeg ``[TRAIN]`` line, losses averaged
    over the window and the ranks, and a log record for the JSONL log and VisualDL."""

    def __init__(self, log_iters: int) -> None:
        self.log_iters = max(1, log_iters)
        self.batch_time, self.reader_time = TimeAverager(), TimeAverager()
        self.recent: deque = deque(maxlen=50)
        self.loss_sums: Optional[np.ndarray] = None
        self.count = 0

    def before_train(self, trainer: "Trainer") -> None:
        if trainer.settings.to_static and trainer.is_main:
            logger.info("to_static_training: the first iteration traces and compiles the model "
                        "(on a CPU this can take a minute)")

    def after_step(self, trainer: "Trainer", step: StepInfo) -> None:
        self.loss_sums = step.losses if self.loss_sums is None else self.loss_sums + step.losses
        self.count += 1
        self.batch_time.record(step.batch_cost, step.samples)
        for cost in step.reader_costs:
            self.reader_time.record(cost)
        self.recent.append(step.batch_cost)
        if trainer.iter % self.log_iters == 0 or trainer.iter == trainer.iters:
            self._log(trainer, step.lr)
            self.loss_sums, self.count = None, 0
            self.batch_time.reset()
            self.reader_time.reset()
        elif trainer.iter == trainer.start_iter + 1 and trainer.is_main:
            # The first [TRAIN] line may be minutes away on a CPU: show that training has started.
            logger.info(f"Iteration {trainer.iter} done in {step.batch_cost:.1f}s (the first "
                        f"includes one-time set-up); a [TRAIN] line follows every "
                        f"{self.log_iters} iterations")

    def _log(self, trainer: "Trainer", lr: float) -> None:
        avg = mean_over_ranks(self.loss_sums / max(self.count, 1))   # a collective: every rank calls it
        if not trainer.is_main:
            return
        eta = format_eta((trainer.iters - trainer.iter) * sum(self.recent) / max(len(self.recent), 1))
        parts = [float(v) for v in avg[1:]]
        ips = self.batch_time.ips() * trainer.world_size
        batch_cost, reader_cost = self.batch_time.average(), self.reader_time.average()
        logger.info(
            f"[TRAIN] epoch: {trainer.epoch}, iter: {trainer.iter}/{trainer.iters}, loss: {avg[0]:.4f}, lr: {lr:.6f}, "
            f"batch_cost: {batch_cost:.4f}, reader_cost: {reader_cost:.5f}, "
            f"ips: {ips:.4f} samples/sec | ETA {eta} | losses: [{', '.join(f'{v:.4f}' for v in parts)}]")
        scalars = {"Train/loss": float(avg[0]), "Train/lr": lr, "Train/batch_cost": batch_cost,
                   "Train/reader_cost": reader_cost, "Train/ips": ips}
        scalars.update({f"Train/loss_{i}": v for i, v in enumerate(parts)})
        trainer.log(LogRecord({"iter": trainer.iter, "epoch": trainer.epoch, "loss": float(avg[0]), "losses": parts,
                               "lr": lr, "batch_cost": batch_cost, "reader_cost": reader_cost, "ips": ips}, scalars))


def _at_save_point(trainer: "Trainer") -> bool:
    interval = max(1, trainer.settings.save_interval)
    return trainer.iter % interval == 0 or trainer.iter == trainer.iters


class EvalHook(HookBase):
    """Every ``save_interval`` steps (and at the last), evaluates on the validation set (every rank
    its share) and announces the metrics (``after_eval``) and a log record. Skipped when a signal
    is stopping the run: a preempted job has seconds, not minutes."""

    def __init__(self, val_dataset: paddle.io.Dataset) -> None:
        self.val_dataset = val_dataset

    def after_step(self, trainer: "Trainer", step: StepInfo) -> None:
        if trainer.stop_signum or not _at_save_point(trainer):
            return
        metrics = evaluate(trainer.model, self.val_dataset, num_workers=trainer.settings.num_workers,
                           options=trainer.settings.eval_options)
        trainer.dispatch("after_eval", metrics)
        trainer.log(LogRecord({"iter": trainer.iter, "eval_mIoU": metrics["mIoU"], "eval_Acc": metrics["Acc"],
                               "eval_Kappa": metrics["Kappa"]},
                              {"Eval/mIoU": metrics["mIoU"], "Eval/Acc": metrics["Acc"],
                               "Eval/Kappa": metrics["Kappa"]}))


class CheckpointHook(HookBase):
    """``iter_N/`` every ``save_interval`` steps, at the last one, when a hook stopped the run and
    when a signal does (rank 0 writes), keeping the newest ``keep_checkpoint_max``; ``best_model/``
    whenever an evaluation beats the best mIoU so far."""

    def __init__(self) -> None:
        self.saved_iter = -1

    def after_step(self, trainer: "Trainer", step: StepInfo) -> None:
        if not trainer.stop_signum and _at_save_point(trainer):
            self._save(trainer)

    def on_interrupt(self, trainer: "Trainer", signum: int) -> None:
        self._save(trainer)

    def after_train(self, trainer: "Trainer") -> None:
        if trainer.finished and trainer.stop_requested and self.saved_iter != trainer.iter:
            self._save(trainer)

    def after_eval(self, trainer: "Trainer", metrics: Dict[str, Any]) -> None:
        miou = metrics["mIoU"]
        if miou > trainer.best_miou:
            trainer.best_miou, trainer.best_iter = miou, trainer.iter
            if trainer.is_main:
                ckpt.save_checkpoint(os.path.join(trainer.save_dir, "best_model"), trainer.model,
                                     meta={"iter": trainer.iter, "mIoU": miou, "Acc": metrics["Acc"],
                                           "Kappa": metrics["Kappa"]})
        logger.info(f"[EVAL] The model with the best validation mIoU ({trainer.best_miou:.4f}) was saved at iter "
                    f"{trainer.best_iter}.")

    def _save(self, trainer: "Trainer") -> None:
        self.saved_iter = trainer.iter
        if not trainer.is_main:
            return
        path = os.path.join(trainer.save_dir, f"iter_{trainer.iter}")
        ckpt.save_checkpoint(path, trainer.model, trainer.optimizer, meta=trainer.checkpoint_meta(),
                             rng_state=ckpt.capture_rng_state())
        removed = ckpt.prune_checkpoints(trainer.save_dir, trainer.settings.keep_checkpoint_max, protect=path)
        logger.info(f"Saved checkpoint {path}" + (f" (removed {len(removed)} old)" if removed else ""))


class JsonlLogHook(HookBase):
    """Appends every log record to ``<save_dir>/train_log.jsonl`` (rank 0). On resume, first drops
    the entries after the checkpoint: they are about to be trained again, and the log should read
    as one run (plots and scripts see each iteration once)."""

    FILENAME = "train_log.jsonl"

    def before_train(self, trainer: "Trainer") -> None:
        if trainer.is_main and trainer.start_iter > 0:
            truncate_log(os.path.join(trainer.save_dir, self.FILENAME), trainer.start_iter)

    def on_log(self, trainer: "Trainer", record: LogRecord) -> None:
        with open(os.path.join(trainer.save_dir, self.FILENAME), "a") as f:
            f.write(json.dumps(record.entry) + "\n")


def truncate_log(path: str, last_iter: int) -> None:
    """Drops the JSON lines of ``path`` whose ``iter`` is after ``last_iter`` (unreadable lines are kept)."""
    if not os.path.isfile(path):
        return
    with open(path) as f:
        lines = [line for line in f if line.strip()]
    kept = []
    for line in lines:
        try:
            if int(json.loads(line).get("iter", 0)) > last_iter:
                continue
        except (ValueError, AttributeError):
            pass                      # keep what we cannot read rather than lose it
        kept.append(line)
    if len(kept) < len(lines):
        tmp = path + ".tmp"
        with open(tmp, "w") as f:
            f.writelines(kept)
        os.replace(tmp, path)
        logger.info(f"{os.path.basename(path)}: dropped {len(lines) - len(kept)} entries after iteration {last_iter}")


class VisualDLHook(HookBase):
    """Writes each log record's ``scalars`` to VisualDL in ``<save_dir>/vdl`` and, after each
    evaluation, a few prediction images (rank 0)."""

    def __init__(self, val_dataset: Optional[paddle.io.Dataset] = None) -> None:
        self.val_dataset = val_dataset
        self.writer: Any = None

    def before_train(self, trainer: "Trainer") -> None:
        if trainer.is_main:
            from visualdl import LogWriter
            self.writer = LogWriter(os.path.join(trainer.save_dir, "vdl"))

    def on_log(self, trainer: "Trainer", record: LogRecord) -> None:
        if self.writer is not None:
            for tag, value in record.scalars.items():
                self.writer.add_scalar(tag, value, trainer.iter)

    def after_eval(self, trainer: "Trainer", metrics: Dict[str, Any]) -> None:
        if self.writer is not None and self.val_dataset is not None:
            log_predictions(self.writer, trainer.model, self.val_dataset, trainer.iter)

    def after_train(self, trainer: "Trainer") -> None:
        if self.writer is not None:
            self.writer.close()
            self.writer = None


def default_hooks(settings: "TrainSettings", val_dataset: Optional[paddle.io.Dataset]) -> List[HookBase]:
    """The built-in behaviour, in order: console/JSONL log, evaluation, checkpoints, VisualDL."""
    hooks: List[HookBase] = [ConsoleLogHook(settings.log_iters)]
    if settings.do_eval and val_dataset is not None:
        hooks.append(EvalHook(val_dataset))
    hooks += [CheckpointHook(), JsonlLogHook()]
    if settings.use_vdl:
        hooks.append(VisualDLHook(val_dataset if settings.do_eval else None))
    return hooks


class ConfigSnapshotHook(HookBase):
    """Saves the run's resolved config (``_base_`` merged, ``--opts`` and flags applied) as
    ``<save_dir>/config.yml`` before the first step (rank 0), so the run records what it trained
    with and tools such as tools/plot_log.py can read it."""

    FILENAME = "config.yml"

    def __init__(self, text: str) -> None:
        self.text = text

    def before_train(self, trainer: "Trainer") -> None:
        if trainer.is_main:
            with atomic_output(os.path.join(trainer.save_dir, self.FILENAME), "w") as f:
                f.write(self.text)
