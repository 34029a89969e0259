"""Config parsing (:class:`Config`), component registries (``manager``) and :class:`SegBuilder`."""
from . import manager
from .config import Config
from .builder import SegBuilder
from .errors import ComponentBuildError, ConfigError, ConfigFileNotFoundError

__all__ = ["manager", "Config", "SegBuilder", "ConfigError", "ConfigFileNotFoundError", "ComponentBuildError"]
