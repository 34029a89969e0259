"""How to predict an image: :class:`InferOptions` (PaddleSeg's ``test_config`` keys merged with
the command-line flags), its checks, its description for logs and its tag for result file names."""
from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any, Dict, Optional, Tuple

from ..cvlibs.errors import ConfigError

FUSE_MODES = ("prob", "logit")


@dataclass
class InferOptions:
    """How to predict one image (PaddleSeg's ``test_config`` keys).

    Attributes:
        aug: use ``scales`` and the flips (PaddleSeg's ``aug_eval`` / ``aug_pred``).
        scales: image scale factors for multi-scale inference (only with ``aug``).
        flip_horizontal: add horizontally flipped passes (only with ``aug``).
        flip_vertical: add vertically flipped passes (only with ``aug``; with both flips, the
            doubly flipped pass is added too, as PaddleSeg does).
        is_slide: sliding-window inference instead of whole image.
        crop_size: window (width, height) for ``is_slide``.
        stride: window step (width, height) for ``is_slide``.
        fuse: average logits ('logit', PaddleSeg 2.8) or softmax probabilities ('prob', mmseg)
            over augmented passes.
        crops_per_batch: windows run through the model together (memory vs speed).
    """

    aug: bool = False
    scales: Tuple[float, ...] = (1.0,)
    flip_horizontal: bool = False
    flip_vertical: bool = False
    is_slide: bool = False
    crop_size: Optional[Tuple[int, int]] = None
    stride: Optional[Tuple[int, int]] = None
    fuse: str = "logit"
    crops_per_batch: int = 4
    source: str = field(default="", repr=False, compare=False)

    def __post_init__(self) -> None:
        # ConfigError: a usage error (one line, exit 2, from a script) that is still a ValueError.
        where = f" ({self.source})" if self.source else ""
        if isinstance(self.scales, (int, float)):
            self.scales = (float(self.scales),)
        self.scales = tuple(float(s) for s in self.scales)
        if not self.scales or any(s <= 0 for s in self.scales):
            raise ConfigError(f"scales={list(self.scales)} must be positive numbers{where}")
        if self.fuse not in FUSE_MODES:
            raise ConfigError(f"fuse={self.fuse!r} must be one of {list(FUSE_MODES)}{where}")
        if self.crops_per_batch < 1:
            raise ConfigError(f"crops_per_batch={self.crops_per_batch} must be >= 1{where}")
        if self.is_slide:
            for name in ("crop_size", "stride"):
                value = getattr(self, name)
                if value is None or len(value) != 2 or any(int(v) < 1 for v in value):
                    raise ConfigError(f"sliding-window inference (is_slide) needs {name} as two "
                                      f"positive integers W H: pass --{name} W H or set "
                                      f"test_config.{name}; "
                                      f"got {value}{where}")
                setattr(self, name, (int(value[0]), int(value[1])))
        if not self.aug and (self.flip_horizontal or self.flip_vertical or self.scales != (1.0,)):
            raise ConfigError(f"scales / flip_horizontal / flip_vertical take effect only with "
                              f"aug_eval (aug_pred); add --aug_eval or drop them{where}")

    @classmethod
    def from_test_config(cls, test_config: Optional[Dict[str, Any]], overrides: Optional[Dict[str, Any]] = None,
                         source: str = "", aug_key: str = "aug_eval") -> "InferOptions":
        """Merge a config's ``test_config`` with command-line ``overrides`` (non-None values win).

        ``aug_key`` is PaddleSeg's name for the switch: ``aug_eval`` in val, ``aug_pred`` in predict.
        Unknown keys are an error naming them and ``source``.
        """
        known = {f.name for f in fields(cls)} - {"aug", "source"}
        merged: Dict[str, Any] = {}
        for key, value in dict(test_config or {}).items():
            if key in ("aug_eval", "aug_pred"):
                key = "aug"
            elif key not in known:
                raise ConfigError(f"unknown test_config key {key!r} in {source or 'the config'}; "
                                  f"known: {sorted(known | {aug_key})}")
            merged[key] = value
        for key, value in (overrides or {}).items():
            if value is not None:
                merged["aug" if key in ("aug_eval", "aug_pred") else key] = value
        return cls(source=source, **merged)

    @classmethod
    def from_config(cls, cfg: Any, args: Any = None, aug_key: str = "aug_eval") -> "InferOptions":
        """The options of a run: ``cfg.test_config`` (a :class:`~paddleseg.cvlibs.Config`) with the
        inference flags of ``args`` winning (``add_infer_args``'s; ``None``: the config alone).

        The one place val.py, tools/predict.py (``aug_key='aug_pred'``) and train.py make them.
        """
        from ..utils.infer_cli import infer_overrides
        return cls.from_test_config(cfg.test_config, infer_overrides(args) if args is not None else None,
                                    source=f"command line / test_config in {cfg.path}", aug_key=aug_key)

    def describe(self) -> str:
        parts = ["slide " + f"crop {self.crop_size[0]}x{self.crop_size[1]} stride {self.stride[0]}x{self.stride[1]}"
                 if self.is_slide else "whole image"]
        if self.aug:
            flips = [n for n, on in (("horizontal", self.flip_horizontal), ("vertical", self.flip_vertical)) if on]
            parts.append(f"scales {list(self.scales)}, flips {flips or 'none'}, fuse {self.fuse}")
        return "; ".join(parts)

    def tag(self) -> str:
        """A file-name part naming what differs from plain whole-image inference ('' for plain):
        ``slide_512x512_stride_384x384``, ``flip``, ``vflip``, ``ms_0.75-1-1.25``, ``prob``, joined
        by ``_``. Two option sets that predict differently get different tags."""
        parts = []
        if self.is_slide:
            (cw, ch), (sw, sh) = self.crop_size, self.stride
            parts.append(f"slide_{cw}x{ch}_stride_{sw}x{sh}")
        if self.aug:
            if self.scales != (1.0,):
                parts.append("ms_" + "-".join(f"{s:g}" for s in self.scales))
            parts += [n for n, on in (("flip", self.flip_horizontal), ("vflip", self.flip_vertical))
                      if on]
            passes = len(self.scales) * (1 + self.flip_horizontal) * (1 + self.flip_vertical)
            if self.fuse != "logit" and passes > 1:   # fusing matters with several passes
                parts.append(self.fuse)
        return "_".join(parts)
