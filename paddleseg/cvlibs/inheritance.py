"""Loading a config file with PaddleSeg's ``_base_`` inheritance, tracking where keys come from.

Semantics (as PaddleSeg 2.8): ``_base_`` is a path or a list of paths relative to the file
naming them; the file overrides its bases; dicts merge recursively; any other value (lists
included) replaces the base value; a dict holding ``_inherited_: False`` replaces the base dict
instead of merging. With several bases an earlier base wins over a later one (PaddleSeg merges
them in turn under the file). Unlike PaddleSeg, ``_inherited_: False`` is honoured against every
base, not just the first, and the marker never leaks into the merged config.
"""
from __future__ import annotations

import os
from typing import Any, Dict, List, Optional, Tuple

from .errors import ConfigError
from .key_paths import iter_paths, label_tree
from .yaml_io import load_yaml_file

BASE_KEY = "_base_"
INHERIT_KEY = "_inherited_"

Sources = Dict[str, str]


def load_config_tree(path: str) -> Tuple[dict, Sources]:
    """Read ``path`` and its bases; return the merged dict and ``{dotted key: defining file}``."""
    return _load(os.path.normpath(path), [])


def _load(path: str, stack: List[str]) -> Tuple[dict, Sources]:
    real = os.path.realpath(path)
    if real in stack:
        chain = " -> ".join(stack[stack.index(real):] + [real])
        raise ConfigError(f"Cyclic _base_ inheritance: {chain}")
    raw = load_yaml_file(path)
    bases = raw.pop(BASE_KEY, None)
    own = (raw, label_tree(raw, path))

    merged: Optional[Tuple[dict, Sources]] = None
    # Lowest priority first, so each earlier base is laid over the later ones.
    for base in reversed(_base_paths(bases, path)):
        if not os.path.exists(base):
            raise ConfigError(f"Base config file {base} does not exist (named in `_base_` of "
                              f"{path}; base paths are relative to the file naming them)")
        loaded = _load(base, stack + [real])
        merged = loaded if merged is None else merge_over(loaded, merged)
    if merged is None:
        return _strip_inherit_markers(own[0]), own[1]
    return merge_over(own, merged)


def _base_paths(bases: Any, path: str) -> List[str]:
    if bases is None:
        return []
    if isinstance(bases, str):
        bases = [bases]
    if not isinstance(bases, list) or not all(isinstance(b, str) for b in bases):
        raise ConfigError(f"`_base_` in {path} must be a path or a list of paths, got {bases!r}")
    here = os.path.dirname(path)
    return [os.path.normpath(os.path.join(here, b)) for b in bases]


def merge_over(top: Tuple[dict, Sources], base: Tuple[dict, Sources]) -> Tuple[dict, Sources]:
    """Lay ``top`` over ``base``; each key's source is the side its value came from."""
    top_dic, top_src = top
    base_dic, base_src = base
    merged = _merge_dicts(top_dic, base_dic)
    sources = {}
    for key_path, _ in iter_paths(merged):
        src = top_src.get(key_path, base_src.get(key_path))
        if src is not None:
            sources[key_path] = src
    return merged, sources


def _merge_dicts(top: dict, base: dict) -> dict:
    if not top.get(INHERIT_KEY, True):
        return _strip_inherit_markers(top)
    result = dict(base)
    for key, value in top.items():
        if key == INHERIT_KEY:
            continue
        if isinstance(value, dict) and isinstance(result.get(key), dict):
            result[key] = _merge_dicts(value, result[key])
        else:
            result[key] = _strip_inherit_markers(value)
    return result


def _strip_inherit_markers(value: Any) -> Any:
    """Copy of ``value`` without ``_inherited_`` keys (they only steer merging)."""
    if isinstance(value, dict):
        return {k: _strip_inherit_markers(v) for k, v in value.items() if k != INHERIT_KEY}
    if isinstance(value, list):
        return [_strip_inherit_markers(v) for v in value]
    return value
