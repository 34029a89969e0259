"""A saved optimizer state against the configured optimizer and model: rename its keys to the current
parameter names, and say what differs (optimizer or scheduler type, moments of new, gone or reshaped
parameters) before anything is applied."""
from __future__ import annotations

import os
import re
from typing import Any, Dict, List, Mapping, Optional

import paddle

from .errors import CheckpointError
from .nonfinite import owner_param, shown_names


def scheduler_of(
        optimizer: paddle.optimizer.Optimizer) -> Optional[paddle.optimizer.lr.LRScheduler]:
    """The ``LRScheduler`` an optimizer was built with, or None for a constant learning rate. Paddle
    has no public accessor, so this is the one place that reads ``optimizer._learning_rate``."""
    lr = getattr(optimizer, "_learning_rate", None)
    return lr if isinstance(lr, paddle.optimizer.lr.LRScheduler) else None


def rename_optimizer_state(state: Dict[str, Any], mapping: Dict[str, str]) -> Dict[str, Any]:
    """Rename optimizer-state keys ``<param.name>_<accumulator>`` through ``mapping`` (old -> new name)."""
    out: Dict[str, Any] = {}
    for key, value in state.items():
        if key == "master_weights" and isinstance(value, dict):
            out[key] = {mapping.get(n, n): w for n, w in value.items()}
            continue
        prefix = owner_param(key, mapping)
        out[key if prefix is None else mapping[prefix] + key[len(prefix):]] = value
    return out


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


def _type_mismatch(tensors: Mapping[str, Any], meta: Mapping[str, Any],
                   optimizer: paddle.optimizer.Optimizer) -> str:
    """What differs between the saved and the configured optimizer / lr-scheduler type ('' if nothing)."""
    current_type = type(optimizer).__name__
    saved_type = meta.get("optimizer")
    if saved_type and saved_type != current_type:
        return f"the checkpoint's optimizer is {saved_type}, the config's is {current_type}"
    scheduler = scheduler_of(optimizer)
    saved_sched = meta.get("lr_scheduler")
    if saved_sched and scheduler is not None and type(scheduler).__name__ != saved_sched:
        return f"the checkpoint's lr scheduler is {saved_sched}, the config's is {type(scheduler).__name__}"
    if not saved_type:     # a PaddleSeg checkpoint: tell the optimizer by its accumulators
        known = _all_accumulator_kinds()
        kinds = {next((k for k in known if re.search(rf"_{k}_\d+$", key)), None) for key in tensors} - {None}
        expected = _accumulator_kinds(type(optimizer))
        if kinds and expected and not kinds <= expected:
            return f"it holds optimizer state {sorted(kinds)}, the config's {current_type} keeps {sorted(expected)}"
    return ""


def _fit_mismatch(tensors: Mapping[str, Any], meta: Mapping[str, Any], model: paddle.nn.Layer) -> str:
    """Which moments belong to parameters that are new, gone or reshaped ('' if they all fit)."""
    params = {p.name: (name, p) for name, p in model.named_parameters()}
    orphans, reshaped = [], []
    for key, value in tensors.items():
        owner = owner_param(key, params)
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
    parts = [f"{len(new)} parameters the checkpoint has no state for ({shown_names(new)})"] if new else []
    parts += [f"{len(orphans)} saved for parameters the model no longer has ({shown_names(sorted(orphans))})"] \
        if orphans else []
    parts += [f"{len(reshaped)} with another shape ({shown_names(reshaped)})"] if reshaped else []
    return f"the optimizer state does not fit the model: {'; '.join(parts)}" if parts else ""


def check_optimizer_state(state: Mapping[str, Any], meta: Mapping[str, Any], model: paddle.nn.Layer,
                          optimizer: paddle.optimizer.Optimizer, source: str) -> None:
    """Raise :class:`CheckpointError` saying what differs when the saved optimizer state (already
    renamed to the current parameter names) does not fit ``optimizer`` and ``model``: another
    optimizer or lr-scheduler type, or moments of parameters that are new, gone or reshaped."""
    tensors = {k: v for k, v in state.items() if isinstance(v, paddle.Tensor)}   # not LR_Scheduler etc.
    problem = _type_mismatch(tensors, meta, optimizer) or _fit_mismatch(tensors, meta, model)
    if problem:
        raise CheckpointError(
            f"cannot resume from {source}: {problem}; resume with the config the checkpoint was trained with, "
            f"or start a new --save_dir (to start from its weights, set model.pretrained to "
            f"{os.path.join(os.path.dirname(source), 'model.pdparams')})")
