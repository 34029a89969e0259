"""Load PaddleSeg-format weights (``.pdparams``) into a model: leniently or strictly.

Two rules, one matching step (:func:`match_state_dict`):

* **Initialisation** (``pretrained:`` of a backbone or model, :func:`load_pretrained_model`,
  :func:`load_entire_model`) is lenient, as PaddleSeg users expect: tensors whose name and shape
  match are copied, the rest keep their initial values and are listed in one summary block
  (backbone weights, or a whole model fine-tuned with another head).
* **A trained model** (val.py / tools/predict.py / export.py ``--model_path``, resuming) is
  loaded strictly by :func:`load_trained_model`: any missing, unexpected or reshaped tensor is a
  :class:`~paddleseg.utils.errors.CheckpointError` naming the counts, the first names and, where
  it is recognisable, the cause (another ``num_classes``, another architecture, backbone-only
  weights). Nothing is copied into the model unless everything matches.
"""
from __future__ import annotations

import os
import pickle
import warnings
import zipfile
from dataclasses import dataclass, field
from typing import Dict, List, Mapping, Optional, Tuple

import paddle
import paddle.nn as nn

from paddleseg.utils import logger
from paddleseg.utils.download import WEIGHTS_NAME, DownloadError, discard_download, download_pretrained, is_url
from paddleseg.utils.errors import CheckpointError

MAX_LISTED = 8  # names shown per category in the lenient summary; the rest are counted
MAX_LISTED_STRICT = 3  # names shown per category in the one-line strict error

# What paddle.load raises on a file that is not a paddle.save pickle (HTML page, truncated file,
# another format): measured ValueError "can not parse" and EOFError; the rest are pickle's own.
UNREADABLE_ERRORS = (ValueError, EOFError, OSError, pickle.UnpicklingError, zipfile.BadZipFile, TypeError,
                     AttributeError, ImportError, IndexError, KeyError, MemoryError)

# Parameter-name prefixes that only one architecture has (PaddleSeg's names, which this project
# keeps), so a checkpoint of another model can be named in the error. Add a model here when
# registering one; tests/test_load_faults.py checks every registered model is covered.
ARCHITECTURE_SIGNATURES: Dict[str, Tuple[str, ...]] = {
    "ENCNet": ("enc_module.", "fcn_head."),
    "ICNet": ("high_branch.", "cff_low_medium.", "cff_medium_high."),
}


def first_names(items: List[str], limit: int) -> str:
    """``a, b, c, ... (+N more)``: the first ``limit`` of ``items`` and how many were left out."""
    extra = len(items) - limit
    return ", ".join(items[:limit]) + (f", ... (+{extra} more)" if extra > 0 else "")


@dataclass
class LoadReport:
    """What happened when a state dict was matched against a model."""

    loaded: List[str] = field(default_factory=list)
    missing: List[str] = field(default_factory=list)
    unexpected: List[str] = field(default_factory=list)
    mismatched: List[Tuple[str, List[int], List[int]]] = field(default_factory=list)
    total: int = 0

    def summary(self, model_name: str, source: str) -> str:
        """A short multi-line block: one line for the count, one per kind of problem."""
        lines = [f"Loaded {len(self.loaded)}/{self.total} tensors into {model_name} from {source}"]
        if self.missing:
            lines.append(f"  missing in checkpoint ({len(self.missing)}, left as initialised): "
                         f"{first_names(self.missing, MAX_LISTED)}")
        if self.unexpected:
            lines.append(f"  unused from checkpoint ({len(self.unexpected)}): "
                         f"{first_names(self.unexpected, MAX_LISTED)}")
        if self.mismatched:
            shown = [f"{k} (checkpoint {a} vs model {b})" for k, a, b in self.mismatched]
            lines.append(f"  shape mismatch, skipped ({len(self.mismatched)}): {first_names(shown, MAX_LISTED)}")
        return "\n".join(lines)

    def full_listing(self) -> str:
        """Every tensor that was not loaded, one per line, by kind."""
        lines = [f"  missing in checkpoint: {name}" for name in self.missing]
        lines += [f"  unused from checkpoint: {name}" for name in self.unexpected]
        lines += [f"  shape mismatch: {k} (checkpoint {a} vs model {b})"
                  for k, a, b in self.mismatched]
        return "\n".join(["Tensors not loaded:"] + lines)

    def counts(self) -> str:
        """One line: how many tensors matched and the first few names of each problem."""
        limit = MAX_LISTED_STRICT
        parts = [f"{len(self.loaded)}/{self.total} tensors of the model match"]
        if self.missing:
            parts.append(f"{len(self.missing)} missing in the checkpoint ({first_names(self.missing, limit)})")
        if self.unexpected:
            parts.append(f"{len(self.unexpected)} unexpected ({first_names(self.unexpected, limit)})")
        if self.mismatched:
            shown = [f"{k} checkpoint {a} vs model {b}" for k, a, b in self.mismatched]
            parts.append(f"{len(self.mismatched)} with another shape ({first_names(shown, limit)})")
        return ", ".join(parts)

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


def read_state_dict(path: str, source: Optional[str] = None) -> Dict[str, object]:
    """``paddle.load(path)`` as a name -> tensor dict; an unreadable file is an error naming it.

    ``source`` is the URL the file was downloaded from, if any: an unreadable download is then
    removed from the cache (so the next run fetches it again) and the error names URL and cache.

    Raises:
        CheckpointError: the file is not a state dict written by ``paddle.save``.
        DownloadError: the same for a downloaded file (a :class:`CheckpointError` too).
    """
    try:
        state = paddle.load(path)
        problem = None if isinstance(state, Mapping) else f"it holds a {type(state).__name__}, not a state dict"
    except UNREADABLE_ERRORS as err:
        state, problem = None, f"{type(err).__name__}: {err}"
    if problem is None:
        # Old checkpoints carry bookkeeping entries (e.g. 'StructuredToParameterName@@'): not tensors.
        return {k: v for k, v in state.items() if hasattr(v, "shape")}
    if source is not None and is_url(source):
        removed = discard_download(source)
        raise DownloadError(f"The weights downloaded from {source} cannot be read ({problem}); the download "
                            f"(an HTML error page, a truncated or a wrong file?) was removed from the cache "
                            f"{removed}. Check the URL, then run again to download it anew, or download it "
                            f"yourself and point `pretrained` at the local file.")
    raise CheckpointError(f"Cannot read the weights file {path}: {problem}. It is not a .pdparams written by "
                          f"paddle.save (truncated, or another format?); save or download it again.")


def match_state_dict(model: nn.Layer, state: Mapping[str, object]) -> Tuple[LoadReport, Dict[str, object]]:
    """Match ``state`` against ``model`` by name and shape: (report, the tensors that fit)."""
    own = model.state_dict()
    report = LoadReport(total=len(own))
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
    return report, matched


def apply_state_dict(model: nn.Layer, state: Mapping[str, object]) -> LoadReport:
    """Copy every tensor of ``state`` whose name and shape match ``model``; report the rest."""
    report, matched = match_state_dict(model, state)
    if matched:
        with warnings.catch_warnings():
            # Paddle warns once per tensor left out; the report lists them in one block instead.
            warnings.filterwarnings("ignore", message="Skip loading for")
            model.set_state_dict(matched)
    return report


def _architecture_of(names: List[str]) -> Optional[str]:
    """The architecture whose characteristic parameter names appear in ``names``, if exactly one."""
    found = [arch for arch, prefixes in ARCHITECTURE_SIGNATURES.items()
             if any(n.startswith(prefixes) for n in names)]
    return found[0] if len(found) == 1 else None


def _class_count_change(model: nn.Layer, report: LoadReport) -> Optional[Tuple[int, int]]:
    """(checkpoint, model) class counts when every difference is one dimension N -> M, the same
    N and M for all tensors (the classifier layers: weights, biases, SE-loss head), and M is the
    model's ``num_classes`` (a wider hidden layer changes shapes the same way)."""
    if report.missing or report.unexpected or not report.mismatched or not hasattr(model, "num_classes"):
        return None
    pairs = set()
    for _, src, dst in report.mismatched:
        if len(src) != len(dst):
            return None
        diffs = [(a, b) for a, b in zip(src, dst) if a != b]
        if len(diffs) != 1:
            return None
        pairs.add(diffs[0])
    if len(pairs) != 1:
        return None
    pair = pairs.pop()
    return pair if pair[1] == model.num_classes else None


def diagnose(model: nn.Layer, report: LoadReport, state: Mapping[str, object]) -> Optional[str]:
    """The likely reason a checkpoint does not fit ``model``, in words, or None."""
    model_name = model.__class__.__name__
    classes = _class_count_change(model, report)
    if classes:
        return f"checkpoint has {classes[0]} classes, the config {classes[1]}"
    theirs = _architecture_of(report.unexpected)
    if theirs and theirs != model_name:
        return f"checkpoint is {theirs}, config is {model_name}"
    own = model.state_dict()
    if state and all(f"backbone.{k}" in own for k in state):
        return (f"checkpoint holds backbone weights only (no segmentation head); use it as "
                f"`model.backbone.pretrained` for training, not as a trained {model_name}")
    if report.missing and not report.loaded:
        return f"checkpoint shares no tensor with {model_name}: another architecture"
    return None


def load_trained_model(model: nn.Layer, path: str, flag: str = "--model_path") -> LoadReport:
    """Load a whole trained model (evaluation, prediction, export, resume), strictly.

    Every tensor of the model must be in the checkpoint with the same shape, and the checkpoint
    must hold nothing else; otherwise nothing is loaded.

    Args:
        model: the model built from the config.
        path: a ``.pdparams`` file, a folder holding ``model.pdparams``, or a URL.
        flag: where ``path`` came from, for messages (``--model_path``, ``--resume_model``).

    Raises:
        CheckpointError: the file is missing or unreadable, or does not fit the model; the
            message gives the counts, the first names and the likely cause.
    """
    try:
        weights = resolve_weights_path(path)
    except FileNotFoundError as err:
        raise CheckpointError(f"{flag} {path}: no such weights file"
                              f"{f' ({WEIGHTS_NAME} is missing in that folder)' if os.path.isdir(path) else ''}; "
                              f"give the model.pdparams of a trained model or its folder") from err
    return apply_trained_state(model, read_state_dict(weights, source=path), weights, flag)


def apply_trained_state(model: nn.Layer, state: Mapping[str, object], weights: str,
                        flag: str = "--model_path") -> LoadReport:
    """Strictly load an already-read state dict ``state`` (from the file ``weights``) into ``model``.

    Raises:
        CheckpointError: a tensor is missing, unexpected or of another shape (nothing is loaded).
    """
    report, matched = match_state_dict(model, state)
    model_name = model.__class__.__name__
    if not report.clean:
        cause = diagnose(model, report, state)
        raise CheckpointError(f"{flag} {weights} does not fit the {model_name} of the config"
                              f"{f': {cause}' if cause else ''}; {report.counts()}. Use a checkpoint trained "
                              f"with this config; to start training from these weights instead, give them "
                              f"as `pretrained:` (loaded leniently).")
    model.set_state_dict(matched)
    logger.info(f"Loaded all {report.total} tensors of {model_name} from {weights}")
    return report


def _load(model: nn.Layer, pretrained: str) -> LoadReport:
    path = resolve_weights_path(pretrained)
    report = apply_state_dict(model, read_state_dict(path, source=pretrained))
    log = logger.info if report.clean else logger.warning
    log(report.summary(model.__class__.__name__, path))
    if not report.clean:   # the summary names a few per kind; PADDLESEG_LOG_LEVEL=0 shows them all
        logger.debug(report.full_listing())
    return report


def load_pretrained_model(model: nn.Layer, pretrained: Optional[str]) -> None:
    """Initialise ``model`` from a URL / file / folder of PaddleSeg-format weights (leniently).

    Tensors are matched by name and shape; the rest keep their initial values and are listed in
    one summary block. ``None`` does nothing.
    """
    if pretrained is None:
        return
    _load(model, pretrained)


def load_entire_model(model: nn.Layer, path: Optional[str]) -> None:
    """Initialise a whole model from ``pretrained:`` weights (e.g. to fine-tune with another head).

    Lenient, with the same summary as :func:`load_pretrained_model`; use
    :func:`load_trained_model` to evaluate, predict with, export or resume a trained model.

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
