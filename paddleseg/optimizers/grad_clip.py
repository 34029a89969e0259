"""``grad_clip_cfg: {name: ClipGradByGlobalNorm, clip_norm: 1.0}`` -> a paddle gradient clipper."""
from __future__ import annotations

from typing import Optional

import paddle

from ..cvlibs.errors import ConfigError, did_you_mean
from ..cvlibs.validate import check_arguments

CLIP_NAMES = ("ClipGradByGlobalNorm", "ClipGradByNorm", "ClipGradByValue")


def build_grad_clip(cfg: Optional[dict]) -> Optional[paddle.nn.ClipGradBase]:
    """The clipper ``cfg`` names (None for no clipping); bad names/arguments raise ConfigError."""
    if cfg is None:
        return None
    cfg = dict(cfg)
    name = cfg.pop("name", None)
    if name not in CLIP_NAMES:
        raise ConfigError(f"`optimizer.grad_clip_cfg.name` is {name!r}; expected one of "
                          f"{list(CLIP_NAMES)}.{did_you_mean(str(name), CLIP_NAMES)}")
    cls = getattr(paddle.nn, name)
    params = check_arguments(cls, name, cfg, "optimizer.grad_clip_cfg",
                             lambda _: "the optimizer config")
    return cls(**params)
