"""Exception types raised by the config layer, and the helpers that word their messages.

Both are :class:`~paddleseg.utils.errors.UsageError` (one line, exit status 2 from the scripts) and
subclass the built-in type a caller would naturally catch (``ValueError`` for a bad config,
``RuntimeError`` for a component whose constructor rejected its arguments), so code written against
PaddleSeg's bare asserts/RuntimeErrors keeps working.
"""
from __future__ import annotations

import difflib
from typing import Any, Dict, Iterable, List

from ..utils.errors import UsageError


class ConfigError(UsageError, ValueError):
    """A config file (or an ``--opts`` override) is malformed; the message names key and file."""


class ComponentBuildError(UsageError, RuntimeError):
    """A component's own constructor rejected its arguments (``ValueError``, ``TypeError``, ``OSError``,
    ``AssertionError`` or a :class:`UserError`); the original exception is kept as ``__cause__``."""


class ConfigFileNotFoundError(ConfigError, FileNotFoundError):
    """A config (or ``_base_``) file is not there."""


# ------------------------------------------------------------------ message helpers
# Shared by every config error message, so a key path and a suggestion read the same everywhere.

# difflib's default cutoff. 0.5 (once used for registry names) also offers unrelated short words
# ('iters' -> 'items', 'loss' -> 'lr'); the typos these messages exist for ('PolynomialDecy',
# 'ENCNetToy', 'lr_mul', 'backbon') all score well above 0.6.
SUGGEST_CUTOFF = 0.6


def join_key(prefix: str, key: Any) -> str:
    """``prefix.key`` (or just ``key`` at the top level)."""
    return f"{prefix}.{key}" if prefix else str(key)


def close_matches(word: Any, candidates: Iterable[Any], n: int = 3) -> List[str]:
    """Candidates that look like ``word`` (case-insensitive), best first."""
    lowered: Dict[str, str] = {}
    for c in candidates:
        lowered.setdefault(str(c).lower(), str(c))
    hits = difflib.get_close_matches(str(word).lower(), list(lowered), n=n, cutoff=SUGGEST_CUTOFF)
    return [lowered[h] for h in hits]


def did_you_mean(word: Any, candidates: Iterable[Any], clause: bool = False) -> str:
    """`` Did you mean 'x'?`` (a sentence with a leading space), ``; did you mean 'x'?`` when
    ``clause``, or an empty string when nothing is close."""
    hits = close_matches(word, candidates)
    if not hits:
        return ""
    text = "did you mean " + " or ".join(repr(h) for h in hits) + "?"
    return f"; {text}" if clause else f" D{text[1:]}"


def short_repr(value: Any, limit: int = 120) -> str:
    """``repr(value)`` cut to ``limit`` characters."""
    text = repr(value)
    return text if len(text) <= limit else text[:limit] + "..."
