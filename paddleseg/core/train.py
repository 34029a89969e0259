"""Iteration-based single-process trainer.

``Trainer.run`` is a loop of named steps: fetch a batch, train on it, log, evaluate and checkpoint.
Each step is a short method so the loop reads like the recipe it implements.
"""
from __future__ import annotations

import json
import math
import os
import time
from collections import deque
from typing import Any, Dict, Iterator, List, Optional

import numpy as np
import paddle

from ..utils import logger
from ..utils import checkpoint as ckpt
from ..utils.timer import Stopwatch, TimeAverager, format_eta
from .data import build_loader
from .infer import InferOptions
from .val import evaluate


class Trainer:
    """Trains ``model`` for ``iters`` iterations with ``losses`` (a ``MultiOutputLoss``).

    Args:
        model: the segmentation model; in training mode it returns a list of outputs.
        train_dataset: yields dicts with ``img`` (C x H x W float32) and ``label`` (H x W int64).
        optimizer: a ``paddle.optimizer.Optimizer`` whose learning rate is an ``LRScheduler`` (or a float).
        losses: callable ``(outputs, label) -> (total, [per-output losses])``.
        val_dataset: evaluated every ``save_interval`` iterations when ``do_eval`` is set.
        save_dir: where ``iter_N/``, ``best_model/`` and ``train_log.jsonl`` go.
        resume_model: an ``iter_N`` checkpoint directory, or ``auto`` for the newest complete one in save_dir.
    """

    def __init__(self, model: paddle.nn.Layer, train_dataset: paddle.io.Dataset,
                 optimizer: paddle.optimizer.Optimizer, losses: Any,
                 val_dataset: Optional[paddle.io.Dataset] = None, save_dir: str = "output", iters: int = 10000,
                 batch_size: int = 2, resume_model: Optional[str] = None, save_interval: int = 1000,
                 log_iters: int = 10, num_workers: int = 0, keep_checkpoint_max: int = 5,
                 do_eval: bool = False, use_vdl: bool = False, eval_options: Optional[InferOptions] = None) -> None:
        if iters < 1:
            raise ValueError(f"iters must be >= 1, got {iters}")
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        if len(train_dataset) < batch_size:
            raise ValueError(f"train dataset has {len(train_dataset)} samples, fewer than batch_size {batch_size}")
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
        self.iter = 0
        self.epoch = 0
        self.best_miou = -1.0
        self.best_iter = -1
        self.history: List[Dict[str, Any]] = []
        self._vdl = None

    # ------------------------------------------------------------------ steps
    def _resume(self) -> None:
        path = self.resume_model
        if not path:
            return
        if path == "auto":
            path = ckpt.latest_checkpoint(self.save_dir)
            if path is None:
                logger.info(f"--resume_model auto: no complete checkpoint in {self.save_dir}, starting from scratch")
                return
        meta = ckpt.resume(path, self.model, self.optimizer)
        self.iter = int(meta["iter"])
        self.best_miou = float(meta.get("best_miou", -1.0))
        self.best_iter = int(meta.get("best_iter", -1))

    def _batches(self) -> Iterator[Dict[str, Any]]:
        """Endless stream of training batches, epoch after epoch."""
        loader = build_loader(self.train_dataset, self.batch_size, shuffle=True, drop_last=True,
                              num_workers=self.num_workers)
        while True:
            self.epoch += 1
            for batch in loader:
                yield batch

    def _train_step(self, batch: Dict[str, Any]) -> List[float]:
        """One forward/backward/update; returns [total, per-output...] loss values."""
        outputs = self.model(batch["img"])
        total, parts = self.losses(outputs, batch["label"])
        total.backward()
        self.optimizer.step()
        self.optimizer.clear_grad()
        lr_sched = self._scheduler()
        if lr_sched is not None:
            lr_sched.step()
        values = [total.item()] + [float(p.item()) for p in parts]
        if not math.isfinite(values[0]):
            raise FloatingPointError(
                f"loss became {values[0]} at iteration {self.iter} (per output: {values[1:]}); lower the "
                f"learning rate or check the labels. The last good checkpoint is in {self.save_dir}")
        return values

    def _scheduler(self) -> Optional[paddle.optimizer.lr.LRScheduler]:
        lr = getattr(self.optimizer, "_learning_rate", None)
        return lr if isinstance(lr, paddle.optimizer.lr.LRScheduler) else None

    def _log(self, loss_sums: np.ndarray, count: int, batch_time: TimeAverager, reader_time: TimeAverager,
             recent_batch_costs: deque) -> None:
        avg = loss_sums / max(count, 1)
        lr = self.optimizer.get_lr()
        remaining = self.iters - self.iter
        eta = format_eta(remaining * (sum(recent_batch_costs) / max(len(recent_batch_costs), 1)))
        parts = ", ".join(f"{v:.4f}" for v in avg[1:])
        logger.info(
            f"[TRAIN] epoch: {self.epoch}, iter: {self.iter}/{self.iters}, loss: {avg[0]:.4f}, lr: {lr:.6f}, "
            f"batch_cost: {batch_time.average():.4f}, reader_cost: {reader_time.average():.5f}, "
            f"ips: {batch_time.ips():.4f} samples/sec | ETA {eta} | losses: [{parts}]")
        self._record({"iter": self.iter, "epoch": self.epoch, "loss": float(avg[0]),
                      "losses": [float(v) for v in avg[1:]], "lr": lr, "batch_cost": batch_time.average(),
                      "reader_cost": reader_time.average(), "ips": batch_time.ips()})

    def _record(self, entry: Dict[str, Any]) -> None:
        """Append to the JSON-lines log and VisualDL (when enabled)."""
        self.history.append(entry)
        with open(os.path.join(self.save_dir, "train_log.jsonl"), "a") as f:
            f.write(json.dumps(entry) + "\n")
        if self._vdl is not None:
            for key, value in entry.items():
                if isinstance(value, (int, float)) and key not in ("iter", "epoch"):
                    self._vdl.add_scalar(f"Train/{key}", value, self.iter)
                elif key == "losses":
                    for i, v in enumerate(value):
                        self._vdl.add_scalar(f"Train/loss_{i}", v, self.iter)

    def _evaluate(self) -> Optional[float]:
        if not (self.do_eval and self.val_dataset is not None):
            return None
        result = evaluate(self.model, self.val_dataset, num_workers=self.num_workers, options=self.eval_options)
        miou = result["mIoU"]
        if miou > self.best_miou:
            self.best_miou, self.best_iter = miou, self.iter
            ckpt.save_checkpoint(os.path.join(self.save_dir, "best_model"), self.model,
                                 meta={"iter": self.iter, "mIoU": miou, "Acc": result["Acc"], "Kappa": result["Kappa"]})
        logger.info(f"[EVAL] The model with the best validation mIoU ({self.best_miou:.4f}) was saved at iter "
                    f"{self.best_iter}.")
        entry = {"iter": self.iter, "eval_mIoU": miou, "eval_Acc": result["Acc"], "eval_Kappa": result["Kappa"]}
        self._record(entry)
        return miou

    def _save(self) -> None:
        path = os.path.join(self.save_dir, f"iter_{self.iter}")
        ckpt.save_checkpoint(path, self.model, self.optimizer,
                             meta={"iter": self.iter, "best_miou": self.best_miou, "best_iter": self.best_iter})
        removed = ckpt.prune_checkpoints(self.save_dir, self.keep_checkpoint_max)
        logger.info(f"Saved checkpoint {path}" + (f" (removed {len(removed)} old)" if removed else ""))

    # ------------------------------------------------------------------ loop
    def run(self) -> Dict[str, Any]:
        """Train to ``iters``; returns a summary (final iteration, best mIoU, history)."""
        os.makedirs(self.save_dir, exist_ok=True)
        self._resume()
        if self.iter >= self.iters:
            logger.info(f"Checkpoint is at iteration {self.iter} >= iters {self.iters}: nothing to train.")
            return self.summary()
        if self.use_vdl:
            from visualdl import LogWriter
            self._vdl = LogWriter(os.path.join(self.save_dir, "vdl"))
        self.model.train()
        batch_time, reader_time = TimeAverager(), TimeAverager()
        recent = deque(maxlen=50)
        loss_sums, count = None, 0
        logger.info(f"Start training: iters {self.iter + 1}..{self.iters}, batch_size {self.batch_size}, "
                    f"{len(self.train_dataset)} train samples")
        watch = Stopwatch()
        for batch in self._batches():
            reader_cost = watch.lap()
            self.iter += 1
            values = np.asarray(self._train_step(batch), dtype=np.float64)
            batch_cost = reader_cost + watch.lap()  # PaddleSeg's batch_cost includes reading
            loss_sums = values if loss_sums is None else loss_sums + values
            count += 1
            reader_time.record(reader_cost)
            batch_time.record(batch_cost, self.batch_size)
            recent.append(batch_cost)
            if self.iter % self.log_iters == 0 or self.iter == self.iters:
                self._log(loss_sums, count, batch_time, reader_time, recent)
                loss_sums, count = None, 0
                batch_time.reset()
                reader_time.reset()
            if self.iter % self.save_interval == 0 or self.iter == self.iters:
                self._evaluate()
                self._save()
            if self.iter >= self.iters:
                break
            watch.lap()  # logging, evaluation and saving do not count as reader cost
        if self._vdl is not None:
            self._vdl.close()
        return self.summary()

    def summary(self) -> Dict[str, Any]:
        return {"iter": self.iter, "best_miou": self.best_miou, "best_iter": self.best_iter,
                "history": self.history}


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
