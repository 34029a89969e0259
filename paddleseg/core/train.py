"""Iteration-based trainer: one device, or data-parallel under paddle.distributed.launch.

``Trainer.run`` is a short loop: fetch a batch, train on it, let the hooks act
(:mod:`paddleseg.core.hooks`: console and JSONL logs, periodic evaluation, checkpoints, VisualDL,
and any hook the caller adds).

Faults: the run holds a lock on its save_dir (:mod:`paddleseg.utils.run_lock`); a non-finite
loss, weight, buffer or optimizer moment stops it before anything more is written; SIGTERM /
SIGINT stop it at the end of the current step with a checkpoint of that iteration (exit status
143 / 130), and a second signal exits at once (:mod:`paddleseg.core.signals`).
"""
from __future__ import annotations

import math
import os
import random
import signal
from typing import Any, Dict, Iterator, List, Optional, Sequence

import numpy as np
import paddle
import paddle.distributed as dist

from ..utils import checkpoint as ckpt
from ..utils import logger
from ..utils.optimizer_state import scheduler_of
from ..utils.quiet import quiet_tracing
from ..utils.timer import Stopwatch, timed
from .amp import MixedPrecision
from .data import build_train_loader
from .hooks import HookBase, LogRecord, StepInfo, default_hooks
from .ranks import any_rank, checkpoint_to_resume, lock_save_dir
from .settings import TrainSettings
from .signals import StopOnSignal, TrainingInterrupted

__all__ = ["TrainSettings", "Trainer", "TrainingInterrupted", "train"]


class Trainer:
    """Trains ``model`` for ``settings.iters`` optimizer steps with ``losses`` (a
    ``MultiOutputLoss``).

    Runs on one device or, under ``paddle.distributed.launch``, data-parallel on every rank
    (``paddle.DataParallel``; BatchNorm becomes SyncBatchNorm on GPUs). Rank 0 alone logs and
    writes checkpoints; logged losses are averaged over ranks and ips is the global figure.

    Args:
        model: the segmentation model; in training mode it returns a list of outputs.
        train_dataset: yields dicts with ``img`` (C x H x W float32) and ``label`` (H x W int64).
        optimizer: a ``paddle.optimizer.Optimizer``.
        losses: callable ``(outputs, label) -> (total, [per-output losses])``.
        settings: a :class:`TrainSettings`.
        val_dataset: evaluated every ``save_interval`` iterations when ``settings.do_eval`` is set.
        lr_scheduler: stepped after every optimizer step (None: a constant learning rate).
        hooks: extra :class:`~paddleseg.core.hooks.HookBase` objects, run after the built-in ones.
    """

    def __init__(self, model: paddle.nn.Layer, train_dataset: paddle.io.Dataset,
                 optimizer: paddle.optimizer.Optimizer, losses: Any, settings: TrainSettings,
                 val_dataset: Optional[paddle.io.Dataset] = None,
                 lr_scheduler: Optional[paddle.optimizer.lr.LRScheduler] = None,
                 hooks: Optional[Sequence[HookBase]] = None) -> None:
        self.world_size, self.rank = dist.get_world_size(), dist.get_rank()
        if len(train_dataset) < settings.batch_size * self.world_size:
            ranks = f" x {self.world_size} ranks" if self.world_size > 1 else ""
            raise ValueError(f"train dataset has {len(train_dataset)} samples, fewer than "
                             f"batch_size {settings.batch_size}{ranks}")
        if settings.do_eval and val_dataset is None:
            raise ValueError("--do_eval needs a val_dataset in the config")
        self.model, self.optimizer, self.losses = model, optimizer, losses
        self.train_dataset, self.val_dataset = train_dataset, val_dataset
        self.settings, self.lr_scheduler = settings, lr_scheduler
        self.hooks: List[HookBase] = default_hooks(settings, val_dataset) + list(hooks or [])
        self.amp = MixedPrecision(settings.precision, settings.amp_level)
        self.seed = settings.seed
        self.iter = self.start_iter = self.epoch = 0
        self.best_miou, self.best_iter = -1.0, -1
        self.history: List[Dict[str, Any]] = []
        self.stop_signum = 0            # set when a signal is stopping the run after this step
        self.stop_requested = False     # set by request_stop()
        self.finished = False           # the loop completed (iters reached or a hook stopped it)
        # What the forward pass calls (DataParallel when distributed).
        self._net: paddle.nn.Layer = model

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def iters(self) -> int:
        return self.settings.iters

    @property
    def save_dir(self) -> str:
        return self.settings.save_dir

    # ------------------------------------------------------------------ for hooks
    def dispatch(self, event: str, *args: Any) -> None:
        """Calls ``event`` on every hook, in order."""
        for hook in self.hooks:
            getattr(hook, event)(self, *args)

    def log(self, record: LogRecord) -> None:
        """Adds ``record`` to the history and hands it to the hooks' ``on_log`` (rank 0 only)."""
        if self.is_main:
            self.history.append(record.entry)
            self.dispatch("on_log", record)

    def request_stop(self) -> None:
        """Ends the run after the current step (iter_N is checkpointed); call it on every rank."""
        self.stop_requested = True

    def checkpoint_meta(self) -> Dict[str, Any]:
        """What an ``iter_N`` checkpoint records besides the weights, for an exact resume."""
        return {"iter": self.iter, "best_miou": self.best_miou, "best_iter": self.best_iter,
                "data_seed": self.seed, "grad_scaler": self.amp.state_dict()}

    def summary(self) -> Dict[str, Any]:
        return {"iter": self.iter, "best_miou": self.best_miou, "best_iter": self.best_iter,
                "history": self.history}

    # ------------------------------------------------------------------ run
    def run(self) -> Dict[str, Any]:
        """Train to ``settings.iters``; returns a summary (final iteration, best mIoU, history).

        Raises:
            SaveDirInUseError: another live run holds ``save_dir``.
            NonFiniteError: the loss or the weights became NaN/Inf (nothing was written after it).
            TrainingInterrupted: SIGTERM / SIGINT; a checkpoint of the last finished step was
                written.
        """
        lock = lock_save_dir(self.save_dir, self.is_main)
        try:
            with StopOnSignal(on_exit_now=lock.release) as stop:
                return self._run(stop)
        finally:
            lock.release()

    def _run(self, stop: StopOnSignal) -> Dict[str, Any]:
        self._resume()
        if self.iter >= self.iters:
            logger.info(f"Checkpoint is at iteration {self.iter} >= iters {self.iters}: "
                        "nothing to train.")
            return self.summary()
        if self.seed is None:
            self.seed = random.SystemRandom().randrange(2 ** 31)
        self._prepare_model()
        self._net.train()
        s = self.settings
        logger.info(f"Start training: iters {self.iter + 1}..{self.iters}, "
                    f"batch_size {s.batch_size}"
                    + (f" x {s.accumulate_steps} accumulated" if s.accumulate_steps > 1 else "")
                    + (f" x {self.world_size} ranks" if self.world_size > 1 else "")
                    + f", {len(self.train_dataset)} train samples, data seed {self.seed}")
        loader = build_train_loader(self.train_dataset, s.batch_size, self.seed,
                                    start_iter=self.iter * s.accumulate_steps, rank=self.rank,
                                    world_size=self.world_size, num_workers=s.num_workers)
        batches = iter(loader)
        try:
            self.dispatch("before_train")
            self._loop(batches, loader.batch_sampler, stop)
            self.finished = True
            return self.summary()
        finally:
            try:
                self.dispatch("after_train")
            finally:
                batches.close()     # stops the loader's workers now, not at interpreter exit

    def _loop(self, batches: Iterator[Dict[str, Any]], sampler: Any, stop: StopOnSignal) -> None:
        """batch -> step -> checks -> hooks, until ``iters`` or a stop."""
        watch = Stopwatch()
        while self.iter < self.iters and not self.stop_requested:
            self.epoch = sampler.epoch_of(self.iter * self.settings.accumulate_steps)
            reader_costs: List[float] = []
            try:
                losses, lr = self._train_step(timed(batches, reader_costs))
            except Exception:
                if not stop.signum:
                    raise
                # The signal also ended the loader's workers while this step waited for its batch:
                # the model is as the last finished step left it, so checkpoint that one.
                raise self._stop(stop.signum) from None
            self.iter += 1
            self.stop_signum = self._check_step(stop)
            samples = self.settings.batch_size * self.settings.accumulate_steps
            self.dispatch("after_step", StepInfo(losses, lr, watch.lap(), reader_costs, samples))
            # Logged above; no evaluation: a preempted job has seconds, not minutes.
            if self.stop_signum:
                raise self._stop(self.stop_signum)
            watch.lap()               # evaluation and saving do not count as batch cost

    # ------------------------------------------------------------------ set-up
    def _resume(self) -> None:
        path = checkpoint_to_resume(self.save_dir, self.settings.resume_model, self.is_main)
        if not path:
            return
        meta = ckpt.resume(path, self.model, self.optimizer)
        self.iter = self.start_iter = int(meta["iter"])
        self.best_miou = float(meta.get("best_miou", -1.0))
        self.best_iter = int(meta.get("best_iter", -1))
        if self.seed is None and "data_seed" in meta:
            self.seed = int(meta["data_seed"])   # the same data order as before the interruption
        self.amp.set_state_dict(meta.get("grad_scaler"))

    def _prepare_model(self) -> None:
        """AMP O2 decoration, ``to_static``, then SyncBatchNorm + DataParallel on several ranks."""
        self.model, self.optimizer = self.amp.decorate(self.model, self.optimizer)
        if self.settings.to_static:
            # Converts the model's forward in place (as PaddleSeg does): evaluation runs it too.
            self.model = paddle.jit.to_static(self.model)
        self._net = self.model
        if self.world_size > 1:
            if self.amp.on_accelerator:   # SyncBatchNorm has no CPU kernel
                self._net = paddle.nn.SyncBatchNorm.convert_sync_batchnorm(self.model)
            self._net = paddle.DataParallel(self._net)

    # ------------------------------------------------------------------ one step
    def _micro_step(self, batch: Dict[str, Any], sync: bool) -> np.ndarray:
        """Forward and backward of one micro-batch; gradients add up until the optimizer step."""
        tracing = self.settings.to_static and self.iter == self.start_iter   # compiles the model
        with self.amp.autocast(), quiet_tracing(tracing):   # without Paddle's harmless notices
            outputs = self._net(batch["img"])
        # Losses in fp32 whatever the precision of the model's outputs.
        outputs = [o.astype("float32") if o.dtype != paddle.float32 else o for o in outputs]
        total, parts = self.losses(outputs, batch["label"])
        steps = self.settings.accumulate_steps
        scaled = total / steps if steps > 1 else total
        if sync or self.world_size == 1:
            self.amp.backward(scaled)
        else:
            with self._net.no_sync():   # gradients are all-reduced once, on the last micro-batch
                self.amp.backward(scaled)
        return np.asarray([total.item()] + [p.item() for p in parts], dtype=np.float64)

    def _train_step(self, batches: Iterator[Dict[str, Any]]) -> "tuple[np.ndarray, float]":
        """One optimizer step over ``accumulate_steps`` micro-batches; returns the mean loss values
        and the learning rate the step used (read before the scheduler moves on)."""
        steps = self.settings.accumulate_steps
        values = sum(self._micro_step(next(batches), sync=i == steps - 1)
                     for i in range(steps)) / steps
        if not math.isfinite(values[0]):
            raise ckpt.NonFiniteError(
                f"loss became {values[0]} at iteration {self.iter + 1} (per output: "
                f"{values[1:].tolist()}); lower the learning rate or check the labels. "
                f"{ckpt.last_good_note(self.save_dir)}")
        lr = float(self.optimizer.get_lr())
        self.amp.step(self.optimizer)
        self.optimizer.clear_grad()
        if self.lr_scheduler is not None:
            self.lr_scheduler.step()
        return values, lr

    def _check_step(self, stop: StopOnSignal) -> int:
        """After each optimizer step: stop with :class:`NonFiniteError` if a weight or buffer became
        NaN/Inf (a cheap screen, confirmed tensor by tensor), and return the signal number all ranks
        agreed to stop on (0: go on). One small all_reduce per step under data parallel."""
        suspect = not ckpt.probably_finite(self.model.state_dict().values())
        signum, suspect = any_rank([float(stop.signum), float(suspect)])
        if suspect:
            problem = ckpt.describe_nonfinite(self.model, self.optimizer)
            if any_rank([float(problem is not None)])[0]:
                raise ckpt.NonFiniteError(
                    f"weights became non-finite at iteration {self.iter} (the loss was still "
                    f"finite): {problem or 'on another rank'}; lower the learning rate (or add "
                    f"warmup / gradient clipping). {ckpt.last_good_note(self.save_dir)}")
        return int(signum)

    def _stop(self, signum: int) -> TrainingInterrupted:
        """Let the hooks checkpoint the last finished step; return the error that ends the run."""
        self.dispatch("on_interrupt", signum)
        if self.world_size > 1:
            dist.barrier()    # no rank exits (and gets the job killed) before rank 0 has saved
        path = os.path.join(self.save_dir, f"iter_{self.iter}")
        how = self.settings.resume_command or f"resume_model='auto' (or the directory {path})"
        name = signal.Signals(signum).name
        return TrainingInterrupted(f"stopped by {name} at iteration {self.iter}/{self.iters}; "
                                   f"checkpoint {path} is written. Resume with: {how}", signum)


def train(model: paddle.nn.Layer, train_dataset: paddle.io.Dataset,
          val_dataset: Optional[paddle.io.Dataset] = None,
          optimizer: Optional[paddle.optimizer.Optimizer] = None, save_dir: str = "output",
          iters: int = 10000, batch_size: int = 2, resume_model: Optional[str] = None,
          save_interval: int = 1000, log_iters: int = 10, num_workers: int = 0,
          use_vdl: bool = False, losses: Any = None, keep_checkpoint_max: int = 5,
          do_eval: Optional[bool] = None) -> Dict[str, Any]:
    """PaddleSeg-style functional entry point (``paddleseg.core.train``); evaluates when given a
    val_dataset. The optimizer's learning rate, when it is an ``LRScheduler``, is stepped after
    every step."""
    if optimizer is None or losses is None:
        raise ValueError("train() needs an optimizer and losses")
    settings = TrainSettings(save_dir=save_dir, iters=iters, batch_size=batch_size,
                             resume_model=resume_model, save_interval=save_interval,
                             log_iters=log_iters, num_workers=num_workers,
                             keep_checkpoint_max=keep_checkpoint_max, use_vdl=use_vdl,
                             do_eval=(val_dataset is not None) if do_eval is None else do_eval)
    return Trainer(model, train_dataset, optimizer, losses, settings, val_dataset=val_dataset,
                   lr_scheduler=scheduler_of(optimizer)).run()
