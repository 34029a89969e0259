"""Exception types raised by the config layer.

Both are :class:`~paddleseg.utils.errors.UsageError` (one line, exit status 2 from the scripts) and
subclass the built-in type a caller would naturally catch (``ValueError`` for a bad config,
``RuntimeError`` for a component whose constructor rejected its arguments), so code written against
PaddleSeg's bare asserts/RuntimeErrors keeps working.
"""
from ..utils.errors import UsageError


class ConfigError(UsageError, ValueError):
    """A config file (or an ``--opts`` override) is malformed; the message names key and file."""


class ComponentBuildError(UsageError, RuntimeError):
    """A component's own constructor rejected its arguments (``ValueError``, ``TypeError``, ``OSError``,
    ``AssertionError`` or a :class:`UserError`); the original exception is kept as ``__cause__``."""


class ConfigFileNotFoundError(ConfigError, FileNotFoundError):
    """A config (or ``_base_``) file is not there."""
