"""The merged, override-applied view of a YAML config file (PaddleSeg 2.8's ``Config`` API)."""
from __future__ import annotations

import copy
import os
from typing import Dict, List, Optional

from .errors import ConfigError, ConfigFileNotFoundError, join_key
from .loader import (CLI_LABEL, apply_opts, convert_legacy_learning_rate, load_config_tree,
                     set_by_path)
from .validate import SECTIONS, check_top_level, check_unsupported
from .yaml_io import dump_yaml


class Config:
    """A config file merged with its ``_base_`` files, with command-line overrides applied.

    Nothing training-specific is demanded here: evaluation, export and prediction work with a
    config holding only ``model`` and ``val_dataset``; :class:`SegBuilder` complains, naming
    the key and file, when a use needs a missing section.

    Args:
        path: the YAML config file (``.yml``/``.yaml``).
        learning_rate: overrides ``lr_scheduler.learning_rate``.
        batch_size: overrides ``batch_size``.
        iters: overrides ``iters``.
        opts: ``key.path=value`` overrides applied after the above, in order.
    """

    def __init__(self, path: str, learning_rate: Optional[float] = None,
                 batch_size: Optional[int] = None, iters: Optional[int] = None,
                 opts: Optional[list] = None) -> None:
        if not os.path.isfile(path):
            raise ConfigFileNotFoundError(f"Config file {path} does not exist")
        if not path.endswith((".yml", ".yaml")):
            raise ConfigError(f"Config file {path} should be a .yml or .yaml file")
        self.path = path
        dic, self._sources = load_config_tree(path)
        convert_legacy_learning_rate(dic, self._sources)
        self.dic = dic
        self._apply_flags(learning_rate, batch_size, iters)
        if opts:
            apply_opts(self.dic, self._sources, opts, new_sections=SECTIONS)
        check_unsupported(self.dic, self.source_of)
        check_top_level(self.dic, self._sources, path)

    def _apply_flags(self, learning_rate: Optional[float], batch_size: Optional[int],
                     iters: Optional[int]) -> None:
        if learning_rate is not None:
            if not isinstance(self.dic.get("lr_scheduler"), dict):
                raise ConfigError(f"--learning_rate needs an `lr_scheduler` section, and {self.path} "
                                  "(with its bases) has none")
            set_by_path(self.dic, self._sources, "lr_scheduler.learning_rate",
                        float(learning_rate), CLI_LABEL)
        if batch_size is not None:
            set_by_path(self.dic, self._sources, "batch_size", batch_size, CLI_LABEL)
        if iters is not None:
            set_by_path(self.dic, self._sources, "iters", iters, CLI_LABEL)

    def source_of(self, key_path: str) -> str:
        """The file (or ``--opts``/``command line``) that last set ``key_path``.

        A key absent from the config reports its nearest present parent's source, and the
        main config file when no parent is present, so error messages always name a file.
        """
        parts = str(key_path).split(".")
        while parts:
            found = self._sources.get(".".join(parts))
            if found is not None:
                return found
            parts.pop()
        return self.path

    @property
    def sources(self) -> Dict[str, str]:
        """A copy of ``{dotted key path: defining file}`` for every key of :attr:`dic`."""
        return dict(self._sources)

    def section(self, key: str) -> dict:
        """A deep copy of the top-level section ``key`` ({} when absent or null)."""
        # Deep copies: builders fill in num_classes etc., which must not leak back.
        return copy.deepcopy(self.dic.get(key) or {})

    @property
    def batch_size(self) -> Optional[int]:
        """Samples per device per iteration (None when not set)."""
        return self.dic.get("batch_size")

    @property
    def iters(self) -> Optional[int]:
        """Total training iterations (None when not set)."""
        return self.dic.get("iters")

    @property
    def to_static_training(self) -> bool:
        """Whether training runs the model through ``paddle.jit.to_static``."""
        return bool(self.dic.get("to_static_training", False))

    @property
    def model_cfg(self) -> dict:
        """A copy of the ``model`` section ({} when absent)."""
        return self.section("model")

    @property
    def loss_cfg(self) -> dict:
        """A copy of the ``loss`` section ({} when absent)."""
        return self.section("loss")

    @property
    def optimizer_cfg(self) -> dict:
        """A copy of the ``optimizer`` section ({} when absent)."""
        return self.section("optimizer")

    @property
    def lr_scheduler_cfg(self) -> dict:
        """A copy of the ``lr_scheduler`` section ({} when absent)."""
        return self.section("lr_scheduler")

    @property
    def train_dataset_cfg(self) -> dict:
        """A copy of the ``train_dataset`` section ({} when absent)."""
        return self.section("train_dataset")

    @property
    def val_dataset_cfg(self) -> dict:
        """A copy of the ``val_dataset`` section ({} when absent)."""
        return self.section("val_dataset")

    @property
    def test_config(self) -> dict:
        """A copy of the ``test_config`` section (evaluation options; {} when absent)."""
        return self.section("test_config")

    @property
    def export_config(self) -> dict:
        """A copy of the ``export`` section: always {}, a non-empty one is refused at load
        (PaddleSeg API; this framework's export.py takes ``val_dataset.transforms``)."""
        return self.section("export")

    def leaf_items(self) -> List[tuple]:
        """``(dotted key, value, source)`` for every scalar or scalar-list leaf, in file order."""
        rows: List[tuple] = []

        def walk(value: object, prefix: str) -> None:
            is_leaf_list = isinstance(value, list) and not any(
                isinstance(v, (dict, list)) for v in value)
            if prefix and (not isinstance(value, (dict, list)) or is_leaf_list or value in ({}, [])):
                rows.append((prefix, value, self.source_of(prefix)))
                return
            items = value.items() if isinstance(value, dict) else enumerate(value)
            for k, v in items:
                walk(v, join_key(prefix, k))

        walk(self.dic, "")
        return rows

    def __str__(self) -> str:
        return dump_yaml(self.dic)

    def __repr__(self) -> str:
        return f"Config(path={self.path!r})"
