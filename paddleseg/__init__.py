"""A config-driven semantic segmentation framework on PaddlePaddle, PaddleSeg-compatible."""
__version__ = "0.1.0"

import warnings as _warnings

# Paddle warns at import that ccache is missing; that only matters for compiling C++ extensions.
_warnings.filterwarnings("ignore", message=".*No ccache found.*")

# Importing the packages registers their components in paddleseg.cvlibs.manager.
from . import models, datasets, transforms, optimizers  # noqa: E402,F401
