"""Exception types raised by the config layer.

Both subclass the built-in type a caller would naturally catch (``ValueError`` for a bad
config, ``RuntimeError`` for a component whose constructor failed), so code written against
PaddleSeg's bare asserts/RuntimeErrors keeps working.
"""


class ConfigError(ValueError):
    """A config file (or an ``--opts`` override) is malformed; the message names key and file."""


class ComponentBuildError(RuntimeError):
    """A component's own constructor raised; the original exception is kept as ``__cause__``."""
