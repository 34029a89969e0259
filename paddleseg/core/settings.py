"""The settings of a training run (:class:`TrainSettings`)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from .infer import InferOptions


@dataclass
class TrainSettings:
    """How to train (everything but the model, data, optimizer, losses and scheduler).

    ``save_dir`` receives ``iter_N/``, ``best_model/`` and ``train_log.jsonl``; ``batch_size`` is per
    rank and per micro-batch; ``save_interval`` is also the evaluation interval; ``resume_model`` is
    an ``iter_N`` directory or ``auto`` (the newest complete one in save_dir); ``seed`` (drawn at
    random and kept in checkpoints when None) fixes the data order and augmentation;
    ``precision`` / ``amp_level``: see :mod:`paddleseg.core.amp`; ``accumulate_steps``
    micro-batches make one optimizer step; ``eval_options`` are the inference settings of the
    periodic evaluation; ``resume_command`` is printed when a signal stops the run;
    ``to_static`` trains through ``paddle.jit.to_static`` (the config's ``to_static_training``).
    """
    save_dir: str = "output"
    iters: int = 10000
    batch_size: int = 2
    save_interval: int = 1000
    log_iters: int = 10
    num_workers: int = 0
    keep_checkpoint_max: int = 5
    do_eval: bool = False
    use_vdl: bool = False
    seed: Optional[int] = None
    precision: str = "fp32"
    amp_level: str = "O1"
    accumulate_steps: int = 1
    resume_model: Optional[str] = None
    eval_options: Optional[InferOptions] = None
    resume_command: Optional[str] = None
    to_static: bool = False

    def __post_init__(self) -> None:
        for name in ("iters", "batch_size", "accumulate_steps"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
