"""Did-you-mean suggestions for error messages."""
from __future__ import annotations

import difflib
from typing import Iterable, List


def close_matches(word: str, candidates: Iterable[str], n: int = 3) -> List[str]:
    """Candidates that look like ``word`` (case-insensitive), best first."""
    lowered = {}
    for c in candidates:
        lowered.setdefault(str(c).lower(), str(c))
    hits = difflib.get_close_matches(str(word).lower(), list(lowered), n=n, cutoff=0.6)
    return [lowered[h] for h in hits]


def did_you_mean(word: str, candidates: Iterable[str]) -> str:
    """`` Did you mean 'x'?`` (with a leading space) or an empty string when nothing is close."""
    hits = close_matches(word, candidates)
    if not hits:
        return ""
    return " Did you mean " + " or ".join(repr(h) for h in hits) + "?"
