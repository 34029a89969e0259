"""Models, backbones, layers and losses; importing registers them in the managers."""
from . import layers, backbones, losses  # noqa: F401
from .encnet import ENCNet  # noqa: F401
from .icnet import ICNet  # noqa: F401
