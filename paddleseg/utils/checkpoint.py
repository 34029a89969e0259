"""Checkpoints: written to a temporary directory and renamed into place.

Layout (PaddleSeg-compatible): ``<save_dir>/iter_N/{model.pdparams, model.pdopt, meta.json}`` and
``<save_dir>/best_model/{model.pdparams, meta.json}``. ``meta.json`` is written last inside the
temporary directory, and the directory only appears under its final name through an atomic rename, so
a crash mid-write never leaves a half-written ``iter_N``: a checkpoint is complete iff its
``meta.json`` exists. Checkpoints written by PaddleSeg (no ``meta.json``) still load by path.

Nothing non-finite is ever written (:class:`NonFiniteError` instead), a failed write (disk full)
removes its temporary directory and names the checkpoint and the free space, and resuming checks
that every file parses (:func:`read_checkpoint`; ``auto`` skips a broken newest checkpoint with a
warning) and that the optimizer state fits the configured optimizer before anything is applied.

This module writes, lists and prunes; reading and resuming live in :mod:`.checkpoint_read`, the NaN/Inf
checks in :mod:`.nonfinite`, and both are re-exported here (``checkpoint.resume``, ``NonFiniteError``...).
"""
from __future__ import annotations

import errno
import json
import os
import pickle
import re
import shutil
import warnings
from typing import Any, Dict, List, Optional

import paddle

from .errors import CheckpointError
from .fileio import free_space
from .run_lock import process_alive
from .checkpoint_read import (  # noqa: F401  (re-exported: the checkpoint API is used as ckpt.*)
    META, RNG_STATE, BrokenCheckpointError, CheckpointFiles, CheckpointNotFoundError,
    capture_rng_state, last_good_note, latest_checkpoint, latest_loadable_checkpoint,
    list_checkpoints, read_checkpoint, read_meta, restore_rng_state, resume)
from .nonfinite import NonFiniteError, describe_nonfinite, nonfinite_tensors, probably_finite  # noqa: F401
from .optimizer_state import check_optimizer_state, scheduler_of  # noqa: F401


def _fsync_dir(path: str) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _write_dir_atomically(final_dir: str, writer) -> None:
    """Run ``writer(tmp_dir)`` then move ``tmp_dir`` to ``final_dir`` (replacing it)."""
    parent = os.path.dirname(os.path.abspath(final_dir))
    os.makedirs(parent, exist_ok=True)
    name = os.path.basename(final_dir)
    tmp_dir = os.path.join(parent, f".{name}.tmp-{os.getpid()}")
    shutil.rmtree(tmp_dir, ignore_errors=True)
    try:
        os.makedirs(tmp_dir)
        writer(tmp_dir)
        for fname in os.listdir(tmp_dir):
            with open(os.path.join(tmp_dir, fname), "rb+") as f:
                os.fsync(f.fileno())
        _fsync_dir(tmp_dir)
    except OSError as err:
        shutil.rmtree(tmp_dir, ignore_errors=True)   # a partial copy would only hold the space
        raise _write_error(final_dir, err) from err
    old_dir = None
    if os.path.exists(final_dir):
        # Keep the old copy until the new one is in place: a crash here leaves both readable.
        old_dir = os.path.join(parent, f".{name}.old-{os.getpid()}")
        shutil.rmtree(old_dir, ignore_errors=True)
        os.rename(final_dir, old_dir)
    os.rename(tmp_dir, final_dir)
    _fsync_dir(parent)
    if old_dir:
        shutil.rmtree(old_dir, ignore_errors=True)


def _write_error(final_dir: str, err: OSError) -> CheckpointError:
    """The error for a checkpoint that could not be written: its path, the cause, the free space."""
    advice = "free some space or use another --save_dir" if err.errno in (errno.ENOSPC, errno.EDQUOT) \
        else "check that --save_dir is writable, or use another"
    return CheckpointError(f"cannot write checkpoint {final_dir}: {err.strerror or err} ({free_space(final_dir)}); "
                           f"{advice}. The partial copy was removed and earlier checkpoints are untouched")


def save_checkpoint(ckpt_dir: str, model: paddle.nn.Layer, optimizer: Optional[paddle.optimizer.Optimizer] = None,
                    meta: Optional[Dict[str, Any]] = None, rng_state: Optional[Dict[str, Any]] = None) -> str:
    """Atomically write model (and optimizer) state plus ``meta.json`` into ``ckpt_dir``.

    ``rng_state`` (from :func:`capture_rng_state`) is pickled beside them, so a resumed run's model
    (dropout) draws the same random numbers as an uninterrupted one's.

    ``model.pdopt`` keeps Paddle's own keys (auto-generated parameter names such as ``conv2d_31.w_0``,
    so PaddleSeg can read it); ``meta.json`` records which structured name each of them belongs to, because
    the auto-generated names depend on how many layers the process built before, and differ on resume.

    Raises:
        NonFiniteError: a parameter, buffer or optimizer moment holds NaN/Inf (nothing is written).
        CheckpointError: the write failed (e.g. disk full); its temporary directory is removed.
    """
    problem = describe_nonfinite(model, optimizer)
    if problem is not None:
        raise NonFiniteError(f"refusing to write checkpoint {ckpt_dir}: non-finite values (NaN/Inf) in {problem}")
    meta = dict(meta or {})
    if optimizer is not None:
        meta["param_names"] = {p.name: name for name, p in model.named_parameters()}
        meta["optimizer"] = type(optimizer).__name__
        scheduler = scheduler_of(optimizer)
        if scheduler is not None:
            meta["lr_scheduler"] = type(scheduler).__name__

    def writer(tmp: str) -> None:
        paddle.save(model.state_dict(), os.path.join(tmp, "model.pdparams"))
        if optimizer is not None:
            with warnings.catch_warnings():
                # An optimizer without state (plain SGD, constant lr) has an empty state dict:
                # Paddle warns and still writes the file, which the checkpoint layout keeps.
                warnings.filterwarnings("ignore", message="The input state dict is empty",
                                        category=UserWarning)
                paddle.save(optimizer.state_dict(), os.path.join(tmp, "model.pdopt"))
        if rng_state is not None:
            with open(os.path.join(tmp, RNG_STATE), "wb") as f:
                pickle.dump(rng_state, f)
        with open(os.path.join(tmp, META), "w") as f:
            json.dump(meta, f, indent=2)

    _write_dir_atomically(ckpt_dir, writer)
    return ckpt_dir


_TEMPORARY = re.compile(r"^\.(.+)\.(tmp|old)-(\d+)$")


def recover_interrupted_writes(save_dir: str) -> List[str]:
    """Tidy what a process killed inside :func:`_write_dir_atomically` left in ``save_dir``.

    A kill while writing leaves ``.NAME.tmp-PID`` (incomplete: deleted). A kill between the two
    renames leaves ``.NAME.old-PID`` and no ``NAME``: the finished temporary copy (it has
    ``meta.json``) or else the old one is renamed back, so no checkpoint is lost. Directories of
    processes still running are left alone. Returns a line per action, for the log.
    """
    if not os.path.isdir(save_dir):
        return []
    actions: List[str] = []
    leftovers: Dict[str, Dict[str, str]] = {}
    for entry in sorted(os.listdir(save_dir)):
        m = _TEMPORARY.match(entry)
        if m and os.path.isdir(os.path.join(save_dir, entry)) and not process_alive(int(m.group(3))):
            leftovers.setdefault(m.group(1), {})[m.group(2)] = os.path.join(save_dir, entry)
    for name, found in leftovers.items():
        final = os.path.join(save_dir, name)
        if not os.path.exists(final):
            tmp, old = found.get("tmp"), found.get("old")
            source = tmp if tmp and os.path.isfile(os.path.join(tmp, META)) else old
            if source:
                os.rename(source, final)
                found = {k: v for k, v in found.items() if v != source}
                actions.append(f"restored {final} from {os.path.basename(source)}")
        for path in found.values():
            shutil.rmtree(path, ignore_errors=True)
            actions.append(f"removed the interrupted write {path}")
    return actions


def prune_checkpoints(save_dir: str, keep: int, protect: Optional[str] = None) -> List[str]:
    """Delete all but the ``keep`` newest ``iter_N`` checkpoints; returns the deleted paths.

    Never deletes the newest complete checkpoint nor ``protect`` (the one just written), even when
    newer or incomplete ``iter_N`` directories (another run's, a hand copy) fill the ``keep`` slots.
    """
    if keep is None or keep <= 0:
        return []
    ckpts = list_checkpoints(save_dir, complete_only=False)
    spared = {os.path.abspath(p) for p in (latest_checkpoint(save_dir), protect) if p}
    removed = [path for _, path in ckpts[:-keep] if os.path.abspath(path) not in spared]
    for path in removed:
        shutil.rmtree(path, ignore_errors=True)
    return removed

