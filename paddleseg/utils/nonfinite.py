"""The NaN/Inf guard: find non-finite values in a model's (and optimizer's) state, cheaply per step
and exactly before a checkpoint is written."""
from __future__ import annotations

from typing import Any, Dict, Iterable, List, Mapping, Optional, Tuple

import paddle

from .errors import UserError
from .pretrained import first_names

MAX_NAMES = 5   # tensor names shown in an error; the rest are counted


class NonFiniteError(UserError, FloatingPointError):
    """Training produced NaN/Inf (loss, weights or optimizer moments); nothing was written after it."""


def shown_names(names: List[str]) -> str:
    """The first :data:`MAX_NAMES` of ``names`` and how many more, for an error message."""
    return first_names(names, MAX_NAMES)


def owner_param(key: str, param_names: Iterable[str]) -> Optional[str]:
    """The parameter name that optimizer-state key ``<param.name>_<accumulator>`` belongs to, or None.

    The longest name wins, so ``conv2d_31.w_0_moment1_0`` is not given to ``conv2d_3.w_0``."""
    return next((p for p in sorted(param_names, key=len, reverse=True) if key.startswith(p + "_")), None)


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
    parts = [f"{len(bad)}/{total} model tensors ({shown_names(bad)})"] if bad else []
    if optimizer is not None:
        structured = {p.name: name for name, p in model.named_parameters()}
        bad_opt, total_opt = nonfinite_tensors(optimizer.state_dict())
        if bad_opt:
            shown = [_structured_key(k, structured) for k in bad_opt]
            parts.append(f"{len(bad_opt)}/{total_opt} optimizer moments ({shown_names(shown)})")
    return " and ".join(parts) if parts else None


def _structured_key(key: str, structured: Dict[str, str]) -> str:
    """``conv2d_3.w_0_velocity_0`` -> ``backbone.conv1.weight (velocity_0)`` when the parameter is known."""
    pname = owner_param(key, structured)
    return key if pname is None else f"{structured[pname]} ({key[len(pname) + 1:]})"

