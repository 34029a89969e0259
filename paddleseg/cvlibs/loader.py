"""Loading a config: ``_base_`` inheritance, command-line overrides and legacy keys, with the
file (or ``--opts``) that defined every dotted key path tracked for error messages.

Inheritance (as PaddleSeg 2.8): ``_base_`` is a path or a list of paths relative to the file
naming them; the file overrides its bases; dicts merge recursively; any other value (lists
included) replaces the base value; a dict holding ``_inherited_: False`` replaces the base dict
instead of merging. With several bases an earlier base wins over a later one (PaddleSeg merges
them in turn under the file). Unlike PaddleSeg, ``_inherited_: False`` is honoured against every
base, not just the first, and the marker never leaks into the merged config.

Overrides: ``--opts a.b=value`` items and the ``--batch_size``-style flags.

Legacy keys: old PaddleSeg (<= 2.2) ``learning_rate: {value, decay: {type: poly, power,
end_lr}}`` predates ``lr_scheduler`` and is rewritten into the equivalent
``lr_scheduler: {type: PolynomialDecay, ...}``.
"""
from __future__ import annotations

import os
from typing import Any, Dict, Iterable, Iterator, List, Optional, Sequence, Tuple

from ..utils import logger
from .errors import ConfigError, did_you_mean, join_key
from .yaml_io import load_yaml_file, parse_cli_value

BASE_KEY = "_base_"
INHERIT_KEY = "_inherited_"
OPTS_LABEL = "--opts"
CLI_LABEL = "command line"

Sources = Dict[str, str]


# ------------------------------------------------------------------------- key paths
def iter_paths(value: Any, prefix: str = "") -> Iterator[Tuple[str, Any]]:
    """Every (path, value) below ``value``: dict keys and list indices, inner nodes included."""
    if isinstance(value, dict):
        items = value.items()
    elif isinstance(value, list):
        items = enumerate(value)
    else:
        return
    for key, child in items:
        path = join_key(prefix, key)
        yield path, child
        yield from iter_paths(child, path)


def label_tree(value: Any, label: str, prefix: str = "") -> Dict[str, str]:
    """Map every path below ``value`` (and ``prefix`` itself when given) to ``label``."""
    labels = {path: label for path, _ in iter_paths(value, prefix)}
    if prefix:
        labels[prefix] = label
    return labels


def drop_subtree(sources: Dict[str, str], prefix: str) -> None:
    """Forget the recorded source of ``prefix`` and everything below it."""
    dotted = prefix + "."
    for key in [k for k in sources if k == prefix or k.startswith(dotted)]:
        del sources[key]


# ------------------------------------------------------------------------ inheritance
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


# ------------------------------------------------------------------------ overrides
def apply_opts(dic: dict, sources: Dict[str, str], opts: Sequence[str],
               new_sections: Iterable[str] = ()) -> None:
    """Apply ``key.path=value`` items in order, in place.

    ``new_sections`` are top-level mapping keys that an override may create when absent
    (``test_config.scales=0.75,1.0`` on a config without ``test_config``).
    """
    for item in opts:
        if not isinstance(item, str) or "=" not in item:
            raise ConfigError(f"--opts items must look like key=value (e.g. `--opts batch_size=1 "
                              f"test_config.scales=0.75,1.0`), got {item!r}")
        key, text = item.split("=", 1)
        key = key.strip()
        if not key:
            raise ConfigError(f"--opts item {item!r} has an empty key")
        top = key.split(".", 1)[0]
        if "." in key and top in new_sections and top not in dic:
            dic[top] = {}
            sources[top] = OPTS_LABEL
        set_by_path(dic, sources, key, parse_cli_value(text), OPTS_LABEL)


def set_by_path(dic: dict, sources: Dict[str, str], key_path: str, value: Any,
                label: str) -> None:
    """Set ``key_path`` to ``value`` and record ``label`` as its source.

    Every part but the last must exist (dict key or list index); the last may create a new
    dict key. A failure names the missing part, what exists at that level and close matches.
    """
    parts = key_path.split(".")
    node: Any = dic
    for depth, part in enumerate(parts):
        walked = ".".join(parts[:depth])
        last = depth == len(parts) - 1
        if isinstance(node, dict):
            if part not in node and not last:
                raise ConfigError(_missing_message(key_path, walked, part, list(node), sources))
            if last:
                if part not in node and node:
                    hint = did_you_mean(part, node)
                    if hint:
                        logger.warning(f"{label} creates the new key '{key_path}'.{hint}")
                node[part] = value
                break
            node = node[part]
        elif isinstance(node, list):
            index = _list_index(part, node, key_path, walked)
            if last:
                node[index] = value
                part = str(index)
                break
            node = node[index]
            parts[depth] = str(index)
        else:
            raise ConfigError(f"Cannot set '{key_path}' from {label}: '{walked}' holds the "
                              f"value {node!r}, not a mapping or list")
    full = ".".join(parts)
    drop_subtree(sources, full)
    sources.update(label_tree(value, label, full))


def _list_index(part: str, node: list, key_path: str, walked: str) -> int:
    try:
        index = int(part)
    except ValueError:
        raise ConfigError(f"Cannot set '{key_path}': '{walked}' is a list, so the next part must "
                          f"be an index in [0, {len(node) - 1}], got '{part}'") from None
    if not -len(node) <= index < len(node):
        raise ConfigError(f"Cannot set '{key_path}': index {index} is out of range for "
                          f"'{walked}' (a list of {len(node)} items)")
    return index % len(node)


def _missing_message(key_path: str, walked: str, part: str, available: List[str],
                     sources: Dict[str, str]) -> str:
    where = f"under '{walked}'" if walked else "at the top level"
    defined = f" (defined in {sources[walked]})" if walked in sources else ""
    return (f"Cannot set '{key_path}': there is no key '{part}' {where}{defined}; only the "
            f"last part of a key path may be new. Available keys {where}: {available}."
            f"{did_you_mean(part, available)}")


# ---------------------------------------------------------------------- legacy keys
def convert_legacy_learning_rate(dic: dict, sources: Dict[str, str]) -> None:
    """Rewrite an old-style ``learning_rate`` dict into ``lr_scheduler``, in place."""
    old = dic.get("learning_rate")
    if old is None:
        return
    src = sources.get("learning_rate", "?")
    if not isinstance(old, dict):
        raise ConfigError(f"Top-level `learning_rate` in {src} must be a mapping like "
                          "{value: 0.01, decay: {type: poly, power: 0.9, end_lr: 0}}; set the "
                          "rate in `lr_scheduler.learning_rate` instead")
    if "lr_scheduler" in dic:
        logger.warning(f"Both `lr_scheduler` and the old `learning_rate` are set ({src}); "
                       "using `lr_scheduler`")
        del dic["learning_rate"]
        drop_subtree(sources, "learning_rate")
        return
    if "value" not in old:
        raise ConfigError(f"`learning_rate` in {src} has no `value`")
    decay = old.get("decay") or {"type": "poly", "power": 0.9, "end_lr": 0.0}
    if not isinstance(decay, dict) or str(decay.get("type", "poly")).lower() != "poly":
        raise ConfigError(f"`learning_rate.decay` in {src}: only `type: poly` can be converted; "
                          f"got {decay!r}. Use an `lr_scheduler` section instead")
    scheduler = {"type": "PolynomialDecay", "learning_rate": old["value"],
                 "end_lr": decay.get("end_lr", 0.0), "power": decay.get("power", 0.9)}
    unknown = set(decay) - {"type", "power", "end_lr"}
    if unknown:
        raise ConfigError(f"`learning_rate.decay` in {src} has unknown keys {sorted(unknown)}; "
                          "known: type, power, end_lr")
    del dic["learning_rate"]
    drop_subtree(sources, "learning_rate")
    dic["lr_scheduler"] = scheduler
    sources.update(label_tree(scheduler, src, "lr_scheduler"))
    logger.warning(f"Converted the old `learning_rate` section of {src} to `lr_scheduler: "
                   f"{scheduler}`")
