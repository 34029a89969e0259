"""A config-driven semantic segmentation framework on PaddlePaddle, PaddleSeg-compatible.

``import paddleseg`` is light: it does not import Paddle, so every script can parse its command
line (and answer ``--help``) in a fraction of a second. Components register themselves when their
packages are imported; the registries in :mod:`paddleseg.cvlibs.manager` import those packages on
their first lookup. Subpackages are also reachable as attributes (``paddleseg.models``).
"""
__version__ = "0.1.0"

import importlib as _importlib
import warnings as _warnings

# Paddle warns at import that ccache is missing; that only matters for compiling C++ extensions.
_warnings.filterwarnings("ignore", message=".*No ccache found.*")

_SUBPACKAGES = ("models", "datasets", "transforms", "optimizers", "core", "cvlibs", "deploy", "utils")


def __getattr__(name: str):
    if name in _SUBPACKAGES:
        return _importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
