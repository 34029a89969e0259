"""A config-driven semantic segmentation framework on PaddlePaddle, PaddleSeg-compatible.

``import paddleseg`` is light: it does not import Paddle, so every script can parse its command
line (and answer ``--help``) in a fraction of a second. The first import of anything heavier
(``paddleseg.cvlibs``, ``paddleseg.models``, ...) imports the packages that register components
(``models``, ``datasets``, ``transforms``, ``optimizers``) first, so the registries are full whatever
is imported first. Subpackages are also reachable as attributes (``paddleseg.models``).
"""
__version__ = "0.1.0"

import importlib as _importlib
import importlib.abc as _abc
import sys as _sys
import warnings as _warnings

# Paddle warns at import that ccache is missing; that only matters for compiling C++ extensions.
_warnings.filterwarnings("ignore", message=".*No ccache found.*")

_REGISTERING = ("models", "datasets", "transforms", "optimizers")
_SUBPACKAGES = _REGISTERING + ("core", "cvlibs", "deploy", "utils")
# Modules that scripts import before parsing their command line: light, no Paddle, no registries.
_LIGHT = {f"{__name__}.utils"} | {f"{__name__}.utils.{m}" for m in ("cli", "errors", "infer_cli", "logger")}


def _register_components() -> None:
    """Import the packages whose classes register themselves in ``paddleseg.cvlibs.manager``."""
    for name in _REGISTERING:
        _importlib.import_module(f"{__name__}.{name}")


class _AlreadyLoaded(_abc.Loader):
    """Hands the import system a module that :func:`_register_components` has just imported."""

    def create_module(self, spec):
        self._spec = _sys.modules[spec.name].__spec__
        return _sys.modules[spec.name]

    def exec_module(self, module) -> None:
        module.__spec__ = self._spec  # the import system set ours; keep the real one


class _RegisterFirst(_abc.MetaPathFinder):
    """Before the first heavy ``paddleseg.*`` import, import the registering packages (in the order
    the eager package imported them), so every registry is full whoever is imported first."""

    def find_spec(self, fullname, path, target=None):
        if not fullname.startswith(f"{__name__}.") or fullname in _LIGHT:
            return None
        _sys.meta_path.remove(self)  # once
        _register_components()
        if fullname in _sys.modules:
            return _importlib.util.spec_from_loader(fullname, _AlreadyLoaded())
        return None  # the normal finders load it


import importlib.util  # noqa: E402  (spec_from_loader above)

_sys.meta_path.insert(0, _RegisterFirst())


def __getattr__(name: str):
    if name in _SUBPACKAGES:
        return _importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
