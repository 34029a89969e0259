"""Checking (and gently converting) YAML values against constructor type hints.

Conversions are the ones a YAML author means: an int where a float is expected, a float-like
string (``"5e-4"``) for a float, a list where a tuple is expected. Anything else that does not
fit raises :class:`TypeMismatch`. Hints this module does not understand are not enforced.
"""
from __future__ import annotations

import collections.abc as cabc
import inspect
import types
import typing
from typing import Any, Callable, Dict

_SEQUENCE_ORIGINS = (list, tuple, cabc.Sequence, cabc.MutableSequence, cabc.Iterable,
                     cabc.Collection)
_MAPPING_ORIGINS = (dict, cabc.Mapping, cabc.MutableMapping)


class TypeMismatch(Exception):
    """A value does not fit a type hint."""


def resolve_hints(func: Callable) -> Dict[str, Any]:
    """Parameter name -> resolved hint; hints that cannot be resolved are left out."""
    try:
        return typing.get_type_hints(func)
    except Exception:  # a single unresolvable name (TYPE_CHECKING import) spoils get_type_hints
        pass
    hints = {}
    namespace = getattr(func, "__globals__", {})
    for name, ann in getattr(func, "__annotations__", {}).items():
        if isinstance(ann, str):
            try:
                ann = eval(ann, dict(namespace), {})  # noqa: S307 - the module's own annotation
            except Exception:
                continue
        hints[name] = ann
    return hints


def format_hint(hint: Any) -> str:
    """Readable name of a hint: ``float``, ``Optional[float]``, ``List[int]``."""
    if isinstance(hint, type) and not typing.get_args(hint):
        return hint.__name__
    return str(hint).replace("typing.", "").replace("NoneType", "None")


def coerce(value: Any, hint: Any) -> Any:
    """``value`` if it fits ``hint``, converted where a YAML author clearly meant it; else raise."""
    for allow_conversion in (False, True):
        try:
            return _coerce(value, hint, allow_conversion)
        except TypeMismatch:
            continue
    raise TypeMismatch(format_hint(hint))


def _coerce(value: Any, hint: Any, conv: bool) -> Any:
    if hint in (Any, object, inspect.Parameter.empty) or isinstance(hint, (str, typing.TypeVar)):
        return value
    if hint is None or hint is type(None):
        return _require(value is None, value)
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin is typing.Union or origin is types.UnionType:
        return _coerce_union(value, args, conv)
    if origin is typing.Literal:
        return _require(value in args, value)
    if hint is float:
        return _coerce_float(value, conv)
    if hint is int:
        return _require(isinstance(value, int) and not isinstance(value, bool), value)
    if hint is bool or hint is str:
        return _require(isinstance(value, hint), value)
    if origin in _SEQUENCE_ORIGINS or hint in _SEQUENCE_ORIGINS:
        return _coerce_sequence(value, origin or hint, args, conv)
    if origin in _MAPPING_ORIGINS or hint in _MAPPING_ORIGINS:
        return _coerce_mapping(value, args, conv)
    if origin is cabc.Callable or hint is cabc.Callable:
        return _require(callable(value), value)
    if isinstance(hint, type):
        return _require(isinstance(value, hint), value)
    return value  # an exotic hint (Protocol, NewType...): not enforced


def _require(ok: bool, value: Any) -> Any:
    if not ok:
        raise TypeMismatch()
    return value


def _coerce_union(value: Any, args: tuple, conv: bool) -> Any:
    for arg in args:
        try:
            return _coerce(value, arg, conv)
        except TypeMismatch:
            continue
    raise TypeMismatch()


def _coerce_float(value: Any, conv: bool) -> Any:
    if isinstance(value, float):
        return value
    if conv and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if conv and isinstance(value, str):
        try:
            return float(value.strip())
        except ValueError:
            pass
    raise TypeMismatch()


def _coerce_sequence(value: Any, kind: Any, args: tuple, conv: bool) -> Any:
    if not isinstance(value, (list, tuple)):
        raise TypeMismatch()
    if not args:
        return value
    if kind is tuple and not (len(args) == 2 and args[1] is Ellipsis):
        if len(args) != len(value):
            raise TypeMismatch()
        items = [_coerce(v, a, conv) for v, a in zip(value, args)]
    else:
        items = [_coerce(v, args[0], conv) for v in value]
    return type(value)(items)


def _coerce_mapping(value: Any, args: tuple, conv: bool) -> Any:
    if not isinstance(value, dict):
        raise TypeMismatch()
    if len(args) != 2:
        return value
    return {_coerce(k, args[0], conv): _coerce(v, args[1], conv) for k, v in value.items()}
