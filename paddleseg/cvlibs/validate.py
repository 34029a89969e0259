"""Validating a config before anything is built.

* top-level keys: unknown ones warn (with did-you-mean), known ones must have the right type,
  and keys the framework does not implement are refused;
* component arguments are checked against the signature BEFORE the constructor runs (errors
  name the argument, the component type, the key path and the file, with did-you-mean). A
  registered factory taking ``**kwargs`` (``def ResNet18_vd(**kwargs) -> ResNet_vd``) is
  checked against the class named by its return annotation; without one it is not checked;
* dataset sync (as PaddleSeg 2.8): ``num_classes`` and ``in_channels`` go into the model
  (``in_channels`` into its backbone when it has one), ``ignore_index`` into every loss. A
  dataset class states them as ``NUM_CLASSES``, ``IMG_CHANNELS`` and ``IGNORE_INDEX``; the
  generic ``Dataset`` takes them from its config. A value set in both places must agree.
"""
from __future__ import annotations

import copy
import inspect
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, Optional, Tuple

from ..utils import logger
from .errors import ConfigError, did_you_mean, join_key, short_repr
from .type_check import TypeMismatch, coerce, format_hint, resolve_hints

_VAR = (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD)


# -------------------------------------------------------------------- top-level keys
# Mapping-valued top-level keys; an --opts override may create an absent one.
SECTIONS = ("model", "loss", "optimizer", "lr_scheduler", "train_dataset",
             "val_dataset", "test_config", "export")


def _positive_int(v: object) -> bool:
    return isinstance(v, int) and not isinstance(v, bool) and v > 0


# key -> (check, description of what is expected)
KNOWN_KEYS: Dict[str, Tuple[Callable[[object], bool], str]] = {
    "batch_size": (_positive_int, "a positive integer"),
    "iters": (_positive_int, "a positive integer"),
    "to_static_training": (lambda v: isinstance(v, bool), "true or false"),
    "learning_rate": (lambda v: True, "a mapping"),
    **{k: (lambda v: v is None or isinstance(v, dict), "a mapping") for k in SECTIONS},
}
"""Top-level keys the framework understands. Other packages may register more here."""


# PaddleSeg keys this framework reads but does not implement: loading them would silently do
# nothing, so they are refused. key path -> (when it is refused, what to do instead)
UNSUPPORTED_KEYS: Dict[str, Tuple[Callable[[object], bool], str]] = {
    "distill_loss": (lambda v: v is not None,
                     "knowledge distillation is not supported by this framework; remove it"),
    "export": (bool, "export.py writes `val_dataset.transforms` into deploy.yaml and has no "
                     "separate export transforms; put the transforms there (a config used only "
                     "for export may override them) and remove `export`"),
    "train_dataset.edge": (bool, "no model or loss of this framework trains on edge maps, so they "
                                 "would be computed and thrown away; remove it"),
    "val_dataset.edge": (bool, "edge maps are never used; remove it"),
}
"""Keys refused at load time. Other packages that implement one may delete it here."""

# Loss types PaddleSeg has and this framework deliberately does not: what to write instead.
UNSUPPORTED_TYPES = {
    "MixedLoss": "list its losses in `loss.types` with one `coef` each instead (MultiOutputLoss "
                 "sums them), e.g. types: [{type: CrossEntropyLoss}, {type: DiceLoss}], "
                 "coef: [0.8, 0.2] for one output",
}


def check_unsupported(dic: dict, source_of: Callable[[str], str]) -> None:
    """Refuse keys of :data:`UNSUPPORTED_KEYS` that would take effect (see there)."""
    for key_path, (active, advice) in UNSUPPORTED_KEYS.items():
        node: Any = dic
        for part in key_path.split("."):
            node = node.get(part) if isinstance(node, dict) else None
        if active(node):
            raise ConfigError(f"`{key_path}` in {source_of(key_path)} is not supported: {advice}")


def check_top_level(dic: dict, sources: Dict[str, str], path: str) -> None:
    """Warn on unknown top-level keys (with did-you-mean); raise on mistyped known ones."""
    for key, value in dic.items():
        src = sources.get(str(key), path)
        if key not in KNOWN_KEYS:
            logger.warning(f"Unknown top-level key '{key}' in {src}; it is ignored."
                           f"{did_you_mean(str(key), KNOWN_KEYS)}")
            continue
        check, expected = KNOWN_KEYS[key]
        if not check(value):
            raise ConfigError(f"`{key}` in {src} must be {expected}, got {value!r} "
                              f"({type(value).__name__})")


# ------------------------------------------------------------------ component arguments
@dataclass
class CallSpec:
    """What a component accepts: named parameters, hints, and whether extra kwargs are fine."""

    params: Dict[str, inspect.Parameter] = field(default_factory=dict)
    hints: Dict[str, Any] = field(default_factory=dict)
    open_kwargs: bool = False
    known: bool = True  # False: nothing could be discovered, so nothing is checked

    def accepts(self, name: str) -> bool:
        """Whether ``name`` is an explicit parameter."""
        return name in self.params


def call_spec(component: Callable) -> CallSpec:
    """The :class:`CallSpec` of a class (its ``__init__``) or function."""
    try:
        sig = inspect.signature(component)
    except (TypeError, ValueError):
        return CallSpec(known=False)
    target = component.__init__ if isinstance(component, type) else component
    spec = CallSpec(params={n: p for n, p in sig.parameters.items() if p.kind not in _VAR},
                    hints=resolve_hints(target),
                    open_kwargs=any(p.kind == inspect.Parameter.VAR_KEYWORD
                                    for p in sig.parameters.values()))
    if spec.open_kwargs and not isinstance(component, type):
        returned = resolve_hints(component).get("return")
        if isinstance(returned, type):
            inner = call_spec(returned)
            # The factory's own explicit parameters come first; the class supplies the rest.
            return CallSpec(params={**inner.params, **spec.params},
                            hints={**inner.hints, **spec.hints},
                            open_kwargs=inner.open_kwargs, known=inner.known)
        spec.known = bool(spec.params)
    return spec


def check_arguments(component: Callable, type_name: str, params: Dict[str, Any], key_path: str,
                    source_of: Callable[[str], str],
                    missing_hints: Optional[Dict[str, str]] = None) -> Dict[str, Any]:
    """Validate ``params`` for ``component``; return them with type conversions applied.

    Args:
        component: the registered class or function.
        type_name: the ``type:`` name, for messages.
        params: the keyword arguments about to be passed.
        key_path: dotted path of the component's dict in the config (``model.backbone``).
        source_of: maps a dotted key path to the file that defined it.
        missing_hints: extra advice per required argument, appended to "missing" errors.
    """
    spec = call_spec(component)
    if not spec.known:
        return params
    here = f"'{key_path}'" if key_path else "the config"
    valid = sorted(spec.params)
    if not spec.open_kwargs:
        for name in params:
            if name not in spec.params:
                path = join_key(key_path, name)
                raise ConfigError(
                    f"Unknown argument '{name}' for {type_name} at '{path}' in "
                    f"{source_of(path)}.{did_you_mean(name, valid)} Valid arguments of "
                    f"{type_name}: {valid}")
    for name, param in spec.params.items():
        if param.default is inspect.Parameter.empty and name not in params:
            advice = (missing_hints or {}).get(name, "")
            raise ConfigError(
                f"{type_name} at {here} in {source_of(key_path)} is missing the required "
                f"argument '{name}'.{(' ' + advice) if advice else ''} Valid arguments of "
                f"{type_name}: {valid}")
    checked = dict(params)
    for name, value in params.items():
        hint = spec.hints.get(name)
        if hint is None or name not in spec.params:
            continue
        try:
            checked[name] = coerce(value, hint)
        except TypeMismatch:
            path = join_key(key_path, name)
            raise ConfigError(
                f"Argument '{name}' of {type_name} at '{path}' in {source_of(path)} expects "
                f"{format_hint(hint)}, got {short_repr(value)} ({type(value).__name__})") from None
    return checked


# ------------------------------------------------------------------------ dataset sync
# class attribute -> dataset config key
DATASET_FIELDS = {"NUM_CLASSES": "num_classes", "IMG_CHANNELS": "img_channels",
                  "IGNORE_INDEX": "ignore_index"}


def dataset_value(dataset_class: Any, dataset_cfg: dict, attr: str) -> Optional[Any]:
    """The dataset's ``attr`` (class constant first, then its config key), or None."""
    from ..datasets.facts import dataset_facts   # late: the datasets import this package to register
    return getattr(dataset_facts(dataset_class, dataset_cfg), DATASET_FIELDS[attr])


def sync_argument(target_cfg: dict, target_path: str, component: Callable, arg: str,
                  value: Any, origin: str, source_of: Callable[[str], str]) -> None:
    """Set ``target_cfg[arg] = value`` unless set; if set, it must equal ``value``.

    Args:
        target_cfg: the component's config dict (modified in place).
        target_path: its dotted key path, for messages.
        component: the registered class/function, to know whether it takes ``arg``.
        arg: argument name (``num_classes``...).
        value: the dataset's value.
        origin: describes the dataset (``train_dataset Cityscapes (configs/x.yml)``).
        source_of: maps a dotted key path to the file that defined it.
    """
    if value is None:
        return
    if arg in target_cfg:
        if target_cfg[arg] != value:
            path = join_key(target_path, arg)
            raise ConfigError(f"`{path}` is {target_cfg[arg]!r} in {source_of(path)}, but "
                              f"{origin} has {arg} {value!r}; make them agree (or drop "
                              f"`{path}` to take the dataset's value)")
        return
    if call_spec(component).accepts(arg):
        target_cfg[arg] = value
        logger.debug(f"Set `{target_path}.{arg}: {value!r}` from {origin}")


def check_datasets_agree(values: Dict[str, Any], arg: str) -> None:
    """Train and val datasets must not disagree on ``arg`` (a map origin -> value)."""
    present = {k: v for k, v in values.items() if v is not None}
    if len(set(map(repr, present.values()))) > 1:
        raise ConfigError(f"The datasets disagree on {arg}: "
                          + ", ".join(f"{k} has {v!r}" for k, v in present.items()))


# --------------------------------------------------------------------------- loss section
def is_component_cfg(obj: Any) -> bool:
    """A dict with a ``type`` key describes a component to build."""
    return isinstance(obj, dict) and "type" in obj


def check_loss_section(loss_cfg: dict, key: str, src: str) -> Tuple[list, list, list]:
    """``(types, coef, key paths)`` of a ``loss`` section, one type per coef.

    PaddleSeg's shorthand, one loss type for several weighted outputs, is expanded to copies.
    """
    types, coef = loss_cfg.get("types"), loss_cfg.get("coef")
    if not isinstance(types, list) or not types or not all(map(is_component_cfg, types)):
        raise ConfigError(f"`{key}.types` in {src} must be a non-empty list of "
                          f"{{type: ...}} loss configs, got {types!r}")
    if not isinstance(coef, list) or not all(
            isinstance(c, (int, float)) and not isinstance(c, bool) for c in coef):
        raise ConfigError(f"`{key}.coef` in {src} must be a list of numbers, got {coef!r}")
    unknown = set(loss_cfg) - {"types", "coef"}
    if unknown:
        raise ConfigError(f"`{key}` in {src} has unknown keys {sorted(unknown)}; "
                          "it takes `types` and `coef`")
    paths = [join_key(key, f"types.{i}") for i in range(len(types))]
    if len(types) == 1 and len(coef) > 1:
        return [copy.deepcopy(types[0]) for _ in coef], coef, paths * len(coef)
    if len(types) != len(coef):
        raise ConfigError(f"`{key}` in {src} has {len(types)} types but {len(coef)} coef "
                          "values; give one coef per type (or a single type for all)")
    return types, coef, paths
