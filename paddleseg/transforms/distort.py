"""RandomDistort: photometric jitter (brightness, contrast, saturation, hue, sharpness)."""
from __future__ import annotations

from typing import Any, Dict, Optional

import numpy as np

from paddleseg.cvlibs import manager
from paddleseg.transforms import functional as F
from paddleseg.transforms.rng import generator


@manager.TRANSFORMS.add_component
class RandomDistort:
    """Apply each enabled photometric op with its probability, in a random order.

    Factors are drawn uniformly from [1 - range, 1 + range] (hue: a shift in [-hue_range,
    hue_range] in PIL units, 256 per turn), with PIL ImageEnhance semantics reimplemented in
    NumPy/OpenCV. The image is clipped to [0, 255] and stays float32; labels are untouched.
    All randomness comes from ``rng``.

    Args:
        brightness_range: brightness factor spread.
        brightness_prob: probability of the brightness op.
        contrast_range: contrast factor spread.
        contrast_prob: probability of the contrast op.
        saturation_range: saturation factor spread.
        saturation_prob: probability of the saturation op.
        hue_range: largest hue shift.
        hue_prob: probability of the hue op (colour images only).
        sharpness_range: sharpness factor spread.
        sharpness_prob: probability of the sharpness op.
    """

    def __init__(self, brightness_range: float = 0.5, brightness_prob: float = 0.5,
                 contrast_range: float = 0.5, contrast_prob: float = 0.5,
                 saturation_range: float = 0.5, saturation_prob: float = 0.5,
                 hue_range: float = 18, hue_prob: float = 0.5,
                 sharpness_range: float = 0.5, sharpness_prob: float = 0) -> None:
        self.brightness_range = brightness_range
        self.brightness_prob = brightness_prob
        self.contrast_range = contrast_range
        self.contrast_prob = contrast_prob
        self.saturation_range = saturation_range
        self.saturation_prob = saturation_prob
        self.hue_range = hue_range
        self.hue_prob = hue_prob
        self.sharpness_range = sharpness_range
        self.sharpness_prob = sharpness_prob

    def __call__(self, data: Dict[str, Any],
                 rng: Optional[np.random.Generator] = None) -> Dict[str, Any]:
        rng = generator(rng)
        img = np.clip(data["img"].astype(np.float32), 0.0, 255.0)
        ops = [
            (F.brightness, self.brightness_prob, 1 - self.brightness_range, 1 + self.brightness_range),
            (F.contrast, self.contrast_prob, 1 - self.contrast_range, 1 + self.contrast_range),
            (F.saturation, self.saturation_prob, 1 - self.saturation_range, 1 + self.saturation_range),
            (F.sharpness, self.sharpness_prob, 1 - self.sharpness_range, 1 + self.sharpness_range),
        ]
        if img.ndim == 3 and img.shape[2] == 3:
            ops.append((F.hue, self.hue_prob, -self.hue_range, self.hue_range))
        for i in rng.permutation(len(ops)):
            op, prob, lo, hi = ops[i]
            if rng.uniform(0, 1) < prob:
                img = op(img, float(rng.uniform(lo, hi)))
        data["img"] = img.astype(np.float32, copy=False)
        return data
