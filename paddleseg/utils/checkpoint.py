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
"""
from __future__ import annotations

import errno
import json
import os
import pickle
import random
import re
import shutil
import warnings
from dataclasses import dataclass
from typing import Any, Dict, Iterable, List, Mapping, Optional, Tuple, Union

import numpy as np
import paddle

from . import logger
from .errors import CheckpointError, UserError
from .fileio import free_space
from .run_lock import process_alive
from .pretrained import UNREADABLE_ERRORS, apply_trained_state, first_names, read_state_dict

_ITER_DIR = re.compile(r"^iter_(\d+)$")
META = "meta.json"
MAX_NAMES = 5   # tensor names shown in an error; the rest are counted


class CheckpointNotFoundError(CheckpointError, FileNotFoundError):
    """``--resume_model`` names a directory that is not there or holds no ``model.pdparams``."""


class NonFiniteError(UserError, FloatingPointError):
    """Training produced NaN/Inf (loss, weights or optimizer moments); nothing was written after it."""


def _names(names: List[str]) -> str:
    return first_names(names, MAX_NAMES)


def _float_tensors(state: Mapping[str, Any]) -> List[Tuple[str, paddle.Tensor]]:
    return [(k, v) for k, v in state.items() if isinstance(v, paddle.Tensor) and v.is_floating_point()]


def nonfinite_tensors(state: Mapping[str, Any]) -> Tuple[List[str], int]:
    """Names of the floating-point tensors of ``state`` holding a NaN or Inf, and how many were checked.

    One ``isfinite().all()`` per tensor and a single device-to-host copy for all of them.
    """
    tensors = _float_tensors(state)
    if not tensors:
        return [], 0
    flags = paddle.stack([paddle.isfinite(t).all() for _, t in tensors]).numpy()
    return [name for (name, _), ok in zip(tensors, flags) if not ok], len(tensors)


def probably_finite(tensors: Iterable[paddle.Tensor]) -> bool:
    """Cheap per-step screen: True when the sum of all the sums is finite (then every value is).

    NaN and Inf propagate through sums, so True is exact; False may also be an overflow of huge
    but finite values, so confirm with :func:`nonfinite_tensors` before acting on it.
    """
    sums = [t.sum().astype("float32") for t in tensors if t.is_floating_point()]
    return not sums or bool(paddle.isfinite(paddle.add_n(sums)).item())


def describe_nonfinite(model: paddle.nn.Layer, optimizer: Optional[paddle.optimizer.Optimizer] = None) -> Optional[str]:
    """``None`` when the model's parameters and buffers (and the optimizer's moments) are finite,
    otherwise what is not: counts and the first names."""
    bad, total = nonfinite_tensors(model.state_dict())
    parts = [f"{len(bad)}/{total} model tensors ({_names(bad)})"] if bad else []
    if optimizer is not None:
        structured = {p.name: name for name, p in model.named_parameters()}
        bad_opt, total_opt = nonfinite_tensors(optimizer.state_dict())
        if bad_opt:
            shown = [_structured_key(k, structured) for k in bad_opt]
            parts.append(f"{len(bad_opt)}/{total_opt} optimizer moments ({_names(shown)})")
    return " and ".join(parts) if parts else None


def _structured_key(key: str, structured: Dict[str, str]) -> str:
    """``conv2d_3.w_0_velocity_0`` -> ``backbone.conv1.weight (velocity_0)`` when the parameter is known."""
    for pname in sorted(structured, key=len, reverse=True):
        if key.startswith(pname + "_"):
            return f"{structured[pname]} ({key[len(pname) + 1:]})"
    return key


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
        scheduler = getattr(optimizer, "_learning_rate", None)
        if isinstance(scheduler, paddle.optimizer.lr.LRScheduler):
            meta["lr_scheduler"] = type(scheduler).__name__

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


class BrokenCheckpointError(CheckpointError, ValueError):
    """A checkpoint file cannot be parsed (truncated, corrupt) or the directory cannot be read as one."""


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
        m = _ITER_DIR.match(os.path.basename(os.path.normpath(ckpt_dir)))
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


def _accumulator_kinds(cls: type) -> set:
    """The accumulator names an optimizer class keeps per parameter (``velocity``, ``moment1``, ...)."""
    return {getattr(cls, a) for a in dir(cls) if a.endswith("_acc_str") and isinstance(getattr(cls, a), str)}


def _all_accumulator_kinds() -> List[str]:
    """Every Paddle optimizer's accumulator names, longest first (to split ``<param>_<kind>_<n>`` keys)."""
    kinds, todo = set(), [paddle.optimizer.Optimizer]
    while todo:
        cls = todo.pop()
        kinds |= _accumulator_kinds(cls)
        todo.extend(cls.__subclasses__())
    return sorted(kinds, key=len, reverse=True)


def check_optimizer_state(state: Mapping[str, Any], meta: Mapping[str, Any], model: paddle.nn.Layer,
                          optimizer: paddle.optimizer.Optimizer, source: str) -> None:
    """Raise :class:`CheckpointError` saying what differs when the saved optimizer state (already
    renamed to the current parameter names) does not fit ``optimizer`` and ``model``: another
    optimizer or lr-scheduler type, or moments of parameters that are new, gone or reshaped."""
    current_type = type(optimizer).__name__
    hint = (f"resume with the config the checkpoint was trained with, or start a new --save_dir (to start "
            f"from its weights, set model.pretrained to {os.path.join(os.path.dirname(source), 'model.pdparams')})")
    saved_type = meta.get("optimizer")
    if saved_type and saved_type != current_type:
        raise CheckpointError(f"cannot resume from {source}: the checkpoint's optimizer is {saved_type}, the "
                              f"config's is {current_type}; {hint}")
    scheduler = getattr(optimizer, "_learning_rate", None)
    saved_sched = meta.get("lr_scheduler")
    if saved_sched and isinstance(scheduler, paddle.optimizer.lr.LRScheduler) \
            and type(scheduler).__name__ != saved_sched:
        raise CheckpointError(f"cannot resume from {source}: the checkpoint's lr scheduler is {saved_sched}, the "
                              f"config's is {type(scheduler).__name__}; {hint}")
    tensors = {k: v for k, v in state.items() if isinstance(v, paddle.Tensor)}   # not LR_Scheduler etc.
    if not saved_type:     # a PaddleSeg checkpoint: tell the optimizer by its accumulators
        known = _all_accumulator_kinds()
        kinds = {next((k for k in known if re.search(rf"_{k}_\d+$", key)), None) for key in tensors} - {None}
        expected = _accumulator_kinds(type(optimizer))
        if kinds and expected and not kinds <= expected:
            raise CheckpointError(f"cannot resume from {source}: it holds optimizer state {sorted(kinds)}, the "
                                  f"config's {current_type} keeps {sorted(expected)}; {hint}")
    params = {p.name: (name, p) for name, p in model.named_parameters()}
    prefixes = sorted(params, key=len, reverse=True)
    orphans, reshaped = [], []
    for key, value in tensors.items():
        owner = next((pn for pn in prefixes if key.startswith(pn + "_")), None)
        if owner is None:
            orphans.append(key)
            continue
        name, param = params[owner]
        if list(value.shape) != list(param.shape) and value.size != 1:
            reshaped.append(f"{name} {list(value.shape)} vs {list(param.shape)}")
    saved_names = set((meta.get("param_names") or {}).values())
    new = [name for name, p in model.named_parameters() if saved_names and not p.stop_gradient
           and name not in saved_names]
    if saved_names:
        orphans = [n for n in saved_names if n not in {name for name, _ in params.values()}]
    if orphans or new or reshaped:
        parts = [f"{len(new)} parameters the checkpoint has no state for ({_names(new)})"] if new else []
        parts += [f"{len(orphans)} saved for parameters the model no longer has ({_names(sorted(orphans))})"] \
            if orphans else []
        parts += [f"{len(reshaped)} with another shape ({_names(reshaped)})"] if reshaped else []
        raise CheckpointError(f"cannot resume from {source}: the optimizer state does not fit the model: "
                              f"{'; '.join(parts)}; {hint}")


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
    ckpt_dir, meta = files.path, dict(files.meta)
    params_path = os.path.join(ckpt_dir, "model.pdparams")
    opt_path = os.path.join(ckpt_dir, "model.pdopt")
    # The model first: a changed model is best explained by the model's own names and shapes.
    apply_trained_state(model, files.model_state, params_path, flag="--resume_model")
    state = None
    if optimizer is not None and files.optimizer_state is not None:
        state = files.optimizer_state
        saved_names = meta.get("param_names")
        if saved_names:
            current = {name: p.name for name, p in model.named_parameters()}
            state = _rename_optimizer_state(
                state, {old: current[name] for old, name in saved_names.items() if name in current})
        check_optimizer_state(state, meta, model, optimizer, opt_path)
    if optimizer is not None:
        if state is not None:
            with warnings.catch_warnings():
                # LinearWarmup nests its inner scheduler's state; Paddle restores it but still warns.
                warnings.filterwarnings("ignore", message=".*unused values in state_dict.*")
                optimizer.set_state_dict(state)
        else:
            logger.warning(f"{opt_path} is missing: optimizer state (momentum, lr schedule) starts fresh")
    if files.rng_state is not None:
        restore_rng_state(files.rng_state)
    logger.info(f"Resumed from {ckpt_dir} at iteration {meta['iter']}")
    return meta
