"""A config-driven semantic segmentation framework on PaddlePaddle, PaddleSeg-compatible."""
__version__ = "0.1.0"

# Importing the packages registers their components in paddleseg.cvlibs.manager.
from . import models, datasets, transforms, optimizers  # noqa: E402,F401
