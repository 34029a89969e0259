"""Checking a component's arguments against its signature BEFORE calling it.

Errors name the argument, the component type, the key path and the file, with did-you-mean.
A registered factory function taking ``**kwargs`` (``def ResNet18_vd(**kwargs) -> ResNet_vd``)
is checked against the class named by its return annotation; without one it is not checked.
"""
from __future__ import annotations

import inspect
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, Optional

from .errors import ConfigError
from .suggest import did_you_mean
from .type_check import TypeMismatch, coerce, format_hint, resolve_hints

_VAR = (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD)


@dataclass
class CallSpec:
    """What a component accepts: named parameters, hints, and whether extra kwargs are fine."""

    params: Dict[str, inspect.Parameter] = field(default_factory=dict)
    hints: Dict[str, Any] = field(default_factory=dict)
    open_kwargs: bool = False
    known: bool = True  # False: nothing could be discovered, so nothing is checked

    def accepts(self, name: str) -> bool:
        """Whether ``name`` is an explicit parameter."""
        return name in self.params


def call_spec(component: Callable) -> CallSpec:
    """The :class:`CallSpec` of a class (its ``__init__``) or function."""
    try:
        sig = inspect.signature(component)
    except (TypeError, ValueError):
        return CallSpec(known=False)
    target = component.__init__ if isinstance(component, type) else component
    spec = CallSpec(params={n: p for n, p in sig.parameters.items() if p.kind not in _VAR},
                    hints=resolve_hints(target),
                    open_kwargs=any(p.kind == inspect.Parameter.VAR_KEYWORD
                                    for p in sig.parameters.values()))
    if spec.open_kwargs and not isinstance(component, type):
        returned = resolve_hints(component).get("return")
        if isinstance(returned, type):
            inner = call_spec(returned)
            # The factory's own explicit parameters come first; the class supplies the rest.
            return CallSpec(params={**inner.params, **spec.params},
                            hints={**inner.hints, **spec.hints},
                            open_kwargs=inner.open_kwargs, known=inner.known)
        spec.known = bool(spec.params)
    return spec


def check_arguments(component: Callable, type_name: str, params: Dict[str, Any], key_path: str,
                    source_of: Callable[[str], str],
                    missing_hints: Optional[Dict[str, str]] = None) -> Dict[str, Any]:
    """Validate ``params`` for ``component``; return them with type conversions applied.

    Args:
        component: the registered class or function.
        type_name: the ``type:`` name, for messages.
        params: the keyword arguments about to be passed.
        key_path: dotted path of the component's dict in the config (``model.backbone``).
        source_of: maps a dotted key path to the file that defined it.
        missing_hints: extra advice per required argument, appended to "missing" errors.
    """
    spec = call_spec(component)
    if not spec.known:
        return params
    here = f"'{key_path}'" if key_path else "the config"
    valid = sorted(spec.params)
    if not spec.open_kwargs:
        for name in params:
            if name not in spec.params:
                path = _join(key_path, name)
                raise ConfigError(
                    f"Unknown argument '{name}' for {type_name} at '{path}' in "
                    f"{source_of(path)}.{did_you_mean(name, valid)} Valid arguments of "
                    f"{type_name}: {valid}")
    for name, param in spec.params.items():
        if param.default is inspect.Parameter.empty and name not in params:
            advice = (missing_hints or {}).get(name, "")
            raise ConfigError(
                f"{type_name} at {here} in {source_of(key_path)} is missing the required "
                f"argument '{name}'.{(' ' + advice) if advice else ''} Valid arguments of "
                f"{type_name}: {valid}")
    checked = dict(params)
    for name, value in params.items():
        hint = spec.hints.get(name)
        if hint is None or name not in spec.params:
            continue
        try:
            checked[name] = coerce(value, hint)
        except TypeMismatch:
            path = _join(key_path, name)
            raise ConfigError(
                f"Argument '{name}' of {type_name} at '{path}' in {source_of(path)} expects "
                f"{format_hint(hint)}, got {_short(value)} ({type(value).__name__})") from None
    return checked


def _join(prefix: str, name: str) -> str:
    return f"{prefix}.{name}" if prefix else name


def _short(value: Any, limit: int = 120) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[:limit] + "..."
