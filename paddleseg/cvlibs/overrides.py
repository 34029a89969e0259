"""Command-line overrides: ``--opts a.b=value`` items and the ``--batch_size``-style flags."""
from __future__ import annotations

from typing import Any, Dict, Iterable, List, Sequence

from ..utils import logger
from .errors import ConfigError
from .key_paths import drop_subtree, label_tree
from .suggest import did_you_mean
from .yaml_io import parse_cli_value

OPTS_LABEL = "--opts"
CLI_LABEL = "command line"


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
