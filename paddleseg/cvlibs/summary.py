"""One-line descriptions of component configs for the build log."""
from __future__ import annotations

from typing import Any


def describe(cfg: Any, limit: int = 60) -> str:
    """``ENCNet(backbone=ResNet18_vd(output_stride=8), num_codes=32)``-style summary."""
    if isinstance(cfg, dict) and "type" in cfg:
        args = ", ".join(f"{k}={describe(v, limit)}" for k, v in cfg.items() if k != "type")
        return f"{cfg['type']}({args})"
    if isinstance(cfg, list):
        return "[" + ", ".join(describe(v, limit) for v in cfg) + "]"
    text = repr(cfg)
    return text if len(text) <= limit else text[:limit] + "..."
