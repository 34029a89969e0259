"""Dotted key paths (``train_dataset.transforms.1.crop_size``) over nested dicts and lists."""
from __future__ import annotations

from typing import Any, Dict, Iterator, Tuple


def join(prefix: str, key: Any) -> str:
    """``prefix.key`` (or just ``key`` at the top level)."""
    return f"{prefix}.{key}" if prefix else str(key)


def iter_paths(value: Any, prefix: str = "") -> Iterator[Tuple[str, Any]]:
    """Every (path, value) below ``value``: dict keys and list indices, inner nodes included."""
    if isinstance(value, dict):
        items = value.items()
    elif isinstance(value, list):
        items = enumerate(value)
    else:
        return
    for key, child in items:
        path = join(prefix, key)
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
