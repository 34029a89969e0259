"""Iteration-based trainer: one device, or data-parallel under paddle.distributed.launch.

``Trainer.run`` is a loop of named steps: fetch a batch, train on it, log, evaluate and checkpoint.
Each step is a short method so the loop reads like the recipe it implements.

Faults: the run holds a lock on its save_dir (:mod:`paddleseg.utils.run_lock`); a non-finite loss,
weight, buffer or optimizer moment stops it before anything more is written; SIGTERM / SIGINT stop it
at the end of the current step with a checkpoint of that iteration (exit status 143 / 130), and a
second signal exits at once.
"""
from __future__ import annotations

import ctypes
import json
import math
import os
import random
import signal
import threading
import time
from collections import deque
from typing import Any, Callable, Dict, Iterator, List, Optional

import numpy as np
import paddle
import paddle.distributed as dist

from ..utils import logger
from ..utils import checkpoint as ckpt
from ..utils.errors import UserError
from ..utils.run_lock import SaveDirLock
from ..utils.timer import Stopwatch, TimeAverager, format_eta
from .amp import MixedPrecision
from .data import build_train_loader
from .infer import InferOptions
from .val import evaluate
from .vdl_images import log_predictions


class TrainingInterrupted(UserError):
    """SIGTERM / SIGINT stopped the run after a checkpoint of the current iteration; exit 128 + signal."""

    def __init__(self, message: str, signum: int) -> None:
        super().__init__(message)
        self.signum = signum
        self.exit_code = 128 + signum


try:
    _LIBC = ctypes.CDLL(None, use_errno=True)
    _LIBC.sigaction          # noqa: B018 (probe: not every libc exposes it)
except (OSError, AttributeError):
    _LIBC = None
_SIGACTION_SIZE = 1024      # larger than any platform's struct sigaction: saved and restored opaquely


class StopOnSignal:
    """While active, SIGTERM and SIGINT ask the trainer to stop after the current step (``signum``
    becomes non-zero); a second signal exits at once with 128 + signal.

    Handlers are installed from the main thread only, and the previous ones are restored on exit,
    including handlers installed from C (``import paddle`` installs some that Python's
    ``signal.getsignal`` cannot see): their raw ``sigaction`` is saved and put back.
    """

    SIGNALS = (signal.SIGTERM, signal.SIGINT)

    def __init__(self, on_exit_now: Optional[Callable[[], None]] = None) -> None:
        self.signum = 0
        self._on_exit_now = on_exit_now
        self._saved: Dict[int, Any] = {}
        self._pid = os.getpid()

    def __enter__(self) -> "StopOnSignal":
        if threading.current_thread() is not threading.main_thread():
            return self
        for sig in self.SIGNALS:
            raw = None
            if _LIBC is not None:
                raw = ctypes.create_string_buffer(_SIGACTION_SIZE)
                if _LIBC.sigaction(int(sig), None, raw) != 0:
                    raw = None
            self._saved[sig] = (signal.getsignal(sig), raw)
            signal.signal(sig, self._handle)
        return self

    def __exit__(self, *exc: Any) -> None:
        for sig, (previous, raw) in self._saved.items():
            signal.signal(sig, previous if previous is not None else signal.SIG_DFL)
            if raw is not None:
                _LIBC.sigaction(int(sig), raw, None)
        self._saved = {}

    def _handle(self, signum: int, frame: Any) -> None:
        if os.getpid() != self._pid:
            return     # a forked data-loading worker (a terminal signals them all): the trainer decides
        name = signal.Signals(signum).name
        if self.signum:
            os.write(2, f"\n{name} again: exiting now, without a checkpoint of the current step\n".encode())
            if self._on_exit_now is not None:
                self._on_exit_now()
            os._exit(128 + signum)
        self.signum = signum
        # A scheduler signals the whole process group, so the data-loading workers end too; Paddle's
        # SIGCHLD handler would raise about that in the middle of the step we are finishing.
        if hasattr(signal, "SIGCHLD") and signal.SIGCHLD not in self._saved:
            self._saved[signal.SIGCHLD] = (signal.getsignal(signal.SIGCHLD), None)
            signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        # os.write, not logging: a handler may run while the main thread holds the logging lock.
        os.write(2, f"\n{name} received: stopping after the current step with a checkpoint "
                    f"(send it again to exit at once)\n".encode())


class Trainer:
    """Trains ``model`` for ``iters`` iterations with ``losses`` (a ``MultiOutputLoss``).

    Runs on one device or, under ``paddle.distributed.launch``, data-parallel on every rank
    (``paddle.DataParallel``; BatchNorm becomes SyncBatchNorm on GPUs). Rank 0 alone logs and
    writes checkpoints; logged losses are averaged over ranks and ips is the global figure.

    Args:
        model: the segmentation model; in training mode it returns a list of outputs.
        train_dataset: yields dicts with ``img`` (C x H x W float32) and ``label`` (H x W int64).
        optimizer: a ``paddle.optimizer.Optimizer`` whose learning rate is an ``LRScheduler`` (or a float).
        losses: callable ``(outputs, label) -> (total, [per-output losses])``.
        val_dataset: evaluated every ``save_interval`` iterations when ``do_eval`` is set.
        save_dir: where ``iter_N/``, ``best_model/`` and ``train_log.jsonl`` go.
        iters: optimizer steps to train for.
        batch_size: samples per rank per step (per micro-batch with ``accumulate_steps``).
        resume_model: an ``iter_N`` checkpoint directory, or ``auto`` for the newest complete one in save_dir.
        seed: data order and augmentation seed (drawn at random and kept in checkpoints when None).
        precision, amp_level: mixed precision (see :mod:`paddleseg.core.amp`).
        accumulate_steps: micro-batches whose gradients add up to one optimizer step.
        eval_options: inference settings of the periodic evaluation.
        resume_command: the command line that resumes this run, printed when a signal stops it
            (train.py passes its own with ``--resume_model auto``).
    """

    def __init__(self, model: paddle.nn.Layer, train_dataset: paddle.io.Dataset,
                 optimizer: paddle.optimizer.Optimizer, losses: Any,
                 val_dataset: Optional[paddle.io.Dataset] = None, save_dir: str = "output", iters: int = 10000,
                 batch_size: int = 2, resume_model: Optional[str] = None, save_interval: int = 1000,
                 log_iters: int = 10, num_workers: int = 0, keep_checkpoint_max: int = 5,
                 do_eval: bool = False, use_vdl: bool = False, eval_options: Optional[InferOptions] = None,
                 seed: Optional[int] = None, precision: str = "fp32", amp_level: str = "O1",
                 accumulate_steps: int = 1, resume_command: Optional[str] = None) -> None:
        if iters < 1:
            raise ValueError(f"iters must be >= 1, got {iters}")
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        if accumulate_steps < 1:
            raise ValueError(f"accumulate_steps must be >= 1, got {accumulate_steps}")
        self.world_size, self.rank = dist.get_world_size(), dist.get_rank()
        if len(train_dataset) < batch_size * self.world_size:
            raise ValueError(f"train dataset has {len(train_dataset)} samples, fewer than batch_size {batch_size}"
                             + (f" x {self.world_size} ranks" if self.world_size > 1 else ""))
        if do_eval and val_dataset is None:
            raise ValueError("--do_eval needs a val_dataset in the config")
        self.model, self.optimizer, self.losses = model, optimizer, losses
        self.train_dataset, self.val_dataset = train_dataset, val_dataset
        self.save_dir, self.iters, self.batch_size = save_dir, iters, batch_size
        self.save_interval = max(1, save_interval)
        self.log_iters = max(1, log_iters)
        self.num_workers, self.keep_checkpoint_max = num_workers, keep_checkpoint_max
        self.do_eval, self.use_vdl = do_eval, use_vdl
        self.eval_options = eval_options
        self.resume_model = resume_model
        self.seed = seed
        self.accumulate_steps = accumulate_steps
        self.resume_command = resume_command
        self.amp = MixedPrecision(precision, amp_level)
        self.iter = 0
        self.epoch = 0
        self.best_miou = -1.0
        self.best_iter = -1
        self.history: List[Dict[str, Any]] = []
        self._vdl = None
        self._net: paddle.nn.Layer = model   # what the forward pass calls (DataParallel when distributed)

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    # ------------------------------------------------------------------ set-up
    def _resume(self) -> None:
        if self.is_main:
            for action in ckpt.recover_interrupted_writes(self.save_dir):
                logger.warning(f"Interrupted checkpoint write: {action}")
        if self.world_size > 1:
            dist.barrier()        # the other ranks look for checkpoints only once rank 0 has tidied up
        path = self.resume_model
        if not path:
            return
        if path == "auto":
            path = ckpt.latest_loadable_checkpoint(self.save_dir)
            if path is None:
                logger.info(f"--resume_model auto: no complete checkpoint in {self.save_dir}, starting from scratch")
                return
        meta = ckpt.resume(path, self.model, self.optimizer)
        self.iter = int(meta["iter"])
        self.best_miou = float(meta.get("best_miou", -1.0))
        self.best_iter = int(meta.get("best_iter", -1))
        if self.seed is None and "data_seed" in meta:
            self.seed = int(meta["data_seed"])   # the same data order as before the interruption
        self.amp.set_state_dict(meta.get("grad_scaler"))
        if self.is_main:
            self._truncate_log(self.iter)

    def _truncate_log(self, last_iter: int) -> None:
        """Drop log entries after the checkpoint resumed from: they are about to be trained again,
        and the log should read as one run (plots and scripts see each iteration once)."""
        path = os.path.join(self.save_dir, "train_log.jsonl")
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
            logger.info(f"train_log.jsonl: dropped {len(lines) - len(kept)} entries after iteration {last_iter}")

    def _prepare_model(self) -> None:
        """AMP O2 decoration, then SyncBatchNorm + DataParallel when several ranks train."""
        self.model, self.optimizer = self.amp.decorate(self.model, self.optimizer)
        self._net = self.model
        if self.world_size > 1:
            if self.amp.on_accelerator:   # SyncBatchNorm has no CPU kernel
                self._net = paddle.nn.SyncBatchNorm.convert_sync_batchnorm(self.model)
            self._net = paddle.DataParallel(self._net)

    def _batches(self) -> Iterator[Dict[str, Any]]:
        """Endless micro-batches, continuing exactly where iteration ``self.iter`` left off."""
        loader = build_train_loader(self.train_dataset, self.batch_size, self.seed,
                                    start_iter=self.iter * self.accumulate_steps, rank=self.rank,
                                    world_size=self.world_size, num_workers=self.num_workers)
        self._sampler = loader.batch_sampler
        return iter(loader)

    # ------------------------------------------------------------------ steps
    def _micro_step(self, batch: Dict[str, Any], sync: bool) -> np.ndarray:
        """Forward and backward of one micro-batch; gradients add up until the optimizer step."""
        with self.amp.autocast():
            outputs = self._net(batch["img"])
        # Losses in fp32 whatever the precision of the model's outputs.
        outputs = [o.astype("float32") if o.dtype != paddle.float32 else o for o in outputs]
        total, parts = self.losses(outputs, batch["label"])
        scaled = total / self.accumulate_steps if self.accumulate_steps > 1 else total
        if sync or self.world_size == 1:
            self.amp.backward(scaled)
        else:
            with self._net.no_sync():   # gradients are all-reduced once, on the last micro-batch
                self.amp.backward(scaled)
        return np.asarray([float(total.item())] + [float(p.item()) for p in parts], dtype=np.float64)

    def _train_step(self, batches: Iterator[Dict[str, Any]]) -> np.ndarray:
        """One optimizer step over ``accumulate_steps`` micro-batches; returns the mean loss values."""
        values = sum(self._micro_step(next(batches), sync=i == self.accumulate_steps - 1)
                     for i in range(self.accumulate_steps)) / self.accumulate_steps
        if not math.isfinite(values[0]):
            raise ckpt.NonFiniteError(
                f"loss became {values[0]} at iteration {self.iter + 1} (per output: {values[1:].tolist()}); lower "
                f"the learning rate or check the labels. {self._last_good()}")
        self.amp.step(self.optimizer)
        self.optimizer.clear_grad()
        lr_sched = self._scheduler()
        if lr_sched is not None:
            lr_sched.step()
        return values

    def _last_good(self) -> str:
        newest = ckpt.latest_checkpoint(self.save_dir)
        where = f"is {newest}" if newest else f"would be in {self.save_dir} (none was written yet)"
        return f"Nothing was written after it: the last good checkpoint {where}"

    def _any_rank(self, flags: List[float]) -> List[float]:
        """Element-wise maximum of ``flags`` over the ranks, so that every rank takes the same decision."""
        if self.world_size == 1:
            return flags
        tensor = paddle.to_tensor(np.asarray(flags, dtype="float32"))
        dist.all_reduce(tensor, op=dist.ReduceOp.MAX)
        return [float(v) for v in tensor.numpy()]

    def _check_step(self, stop: StopOnSignal) -> int:
        """After each optimizer step: stop with :class:`NonFiniteError` if a weight or buffer became
        NaN/Inf (a cheap screen, confirmed tensor by tensor), and return the signal number all ranks
        agreed to stop on (0: go on). One small all_reduce per step under data parallel."""
        suspect = not ckpt.probably_finite(self.model.state_dict().values())
        signum, suspect = self._any_rank([float(stop.signum), float(suspect)])
        if suspect:
            problem = ckpt.describe_nonfinite(self.model, self.optimizer)
            if self._any_rank([float(problem is not None)])[0]:
                raise ckpt.NonFiniteError(
                    f"weights became non-finite at iteration {self.iter} (the loss was still finite): "
                    f"{problem or 'on another rank'}; lower the learning rate (or add warmup / gradient clipping). "
                    f"{self._last_good()}")
        return int(signum)

    def _stop(self, signum: int) -> TrainingInterrupted:
        """Checkpoint the last finished step (rank 0) and return the error that ends the run."""
        self._save()
        if self.world_size > 1:
            dist.barrier()    # no rank exits (and gets the job killed) before rank 0 has saved
        return self._interrupted(signum)

    def _interrupted(self, signum: int) -> TrainingInterrupted:
        path = os.path.join(self.save_dir, f"iter_{self.iter}")
        how = self.resume_command or f"resume_model='auto' (or the directory {path})"
        return TrainingInterrupted(f"stopped by {signal.Signals(signum).name} at iteration {self.iter}/{self.iters}; "
                                   f"checkpoint {path} is written. Resume with: {how}", signum)

    def _scheduler(self) -> Optional[paddle.optimizer.lr.LRScheduler]:
        lr = getattr(self.optimizer, "_learning_rate", None)
        return lr if isinstance(lr, paddle.optimizer.lr.LRScheduler) else None

    def _mean_over_ranks(self, values: np.ndarray) -> np.ndarray:
        if self.world_size == 1:
            return values
        tensor = paddle.to_tensor(values.astype("float32"))
        dist.all_reduce(tensor)
        return tensor.numpy().astype(np.float64) / self.world_size

    def _log(self, loss_sums: np.ndarray, count: int, batch_time: TimeAverager, reader_time: TimeAverager,
             recent_batch_costs: deque) -> None:
        avg = self._mean_over_ranks(loss_sums / max(count, 1))
        if not self.is_main:
            return
        lr = self.optimizer.get_lr()
        remaining = self.iters - self.iter
        eta = format_eta(remaining * (sum(recent_batch_costs) / max(len(recent_batch_costs), 1)))
        parts = ", ".join(f"{v:.4f}" for v in avg[1:])
        ips = batch_time.ips() * self.world_size
        logger.info(
            f"[TRAIN] epoch: {self.epoch}, iter: {self.iter}/{self.iters}, loss: {avg[0]:.4f}, lr: {lr:.6f}, "
            f"batch_cost: {batch_time.average():.4f}, reader_cost: {reader_time.average():.5f}, "
            f"ips: {ips:.4f} samples/sec | ETA {eta} | losses: [{parts}]")
        self._record({"iter": self.iter, "epoch": self.epoch, "loss": float(avg[0]),
                      "losses": [float(v) for v in avg[1:]], "lr": lr, "batch_cost": batch_time.average(),
                      "reader_cost": reader_time.average(), "ips": ips})

    def _record(self, entry: Dict[str, Any]) -> None:
        """Append to the JSON-lines log and VisualDL (when enabled); rank 0 only."""
        if not self.is_main:
            return
        self.history.append(entry)
        with open(os.path.join(self.save_dir, "train_log.jsonl"), "a") as f:
            f.write(json.dumps(entry) + "\n")
        if self._vdl is not None:
            for key, value in entry.items():
                if isinstance(value, (int, float)) and key not in ("iter", "epoch"):
                    self._vdl.add_scalar(f"Train/{key}" if not key.startswith("eval_") else f"Eval/{key[5:]}",
                                         value, self.iter)
                elif key == "losses":
                    for i, v in enumerate(value):
                        self._vdl.add_scalar(f"Train/loss_{i}", v, self.iter)

    def _evaluate(self) -> Optional[float]:
        if not (self.do_eval and self.val_dataset is not None):
            return None
        # Every rank evaluates its share; the confusion matrices are summed inside evaluate().
        result = evaluate(self.model, self.val_dataset, num_workers=self.num_workers, options=self.eval_options)
        miou = result["mIoU"]
        if miou > self.best_miou:
            self.best_miou, self.best_iter = miou, self.iter
            if self.is_main:
                ckpt.save_checkpoint(os.path.join(self.save_dir, "best_model"), self.model,
                                     meta={"iter": self.iter, "mIoU": miou, "Acc": result["Acc"],
                                           "Kappa": result["Kappa"]})
        logger.info(f"[EVAL] The model with the best validation mIoU ({self.best_miou:.4f}) was saved at iter "
                    f"{self.best_iter}.")
        self._record({"iter": self.iter, "eval_mIoU": miou, "eval_Acc": result["Acc"],
                      "eval_Kappa": result["Kappa"]})
        if self._vdl is not None:
            log_predictions(self._vdl, self.model, self.val_dataset, self.iter)
        return miou

    def _save(self) -> None:
        if not self.is_main:
            return
        path = os.path.join(self.save_dir, f"iter_{self.iter}")
        ckpt.save_checkpoint(path, self.model, self.optimizer,
                             meta={"iter": self.iter, "best_miou": self.best_miou, "best_iter": self.best_iter,
                                   "data_seed": self.seed, "grad_scaler": self.amp.state_dict()},
                             rng_state=ckpt.capture_rng_state())
        removed = ckpt.prune_checkpoints(self.save_dir, self.keep_checkpoint_max, protect=path)
        logger.info(f"Saved checkpoint {path}" + (f" (removed {len(removed)} old)" if removed else ""))

    # ------------------------------------------------------------------ loop
    def run(self) -> Dict[str, Any]:
        """Train to ``iters``; returns a summary (final iteration, best mIoU, history).

        Raises:
            SaveDirInUseError: another live run holds ``save_dir``.
            NonFiniteError: the loss or the weights became NaN/Inf (nothing was written after it).
            TrainingInterrupted: SIGTERM / SIGINT; a checkpoint of the last finished step was written.
        """
        try:
            os.makedirs(self.save_dir, exist_ok=True)
            lock = self._lock_save_dir()
        except UserError:
            raise
        except OSError as err:      # a file in the way, a read-only or full file system
            raise UserError(f"cannot use save_dir {self.save_dir}: {err.strerror or err}"
                            f"{f' ({err.filename})' if err.filename else ''}; choose another --save_dir") from err
        try:
            with StopOnSignal(on_exit_now=lock.release) as stop:
                return self._run(stop)
        finally:
            lock.release()
            if self._vdl is not None:
                self._vdl.close()
                self._vdl = None

    def _lock_save_dir(self) -> SaveDirLock:
        """Rank 0 locks save_dir; every rank fails together when it cannot."""
        lock = SaveDirLock(self.save_dir)
        refused = None
        if self.is_main:
            try:
                lock.acquire()
            except UserError as err:
                refused = err
        if self._any_rank([float(refused is not None)])[0]:
            raise refused or UserError(f"rank 0 could not lock save_dir {self.save_dir} (see its log)")
        return lock

    def _run(self, stop: StopOnSignal) -> Dict[str, Any]:
        self._resume()
        if self.iter >= self.iters:
            logger.info(f"Checkpoint is at iteration {self.iter} >= iters {self.iters}: nothing to train.")
            return self.summary()
        if self.seed is None:
            self.seed = random.SystemRandom().randrange(2 ** 31)
        self._prepare_model()
        if self.use_vdl and self.is_main:
            from visualdl import LogWriter
            self._vdl = LogWriter(os.path.join(self.save_dir, "vdl"))
        self._net.train()
        logger.info(f"Start training: iters {self.iter + 1}..{self.iters}, batch_size {self.batch_size}"
                    + (f" x {self.accumulate_steps} accumulated" if self.accumulate_steps > 1 else "")
                    + (f" x {self.world_size} ranks" if self.world_size > 1 else "")
                    + f", {len(self.train_dataset)} train samples, data seed {self.seed}")
        batches = self._batches()
        try:
            return self._loop(batches, stop)
        finally:
            batches.close()     # stops the loader's workers now, not at interpreter exit

    def _loop(self, batches: Iterator[Dict[str, Any]], stop: StopOnSignal) -> Dict[str, Any]:
        batch_time, reader_time = TimeAverager(), TimeAverager()
        recent = deque(maxlen=50)
        loss_sums, count = None, 0
        samples_per_step = self.batch_size * self.accumulate_steps
        watch = Stopwatch()
        while self.iter < self.iters:
            self.epoch = self._sampler.epoch_of(self.iter * self.accumulate_steps)
            try:
                values = self._train_step(_timed(batches, reader_time))
            except Exception:
                if not stop.signum:
                    raise
                # The signal also ended the loader's workers while this step waited for its batch:
                # the model is as the last finished step left it, so checkpoint that one.
                raise self._stop(stop.signum) from None
            self.iter += 1
            stop_signum = self._check_step(stop)
            batch_cost = watch.lap()   # PaddleSeg's batch_cost includes reading
            loss_sums = values if loss_sums is None else loss_sums + values
            count += 1
            batch_time.record(batch_cost, samples_per_step)
            recent.append(batch_cost)
            if self.iter % self.log_iters == 0 or self.iter == self.iters:
                self._log(loss_sums, count, batch_time, reader_time, recent)
                loss_sums, count = None, 0
                batch_time.reset()
                reader_time.reset()
            if stop_signum:           # no evaluation: a preempted job has seconds, not minutes
                raise self._stop(stop_signum)
            if self.iter % self.save_interval == 0 or self.iter == self.iters:
                self._evaluate()
                self._save()
                self._net.train()
                watch.lap()  # evaluation and saving do not count as batch cost
        return self.summary()

    def summary(self) -> Dict[str, Any]:
        return {"iter": self.iter, "best_miou": self.best_miou, "best_iter": self.best_iter,
                "history": self.history}


def _timed(batches: Iterator[Dict[str, Any]], reader_time: TimeAverager) -> Iterator[Dict[str, Any]]:
    """Yields from ``batches`` while adding the time spent waiting for each to ``reader_time``."""
    while True:
        start = time.perf_counter()
        batch = next(batches)
        reader_time.record(time.perf_counter() - start)
        yield batch


def train(model: paddle.nn.Layer, train_dataset: paddle.io.Dataset, val_dataset: Optional[paddle.io.Dataset] = None,
          optimizer: Optional[paddle.optimizer.Optimizer] = None, save_dir: str = "output", iters: int = 10000,
          batch_size: int = 2, resume_model: Optional[str] = None, save_interval: int = 1000,
          log_iters: int = 10, num_workers: int = 0, use_vdl: bool = False, losses: Any = None,
          keep_checkpoint_max: int = 5, do_eval: Optional[bool] = None) -> Dict[str, Any]:
    """PaddleSeg-style functional entry point (``paddleseg.core.train``); evaluates when given a val_dataset."""
    if optimizer is None or losses is None:
        raise ValueError("train() needs an optimizer and losses")
    trainer = Trainer(model, train_dataset, optimizer, losses, val_dataset=val_dataset, save_dir=save_dir,
                      iters=iters, batch_size=batch_size, resume_model=resume_model, save_interval=save_interval,
                      log_iters=log_iters, num_workers=num_workers, keep_checkpoint_max=keep_checkpoint_max,
                      do_eval=(val_dataset is not None) if do_eval is None else do_eval, use_vdl=use_vdl)
    return trainer.run()
