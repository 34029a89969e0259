"""Decisions and figures shared by the data-parallel ranks (no-ops on one process)."""
from __future__ import annotations

import os
from typing import List, Optional, Union

import numpy as np
import paddle
import paddle.distributed as dist

from ..utils import checkpoint as ckpt
from ..utils import logger
from ..utils.errors import UserError
from ..utils.run_lock import SaveDirLock


def any_rank(flags: List[float]) -> List[float]:
    """Element-wise maximum of ``flags`` over the ranks, so that every rank takes the same decision.
    A collective: every rank must call it at the same point."""
    if dist.get_world_size() == 1:
        return flags
    tensor = paddle.to_tensor(np.asarray(flags, dtype="float32"))
    dist.all_reduce(tensor, op=dist.ReduceOp.MAX)
    return [float(v) for v in tensor.numpy()]


def mean_over_ranks(values: np.ndarray) -> np.ndarray:
    """Element-wise mean of ``values`` over the ranks (a collective, like :func:`any_rank`)."""
    world = dist.get_world_size()
    if world == 1:
        return values
    tensor = paddle.to_tensor(values.astype("float32"))
    dist.all_reduce(tensor)
    return tensor.numpy().astype(np.float64) / world


def lock_save_dir(save_dir: str, is_main: bool) -> SaveDirLock:
    """Rank 0 creates and locks ``save_dir``; every rank fails together (a :class:`UserError`) when it cannot."""
    lock = SaveDirLock(save_dir)
    refused = None
    if is_main:
        try:
            os.makedirs(save_dir, exist_ok=True)
            lock.acquire()
        except UserError as err:
            refused = err
        except OSError as err:      # a file in the way, a read-only or full file system
            refused = UserError(f"cannot use save_dir {save_dir}: {err.strerror or err}"
                                f"{f' ({err.filename})' if err.filename else ''}; choose another --save_dir")
    if any_rank([float(refused is not None)])[0]:
        raise refused or UserError(f"rank 0 could not lock save_dir {save_dir} (see its log)")
    return lock


def checkpoint_to_resume(save_dir: str, resume_model: Optional[str],
                         is_main: bool) -> Union[None, str, ckpt.CheckpointFiles]:
    """What every rank resumes from: ``resume_model``, or for ``auto`` the newest loadable
    checkpoint in ``save_dir`` (None: start from scratch). Rank 0 first tidies up checkpoint
    writes an earlier run left half done."""
    if is_main:
        for action in ckpt.recover_interrupted_writes(save_dir):
            logger.warning(f"Interrupted checkpoint write: {action}")
    if dist.get_world_size() > 1:
        dist.barrier()        # the other ranks look for checkpoints only once rank 0 has tidied up
    if resume_model != "auto":
        return resume_model or None
    found = ckpt.latest_loadable_checkpoint(save_dir)
    if found is None:
        logger.info(f"--resume_model auto: no complete checkpoint in {save_dir}, "
                    "starting from scratch")
    return found
