"""Reading checkpoints: the directory layout, listing ``iter_N``, parsing every file before anything is
applied, and resuming a model and optimizer (see :mod:`paddleseg.utils.checkpoint` for writing)."""
from __future__ import annotations

import json
import os
import pickle
import random
import re
import warnings
from dataclasses import dataclass
from typing import Any, Dict, List, Mapping, Optional, Tuple, Union

import numpy as np
import paddle

from . import logger
from .errors import CheckpointError
from .optimizer_state import check_optimizer_state, rename_optimizer_state
from .pretrained import UNREADABLE_ERRORS, apply_trained_state, read_state_dict

ITER_DIR = re.compile(r"^iter_(\d+)$")
META = "meta.json"
RNG_STATE = "rng_state.pkl"


class CheckpointNotFoundError(CheckpointError, FileNotFoundError):
    """``--resume_model`` names a directory that is not there or holds no ``model.pdparams``."""


class BrokenCheckpointError(CheckpointError, ValueError):
    """A checkpoint file cannot be parsed (truncated, corrupt) or the directory cannot be read as one."""


def capture_rng_state() -> Dict[str, Any]:
    """Paddle's, NumPy's and Python's generator states. Only Paddle's is restored on resume
    (dropout draws from it); NumPy's and Python's are recorded as before, for the record."""
    return {"paddle": paddle.get_rng_state(), "numpy": np.random.get_state(),
            "python": random.getstate()}


def restore_rng_state(state: Dict[str, Any]) -> None:
    """Restore what an exact resume needs: Paddle's generator (dropout and other random ops in
    the model). ``np.random`` and ``random`` are left alone: augmentations draw from per-sample
    generators (:class:`paddleseg.core.data.SeededSamples`), and resuming must not reset the
    process's own generators behind the caller's back."""
    if "paddle" in state:
        paddle.set_rng_state(state["paddle"])


def list_checkpoints(save_dir: str, complete_only: bool = True) -> List[Tuple[int, str]]:
    """``(iteration, path)`` of the ``iter_N`` directories in ``save_dir``, oldest first."""
    if not os.path.isdir(save_dir):
        return []
    found = []
    for name in os.listdir(save_dir):
        m = ITER_DIR.match(name)
        path = os.path.join(save_dir, name)
        if m and os.path.isdir(path) and (not complete_only or os.path.isfile(os.path.join(path, META))):
            found.append((int(m.group(1)), path))
    return sorted(found)


def latest_checkpoint(save_dir: str) -> Optional[str]:
    """Newest complete ``iter_N`` checkpoint in ``save_dir`` or None."""
    ckpts = list_checkpoints(save_dir)
    return ckpts[-1][1] if ckpts else None


def last_good_note(save_dir: str) -> str:
    """What a run stopped by the NaN guard says about its checkpoints (nothing was written after
    the fault, so the newest complete one is good)."""
    newest = latest_checkpoint(save_dir)
    where = f"is {newest}" if newest else f"would be in {save_dir} (none was written yet)"
    return f"Nothing was written after it: the last good checkpoint {where}"


def read_meta(ckpt_dir: str) -> Dict[str, Any]:
    """``meta.json`` of ``ckpt_dir`` ({} when there is none, as in PaddleSeg's checkpoints)."""
    path = os.path.join(ckpt_dir, META)
    if not os.path.isfile(path):
        return {}
    try:
        with open(path) as f:
            meta = json.load(f)
    except (ValueError, OSError) as err:   # JSONDecodeError and UnicodeDecodeError are ValueErrors
        raise BrokenCheckpointError(f"cannot read {path}: {err}") from err
    if not isinstance(meta, dict):
        raise BrokenCheckpointError(f"cannot read {path}: it holds a {type(meta).__name__}, not a JSON object")
    return meta


def _load_file(path: str, loader) -> Any:
    try:
        return loader(path)
    except UNREADABLE_ERRORS as err:
        raise BrokenCheckpointError(f"cannot read {path} ({type(err).__name__}: {err}); the file is truncated "
                                    "or corrupt") from err


def _load_pickle(path: str) -> Any:
    with open(path, "rb") as f:
        return pickle.load(f)


@dataclass
class CheckpointFiles:
    """The parsed contents of a checkpoint directory, checked before anything is applied."""

    path: str
    meta: Dict[str, Any]
    model_state: Dict[str, Any]
    optimizer_state: Optional[Dict[str, Any]]   # None: no model.pdopt
    rng_state: Optional[Dict[str, Any]]


def read_checkpoint(ckpt_dir: str, flag: str = "--resume_model") -> CheckpointFiles:
    """Parse every file of ``ckpt_dir`` (model, optimizer, meta, RNG state) without applying any.

    Raises:
        CheckpointNotFoundError: the directory or its ``model.pdparams`` is missing.
        BrokenCheckpointError: a file does not parse (the message names it), or the iteration is unknown.
    """
    if not os.path.isdir(ckpt_dir):
        raise CheckpointNotFoundError(f"{flag}: checkpoint directory {ckpt_dir!r} does not exist")
    params_path = os.path.join(ckpt_dir, "model.pdparams")
    if not os.path.isfile(params_path):
        raise CheckpointNotFoundError(f"{flag}: {params_path!r} is missing; not a checkpoint directory")
    meta = read_meta(ckpt_dir)
    if "iter" not in meta:
        m = ITER_DIR.match(os.path.basename(os.path.normpath(ckpt_dir)))
        if not m:
            raise BrokenCheckpointError(f"{flag}: cannot tell the iteration of {ckpt_dir!r}: no {META} and the "
                                        "directory is not named iter_N")
        meta["iter"] = int(m.group(1))
    try:
        model_state = read_state_dict(params_path)
    except CheckpointError as err:      # auto-resume skips a BrokenCheckpointError
        raise BrokenCheckpointError(str(err)) from err
    opt_path = os.path.join(ckpt_dir, "model.pdopt")
    opt_state = _load_file(opt_path, paddle.load) if os.path.isfile(opt_path) else None
    if opt_state is not None and not isinstance(opt_state, Mapping):
        raise BrokenCheckpointError(f"cannot read {opt_path}: it holds a {type(opt_state).__name__}, not a state dict")
    rng_path = os.path.join(ckpt_dir, RNG_STATE)
    rng_state = _load_file(rng_path, _load_pickle) if os.path.isfile(rng_path) else None
    return CheckpointFiles(ckpt_dir, meta, model_state, opt_state, rng_state)


def latest_loadable_checkpoint(save_dir: str) -> Optional[CheckpointFiles]:
    """The newest complete ``iter_N`` of ``save_dir`` whose files all parse; each broken newer one
    is skipped with a warning naming it. None when there is none."""
    for _, path in reversed(list_checkpoints(save_dir)):
        try:
            return read_checkpoint(path)
        except BrokenCheckpointError as err:
            logger.warning(f"--resume_model auto: skipping the unloadable checkpoint {path}: {err}")
    return None


def _apply_optimizer_state(files: CheckpointFiles, model: paddle.nn.Layer,
                           optimizer: paddle.optimizer.Optimizer) -> None:
    """Rename the saved optimizer state to the current parameter names, check it fits, then apply it."""
    opt_path = os.path.join(files.path, "model.pdopt")
    if files.optimizer_state is None:
        logger.warning(f"{opt_path} is missing: optimizer state (momentum, lr schedule) starts fresh")
        return
    state = files.optimizer_state
    saved_names = files.meta.get("param_names")
    if saved_names:
        current = {name: p.name for name, p in model.named_parameters()}
        state = rename_optimizer_state(
            state, {old: current[name] for old, name in saved_names.items() if name in current})
    check_optimizer_state(state, files.meta, model, optimizer, opt_path)
    with warnings.catch_warnings():
        # LinearWarmup nests its inner scheduler's state; Paddle restores it but still warns.
        warnings.filterwarnings("ignore", message=".*unused values in state_dict.*")
        optimizer.set_state_dict(state)


def resume(ckpt_dir: Union[str, CheckpointFiles], model: paddle.nn.Layer,
           optimizer: Optional[paddle.optimizer.Optimizer] = None) -> Dict[str, Any]:
    """Load model and optimizer state from ``ckpt_dir``; returns its meta (with ``iter`` filled in).

    ``ckpt_dir`` may also be what :func:`read_checkpoint` returned. Accepts PaddleSeg's own ``iter_N``
    directories too (iteration then taken from the name). Every file is parsed before the model is
    touched, and the optimizer state is checked against ``optimizer`` before it is applied.

    Raises:
        CheckpointError: a file is missing or broken (named), or the state does not fit (what differs).
    """
    files = ckpt_dir if isinstance(ckpt_dir, CheckpointFiles) else read_checkpoint(ckpt_dir)
    # The model first: a changed model is best explained by the model's own names and shapes.
    apply_trained_state(model, files.model_state, os.path.join(files.path, "model.pdparams"), flag="--resume_model")
    if optimizer is not None:
        _apply_optimizer_state(files, model, optimizer)
    if files.rng_state is not None:
        restore_rng_state(files.rng_state)
    logger.info(f"Resumed from {files.path} at iteration {files.meta['iter']}")
    return dict(files.meta)
