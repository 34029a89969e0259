"""Building models, losses, optimizers, schedulers and datasets from a :class:`Config`.

Mirrors PaddleSeg 2.8's ``SegBuilder``: cached properties, recursive building of every dict
with a ``type``, ``num_classes``/``in_channels``/``ignore_index`` synced from the dataset. On
top of it, arguments are checked against signatures before any constructor runs, and every
error names the key path and the file that defined it.
"""
from __future__ import annotations

import copy
from functools import cached_property
from typing import Any, Callable, List, Optional

import paddle

from ..utils import logger
from ..utils.errors import UserError
from . import manager
from .config import Config
from .errors import ComponentBuildError, ConfigError, did_you_mean, join_key, short_repr
from .lr_scheduler import build_lr_scheduler
from .validate import (UNSUPPORTED_TYPES, check_arguments, check_datasets_agree,
                       check_loss_section, dataset_value, is_component_cfg,
                       sync_argument)

# Old optimizer spellings PaddleSeg 2.8 still accepts.
_OPTIMIZER_ALIASES = {"sgd": "SGD", "adam": "Adam"}


def optimizer_type(opt_cfg: dict) -> str:
    """The registered optimizer ``opt_cfg`` names: the one place for PaddleSeg 2.8's naming rules.

    Old spellings (``sgd``, ``adam``) are accepted, and ``SGD`` with ``momentum`` set is built as
    ``Momentum`` (PaddleSeg's configs write ``type: SGD, momentum: 0.9``).
    """
    name = _OPTIMIZER_ALIASES.get(opt_cfg.get("type"), opt_cfg.get("type"))
    return "Momentum" if name == "SGD" and "momentum" in opt_cfg else name


def _multi_output_loss_class() -> Callable:
    """``paddleseg.models.losses.MultiOutputLoss``, imported late (models import this package)."""
    from ..models.losses import MultiOutputLoss
    return MultiOutputLoss


def describe(cfg: Any, limit: int = 60) -> str:
    """``ENCNet(backbone=ResNet18_vd(output_stride=8), num_codes=32)``-style summary for the log."""
    if is_component_cfg(cfg):
        args = ", ".join(f"{k}={describe(v, limit)}" for k, v in cfg.items() if k != "type")
        return f"{cfg['type']}({args})"
    if isinstance(cfg, list):
        return "[" + ", ".join(describe(v, limit) for v in cfg) + "]"
    return short_repr(cfg, limit)


class SegBuilder:
    """Builds (once, lazily) every component a semantic segmentation run needs.

    Args:
        config: the parsed config (or any object with ``source_of(key_path)``, e.g. a DeployConfig).
        comp_list: registries to look ``type`` names up in, in order (default: all).
    """

    def __init__(self, config: Config | Any, comp_list: Optional[list] = None) -> None:
        self.config = config
        self.comp_list = comp_list if comp_list is not None else [
            manager.MODELS, manager.BACKBONES, manager.DATASETS, manager.TRANSFORMS,
            manager.LOSSES, manager.OPTIMIZERS]

    # ----------------------------------------------------------------- generic building
    def source_of(self, key_path: str) -> str:
        """The file that defined ``key_path``."""
        return self.config.source_of(key_path)

    def load_component_class(self, type_name: Any, key_path: str = "") -> Callable:
        """The registered class/function called ``type_name``."""
        where = join_key(key_path, "type")
        if not isinstance(type_name, str):
            raise ConfigError(f"`{where}` in {self.source_of(where)} must be a component name, "
                              f"got {type_name!r}")
        for registry in self.comp_list:
            if type_name in registry:
                return registry[type_name]
        if type_name in UNSUPPORTED_TYPES:
            raise ConfigError(f"`{where}` in {self.source_of(where)} is {type_name}, which this "
                              f"framework does not have: {UNSUPPORTED_TYPES[type_name]}")
        raise ConfigError(f"Unknown type at `{where}` in {self.source_of(where)}: "
                          f"{self._unknown_message(type_name, key_path)}")

    def _unknown_message(self, type_name: str, key_path: str) -> str:
        expected = self._expected_registry(key_path)
        if expected is not None:
            return expected.unknown_message(type_name)
        names = [n for r in self.comp_list for n in r.components_dict]
        return f"'{type_name}' is not a registered component{did_you_mean(type_name, names, True)}"

    def _expected_registry(self, key_path: str) -> Optional[manager.ComponentManager]:
        """The registry of the config section ``key_path`` is in, if this builder uses it."""
        registry = manager.section_registry(key_path)
        return registry if registry in self.comp_list else None

    def build_component(self, cfg: dict, key_path: str = "") -> Any:
        """Build the component ``cfg`` describes (nested components first).

        Args:
            cfg: a dict with ``type`` and the constructor arguments.
            key_path: where ``cfg`` sits in the config (``model.backbone``), for messages.
        """
        if not is_component_cfg(cfg):
            raise ConfigError(f"`{key_path or 'component'}` in {self.source_of(key_path)} needs "
                              f"a `type:` naming the component to build, got {cfg!r}")
        cfg = copy.deepcopy(cfg)
        type_name = cfg.pop("type")
        component = self.load_component_class(type_name, key_path)
        params = {name: self._build_value(value, join_key(key_path, name))
                  for name, value in cfg.items()}
        params = check_arguments(component, type_name, params, key_path, self.source_of,
                                 self._missing_hints(key_path))
        where = f"{type_name} at `{key_path or 'component'}` ({self.source_of(key_path)})"
        try:
            return component(**params)
        except (ValueError, TypeError, OSError, AssertionError, UserError) as e:
            # The constructor rejected what the config gave it: a config error, reported in one line
            # (a runtime failure inside it, e.g. a download, keeps its own exit status).
            err = ComponentBuildError(f"Building {where} failed with {type(e).__name__}: {e}")
            if isinstance(e, UserError):
                err.exit_code = e.exit_code
            raise err from e
        except Exception as e:
            # Anything else is a bug in the component: keep its traceback, add where it was built.
            if hasattr(e, "add_note"):
                e.add_note(f"while building {where}")
            raise

    def _build_value(self, value: Any, key_path: str) -> Any:
        if is_component_cfg(value):
            return self.build_component(value, key_path)
        if isinstance(value, list):
            return [self.build_component(v, join_key(key_path, i)) if is_component_cfg(v) else v
                    for i, v in enumerate(value)]
        return value

    def _missing_hints(self, key_path: str) -> dict:
        if key_path == "model":
            return {"num_classes": "Set `model.num_classes`, or use a dataset class with "
                                   "NUM_CLASSES (or `num_classes` in the generic Dataset)."}
        return {}

    def _require(self, key: str, example: str) -> dict:
        section = self.config.section(key)
        if not section:
            raise ConfigError(f"No `{key}` section in {self.config.path} (or its bases); it is "
                              f"needed here. Example: {example}")
        return section

    # ------------------------------------------------------------------------ model
    def _dataset_values(self, attr: str) -> Optional[tuple]:
        """(value, origin text) of the dataset's ``attr`` (``NUM_CLASSES``...), or None.

        The train dataset is the reference, the val dataset stands in when there is no train
        dataset (evaluation/export configs); when both are present they must agree.
        """
        found = {}
        for key in ("train_dataset", "val_dataset"):
            cfg = self.config.section(key)
            if cfg:
                cls = self.train_dataset_class if key == "train_dataset" else self.val_dataset_class
                origin = f"{key} {cfg['type']} ({self.source_of(key)})"
                found[origin] = dataset_value(cls, cfg, attr)
        if not found:
            return None
        check_datasets_agree(found, attr)
        origin, value = next(((o, v) for o, v in found.items() if v is not None),
                             next(iter(found.items())))
        return value, origin

    @cached_property
    def model(self) -> paddle.nn.Layer:
        """The model; ``num_classes``/``in_channels`` come from the dataset when not set."""
        model_cfg = self._require("model", "model: {type: ENCNet, backbone: {type: ResNet50_vd}}")
        model_cls = self.load_component_class(model_cfg.get("type"), "model")
        num = self._dataset_values("NUM_CLASSES")
        if num:
            sync_argument(model_cfg, "model", model_cls, "num_classes", num[0], num[1],
                          self.source_of)
        channels = self._dataset_values("IMG_CHANNELS")
        if channels:
            target, path = model_cfg, "model"
            if is_component_cfg(model_cfg.get("backbone")):
                target, path = model_cfg["backbone"], "model.backbone"
            target_cls = self.load_component_class(target.get("type"), path)
            sync_argument(target, path, target_cls, "in_channels", channels[0], channels[1],
                          self.source_of)
        model = self.build_component(model_cfg, "model")
        logger.info(f"Built model: {describe(model_cfg)}")
        return model

    # ------------------------------------------------------------------------- loss
    @cached_property
    def loss(self) -> paddle.nn.Layer:
        """``MultiOutputLoss(types=[...], coef=[...])`` from the ``loss`` section."""
        return self._build_loss("loss")

    def _build_loss(self, key: str) -> paddle.nn.Layer:
        loss_cfg = self._require(key, f"{key}: {{types: [{{type: CrossEntropyLoss}}], coef: [1]}}")
        types, coef, paths = check_loss_section(loss_cfg, key, self.source_of(key))
        ignore = self._dataset_values("IGNORE_INDEX")
        losses = []
        for loss_cfg_i, path in zip(types, paths):
            if ignore:
                self._sync_ignore_index(loss_cfg_i, path, ignore)
            losses.append(self.build_component(loss_cfg_i, path))
        wrapper = _multi_output_loss_class()
        logger.info(f"Built {key}: {describe(types)} with coef {coef}")
        return wrapper(types=losses, coef=[float(c) for c in coef])

    def _sync_ignore_index(self, loss_cfg: dict, path: str, ignore: tuple) -> None:
        cls = self.load_component_class(loss_cfg["type"], path)
        sync_argument(loss_cfg, path, cls, "ignore_index", ignore[0], ignore[1], self.source_of)

    # -------------------------------------------------------------- optimization
    @cached_property
    def lr_scheduler(self) -> paddle.optimizer.lr.LRScheduler:
        """The learning-rate scheduler (with ``LinearWarmup`` when warmup is configured)."""
        scheduler = build_lr_scheduler(self.config.lr_scheduler_cfg, self.config.iters,
                                       self.source_of, self.config.path)
        logger.info(f"Built lr_scheduler: {describe(self.config.lr_scheduler_cfg)}")
        return scheduler

    @cached_property
    def optimizer(self) -> paddle.optimizer.Optimizer:
        """The paddle optimizer over :attr:`model`'s parameters, driven by :attr:`lr_scheduler`."""
        opt_cfg = self._require("optimizer", "optimizer: {type: SGD, momentum: 0.9, "
                                             "weight_decay: 4.0e-5}")
        if optimizer_type(opt_cfg) == "Momentum" != opt_cfg.get("type"):
            logger.info("optimizer: SGD with `momentum` is built as Momentum (as PaddleSeg does)")
        opt_cfg["type"] = optimizer_type(opt_cfg)
        wrapper = self.build_component(opt_cfg, "optimizer")
        logger.info(f"Built optimizer: {describe(opt_cfg)}")
        try:
            return wrapper(self.model, self.lr_scheduler)
        except ConfigError:
            raise
        except Exception as e:
            raise ComponentBuildError(f"Creating the {opt_cfg['type']} optimizer of "
                                      f"`optimizer` ({self.source_of('optimizer')}) failed with "
                                      f"{type(e).__name__}: {e}") from e

    # ---------------------------------------------------------------------- data
    @cached_property
    def train_dataset(self) -> paddle.io.Dataset:
        """The training dataset; an empty one is an error."""
        return self._build_dataset("train_dataset", "train")

    @cached_property
    def val_dataset(self) -> paddle.io.Dataset:
        """The validation dataset (an empty one only warns)."""
        return self._build_dataset("val_dataset", "val")

    def _build_dataset(self, key: str, mode: str) -> paddle.io.Dataset:
        cfg = self._require(key, f"{key}: {{type: Cityscapes, dataset_root: data/cityscapes, "
                                 f"mode: {mode}}}")
        dataset = self.build_component(cfg, key)
        logger.info(f"Built {key}: {describe(cfg)} ({len(dataset)} samples)")
        if len(dataset) == 0:
            empty = f"{key} {cfg['type']} ({self.source_of(key)}) has no samples"
            if key == "train_dataset":
                raise ConfigError(f"{empty}; check its dataset_root / file lists")
            logger.warning(empty)
        return dataset

    @cached_property
    def train_dataset_class(self) -> Any:
        """The class named by ``train_dataset.type`` (not instantiated)."""
        cfg = self._require("train_dataset", "train_dataset: {type: Cityscapes, ...}")
        return self.load_component_class(cfg.get("type"), "train_dataset")

    @cached_property
    def val_dataset_class(self) -> Any:
        """The class named by ``val_dataset.type`` (not instantiated)."""
        cfg = self._require("val_dataset", "val_dataset: {type: Cityscapes, ...}")
        return self.load_component_class(cfg.get("type"), "val_dataset")

    @cached_property
    def val_transforms(self) -> List[Any]:
        """The built ``val_dataset.transforms`` (used by export and prediction)."""
        cfg = self._require("val_dataset", "val_dataset: {type: Cityscapes, transforms: [...]}")
        items = cfg.get("transforms") or []
        if not isinstance(items, list):
            raise ConfigError(f"`val_dataset.transforms` in "
                              f"{self.source_of('val_dataset.transforms')} must be a list")
        return [self.build_component(t, f"val_dataset.transforms.{i}")
                for i, t in enumerate(items)]

