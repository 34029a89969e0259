"""``grad_clip_cfg: {name: ClipGradByGlobalNorm, clip_norm: 1.0}`` -> a paddle gradient clipper."""
from __future__ import annotations

from typing import Optional

import paddle

from ..cvlibs.errors import did_you_mean
from ..cvlibs.validate import call_spec

CLIP_NAMES = ("ClipGradByGlobalNorm", "ClipGradByNorm", "ClipGradByValue")


def build_grad_clip(cfg: Optional[dict]) -> Optional[paddle.nn.ClipGradBase]:
    """The clipper ``cfg`` names (None for no clipping).

    Raises:
        ValueError: an unknown clipper name; TypeError: an argument the clipper does not take.
        Both name the key relative to the optimizer (the builder adds ``optimizer`` and the file).
    """
    if cfg is None:
        return None
    cfg = dict(cfg)
    name = cfg.pop("name", None)
    if name not in CLIP_NAMES:
        raise ValueError(f"`grad_clip_cfg.name` is {name!r}; expected one of "
                         f"{list(CLIP_NAMES)}.{did_you_mean(str(name), CLIP_NAMES)}")
    cls = getattr(paddle.nn, name)
    valid = sorted(call_spec(cls).params)
    for arg in cfg:
        if arg not in valid:
            raise TypeError(f"Unknown argument '{arg}' for {name} at `grad_clip_cfg.{arg}`."
                            f"{did_you_mean(arg, valid)} Valid arguments of {name}: {valid}")
    return cls(**cfg)
