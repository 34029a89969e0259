"""Random flips; the image and every gt_fields map are flipped together."""
from __future__ import annotations

from typing import Any, Dict, Optional

import numpy as np

from paddleseg.cvlibs import manager
from paddleseg.transforms import functional as F
from paddleseg.transforms.rng import generator


@manager.TRANSFORMS.add_component
class RandomHorizontalFlip:
    """Mirror left-right with probability ``prob`` (draws from ``rng``).

    Args:
        prob: flip probability.
    """

    def __init__(self, prob: float = 0.5) -> None:
        self.prob = prob

    def __call__(self, data: Dict[str, Any],
                 rng: Optional[np.random.Generator] = None) -> Dict[str, Any]:
        if generator(rng).random() < self.prob:
            data["img"] = F.horizontal_flip(data["img"])
            for key in data.get("gt_fields", []):
                data[key] = F.horizontal_flip(data[key])
        return data


@manager.TRANSFORMS.add_component
class RandomVerticalFlip:
    """Mirror top-bottom with probability ``prob`` (draws from ``rng``).

    Args:
        prob: flip probability (PaddleSeg's default is 0.1).
    """

    def __init__(self, prob: float = 0.1) -> None:
        self.prob = prob

    def __call__(self, data: Dict[str, Any],
                 rng: Optional[np.random.Generator] = None) -> Dict[str, Any]:
        if generator(rng).random() < self.prob:
            data["img"] = F.vertical_flip(data["img"])
            for key in data.get("gt_fields", []):
                data[key] = F.vertical_flip(data[key])
        return data
