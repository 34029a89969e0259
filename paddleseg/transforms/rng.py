"""Where random transforms draw from: an explicit ``np.random.Generator`` handed down per sample.

A transform is ``callable(data, rng=None) -> data``. The training pipeline
(:class:`paddleseg.core.data.SeededSamples`) gives every sample its own generator, so
augmentations depend only on the seed and the sample's position in the training stream and the
process-wide generators (``np.random``, ``random``) are never touched by a training sample.

Called without a generator (``dataset[i]``, ``Compose(...)(data)``, ``op(data)``), a transform
draws from a fresh generator seeded from NumPy's global one (:func:`generator`), so
``np.random.seed(n)`` still makes such direct calls reproducible.

A transform written the old way, ``__call__(self, data)`` drawing from ``np.random`` or ``random``,
still works: the pipeline seeds both from the sample's generator around that sample and restores
them afterwards (:func:`seeded_globals`), so such a transform stays reproducible too.
"""
from __future__ import annotations

import contextlib
import functools
import inspect
import random
from typing import Any, Iterator, Optional

import numpy as np

__all__ = ["accepts_rng", "generator", "seeded_globals"]


def generator(rng: Optional[np.random.Generator] = None) -> np.random.Generator:
    """``rng`` itself, or without one a new generator seeded from NumPy's global generator."""
    if rng is not None:
        return rng
    return np.random.default_rng(np.random.randint(0, 2**32, size=2, dtype=np.uint64))


def accepts_rng(op: Any) -> bool:
    """True when the callable ``op`` takes an ``rng`` parameter (a transform of this interface)."""
    if inspect.isroutine(op) or isinstance(op, functools.partial):
        return _has_rng_parameter(op)
    return _class_accepts_rng(type(op))   # asked for every sample: once per class is enough


@functools.lru_cache(maxsize=None)
def _class_accepts_rng(cls: type) -> bool:
    return _has_rng_parameter(cls.__call__)


def _has_rng_parameter(fn: Any) -> bool:
    try:
        return "rng" in inspect.signature(fn).parameters
    except (TypeError, ValueError):   # a builtin without a signature: an old-style transform
        return False


@contextlib.contextmanager
def seeded_globals(rng: np.random.Generator) -> Iterator[None]:
    """Seed ``np.random`` and ``random`` from ``rng`` for old-style code, then put them back.

    Only for code that draws from the process-wide generators; their states are saved and
    restored, so the process sees no change.
    """
    np_state, py_state = np.random.get_state(), random.getstate()
    np_seed, py_seed = rng.integers(0, 2**32, size=2)
    np.random.seed(int(np_seed))
    random.seed(int(py_seed))
    try:
        yield
    finally:
        np.random.set_state(np_state)
        random.setstate(py_state)
