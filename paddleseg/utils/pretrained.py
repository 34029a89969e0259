"""Load PaddleSeg-format weights (``.pdparams``) into a model and summarise what matched."""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Dict, List, Mapping, Optional, Tuple

import paddle
import paddle.nn as nn

from paddleseg.utils import logger
from paddleseg.utils.download import WEIGHTS_NAME, download_pretrained, is_url

MAX_LISTED = 8  # names shown per category; the rest are counted


@dataclass
class LoadReport:
    """What happened when a state dict was matched against a model."""

    loaded: List[str] = field(default_factory=list)
    missing: List[str] = field(default_factory=list)
    unexpected: List[str] = field(default_factory=list)
    mismatched: List[Tuple[str, List[int], List[int]]] = field(default_factory=list)
    total: int = 0

    @staticmethod
    def _names(items: List[str]) -> str:
        extra = len(items) - MAX_LISTED
        return ", ".join(items[:MAX_LISTED]) + (f", ... (+{extra} more)" if extra > 0 else "")

    def summary(self, model_name: str, source: str) -> str:
        """A short multi-line block: one line for the count, one per kind of problem."""
        lines = [f"Loaded {len(self.loaded)}/{self.total} tensors into {model_name} from {source}"]
        if self.missing:
            lines.append(f"  missing in checkpoint ({len(self.missing)}, left as initialised): "
                         f"{self._names(self.missing)}")
        if self.unexpected:
            lines.append(f"  unused from checkpoint ({len(self.unexpected)}): {self._names(self.unexpected)}")
        if self.mismatched:
            shown = [f"{k} (checkpoint {a} vs model {b})" for k, a, b in self.mismatched]
            lines.append(f"  shape mismatch, skipped ({len(self.mismatched)}): {self._names(shown)}")
        return "\n".join(lines)

    @property
    def clean(self) -> bool:
        return not (self.missing or self.unexpected or self.mismatched)


def resolve_weights_path(pretrained: str) -> str:
    """URL -> cached download; folder -> its model.pdparams; file -> itself.

    Raises:
        FileNotFoundError: a local path (or the model.pdparams in a folder) does not exist.
    """
    if is_url(pretrained):
        return download_pretrained(pretrained)
    path = os.path.expanduser(pretrained)
    if os.path.isdir(path):
        path = os.path.join(path, WEIGHTS_NAME)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"Pretrained weights not found: {path} (from pretrained={pretrained!r})")
    return path


def apply_state_dict(model: nn.Layer, state: Mapping[str, object]) -> LoadReport:
    """Copy every tensor of ``state`` whose name and shape match ``model``; report the rest."""
    own = model.state_dict()
    report = LoadReport(total=len(own))
    # Old checkpoints carry bookkeeping entries (e.g. 'StructuredToParameterName@@'): not tensors.
    tensors: Dict[str, object] = {k: v for k, v in state.items() if hasattr(v, "shape")}
    matched = {}
    for name, param in own.items():
        if name not in tensors:
            report.missing.append(name)
            continue
        src_shape, dst_shape = list(tensors[name].shape), list(param.shape)
        if src_shape != dst_shape:
            report.mismatched.append((name, src_shape, dst_shape))
            continue
        matched[name] = tensors[name]
        report.loaded.append(name)
    report.unexpected = [k for k in tensors if k not in own]
    if matched:
        model.set_state_dict(matched)
    return report


def _load(model: nn.Layer, pretrained: str) -> LoadReport:
    path = resolve_weights_path(pretrained)
    report = apply_state_dict(model, paddle.load(path))
    log = logger.info if report.clean else logger.warning
    log(report.summary(model.__class__.__name__, path))
    return report


def load_pretrained_model(model: nn.Layer, pretrained: Optional[str]) -> None:
    """Initialise ``model`` from a URL / file / folder of PaddleSeg-format weights.

    Tensors are matched by name and shape; the rest keep their initial values and are listed in
    one summary block. ``None`` does nothing.
    """
    if pretrained is None:
        return
    _load(model, pretrained)


def load_entire_model(model: nn.Layer, path: Optional[str]) -> None:
    """Load a whole trained model (e.g. for evaluation); same matching and summary.

    Raises:
        ValueError: not one tensor of the checkpoint matched the model, which means the
            checkpoint belongs to another architecture.
    """
    if path is None:
        logger.warning(f"No weights given for {model.__class__.__name__}: it keeps its initial weights")
        return
    report = _load(model, path)
    if not report.loaded:
        raise ValueError(f"None of the tensors in {path} matches {model.__class__.__name__}'s parameter "
                         f"names/shapes; is it a checkpoint of this model?")
