"""Checkpoints: written to a temporary directory and renamed into place.

Layout (PaddleSeg-compatible): ``<save_dir>/iter_N/{model.pdparams, model.pdopt, meta.json}`` and
``<save_dir>/best_model/{model.pdparams, meta.json}``. ``meta.json`` is written last inside the
temporary directory, and the directory only appears under its final name through an atomic rename, so
a crash mid-write never leaves a half-written ``iter_N``: a checkpoint is complete iff its
``meta.json`` exists. Checkpoints written by PaddleSeg (no ``meta.json``) still load by path.
"""
from __future__ import annotations

import json
import os
import pickle
import random
import re
import shutil
import warnings
from typing import Any, Dict, List, Optional, Tuple

import numpy as np
import paddle

from . import logger

_ITER_DIR = re.compile(r"^iter_(\d+)$")
META = "meta.json"


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
    os.makedirs(tmp_dir)
    writer(tmp_dir)
    for fname in os.listdir(tmp_dir):
        with open(os.path.join(tmp_dir, fname), "rb+") as f:
            os.fsync(f.fileno())
    _fsync_dir(tmp_dir)
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


def _rename_optimizer_state(state: Dict[str, Any], mapping: Dict[str, str]) -> Dict[str, Any]:
    """Rename optimizer-state keys ``<param.name>_<accumulator>`` through ``mapping`` (old -> new name)."""
    prefixes = sorted(mapping, key=len, reverse=True)  # "conv2d_31.w_0" before "conv2d_3.w_0"
    out: Dict[str, Any] = {}
    for key, value in state.items():
        if key == "master_weights" and isinstance(value, dict):
            out[key] = {mapping.get(n, n): w for n, w in value.items()}
            continue
        for prefix in prefixes:
            if key.startswith(prefix + "_"):
                out[mapping[prefix] + key[len(prefix):]] = value
                break
        else:
            out[key] = value
    return out


RNG_STATE = "rng_state.pkl"


def capture_rng_state() -> Dict[str, Any]:
    """Paddle's, NumPy's and Python's generator states (dropout, augmentation draws)."""
    return {"paddle": paddle.get_rng_state(), "numpy": np.random.get_state(), "python": random.getstate()}


def restore_rng_state(state: Dict[str, Any]) -> None:
    paddle.set_rng_state(state["paddle"])
    np.random.set_state(state["numpy"])
    random.setstate(state["python"])


def save_checkpoint(ckpt_dir: str, model: paddle.nn.Layer, optimizer: Optional[paddle.optimizer.Optimizer] = None,
                    meta: Optional[Dict[str, Any]] = None, rng_state: Optional[Dict[str, Any]] = None) -> str:
    """Atomically write model (and optimizer) state plus ``meta.json`` into ``ckpt_dir``.

    ``rng_state`` (from :func:`capture_rng_state`) is pickled beside them, so a resumed run draws
    the same random numbers as an uninterrupted one.

    ``model.pdopt`` keeps Paddle's own keys (auto-generated parameter names such as ``conv2d_31.w_0``,
    so PaddleSeg can read it); ``meta.json`` records which structured name each of them belongs to, because
    the auto-generated names depend on how many layers the process built before, and differ on resume.
    """
    meta = dict(meta or {})
    if optimizer is not None:
        meta["param_names"] = {p.name: name for name, p in model.named_parameters()}

    def writer(tmp: str) -> None:
        paddle.save(model.state_dict(), os.path.join(tmp, "model.pdparams"))
        if optimizer is not None:
            paddle.save(optimizer.state_dict(), os.path.join(tmp, "model.pdopt"))
        if rng_state is not None:
            with open(os.path.join(tmp, RNG_STATE), "wb") as f:
                pickle.dump(rng_state, f)
        with open(os.path.join(tmp, META), "w") as f:
            json.dump(meta, f, indent=2)

    _write_dir_atomically(ckpt_dir, writer)
    return ckpt_dir


_TEMPORARY = re.compile(r"^\.(.+)\.(tmp|old)-(\d+)$")


def _process_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:       # someone else's live process
        return True
    return True


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
        if m and os.path.isdir(os.path.join(save_dir, entry)) and not _process_alive(int(m.group(3))):
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


def list_checkpoints(save_dir: str, complete_only: bool = True) -> List[Tuple[int, str]]:
    """``(iteration, path)`` of the ``iter_N`` directories in ``save_dir``, oldest first."""
    if not os.path.isdir(save_dir):
        return []
    found = []
    for name in os.listdir(save_dir):
        m = _ITER_DIR.match(name)
        path = os.path.join(save_dir, name)
        if m and os.path.isdir(path) and (not complete_only or os.path.isfile(os.path.join(path, META))):
            found.append((int(m.group(1)), path))
    return sorted(found)


def latest_checkpoint(save_dir: str) -> Optional[str]:
    """Newest complete ``iter_N`` checkpoint in ``save_dir`` or None."""
    ckpts = list_checkpoints(save_dir)
    return ckpts[-1][1] if ckpts else None


def prune_checkpoints(save_dir: str, keep: int) -> List[str]:
    """Delete all but the ``keep`` newest ``iter_N`` checkpoints; returns the deleted paths."""
    if keep is None or keep <= 0:
        return []
    ckpts = list_checkpoints(save_dir, complete_only=False)
    removed = [path for _, path in ckpts[:-keep]]
    for path in removed:
        shutil.rmtree(path, ignore_errors=True)
    return removed


def read_meta(ckpt_dir: str) -> Dict[str, Any]:
    path = os.path.join(ckpt_dir, META)
    if os.path.isfile(path):
        with open(path) as f:
            return json.load(f)
    return {}


def resume(ckpt_dir: str, model: paddle.nn.Layer, optimizer: Optional[paddle.optimizer.Optimizer] = None) -> Dict[str, Any]:
    """Load model and optimizer state from ``ckpt_dir``; returns its meta (with ``iter`` filled in).

    Accepts PaddleSeg's own ``iter_N`` directories too (iteration then taken from the name).
    """
    if not os.path.isdir(ckpt_dir):
        raise FileNotFoundError(f"--resume_model: checkpoint directory {ckpt_dir!r} does not exist")
    params_path = os.path.join(ckpt_dir, "model.pdparams")
    if not os.path.isfile(params_path):
        raise FileNotFoundError(f"--resume_model: {params_path!r} is missing; not a checkpoint directory")
    meta = read_meta(ckpt_dir)
    if "iter" not in meta:
        m = _ITER_DIR.match(os.path.basename(os.path.normpath(ckpt_dir)))
        if not m:
            raise ValueError(f"--resume_model: cannot tell the iteration of {ckpt_dir!r}: no {META} and the "
                             "directory is not named iter_N")
        meta["iter"] = int(m.group(1))
    from .pretrained import load_trained_model  # strict: every tensor present, same shapes
    load_trained_model(model, params_path, flag="--resume_model")
    opt_path = os.path.join(ckpt_dir, "model.pdopt")
    if optimizer is not None:
        if os.path.isfile(opt_path):
            state = paddle.load(opt_path)
            saved_names = meta.get("param_names")
            if saved_names:
                current = {name: p.name for name, p in model.named_parameters()}
                state = _rename_optimizer_state(
                    state, {old: current[name] for old, name in saved_names.items() if name in current})
            with warnings.catch_warnings():
                # LinearWarmup nests its inner scheduler's state; Paddle restores it but still warns.
                warnings.filterwarnings("ignore", message=".*unused values in state_dict.*")
                optimizer.set_state_dict(state)
        else:
            logger.warning(f"{opt_path} is missing: optimizer state (momentum, lr schedule) starts fresh")
    rng_path = os.path.join(ckpt_dir, RNG_STATE)
    if os.path.isfile(rng_path):
        with open(rng_path, "rb") as f:
            restore_rng_state(pickle.load(f))
    logger.info(f"Resumed from {ckpt_dir} at iteration {meta['iter']}")
    return meta
