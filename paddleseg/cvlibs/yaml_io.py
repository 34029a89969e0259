"""Safe YAML reading/writing for config files.

PyYAML implements YAML 1.1, where a float needs a dot: ``5e-4`` and ``1e-4`` load as strings
and later blow up inside an optimizer. The loader below also resolves exponent-only floats.
It derives from ``SafeLoader`` so a config file can never construct Python objects.
"""
from __future__ import annotations

import ast
import io
import re
from typing import Any

import yaml

from ..utils.fileio import read_utf8_text
from .errors import ConfigError, ConfigFileNotFoundError

# Only the exponent forms YAML 1.1 misses; plain ints and dotted floats keep their normal
# resolvers (the float resolver comes before the int one, so a broader regex would turn ints
# into floats).
_EXP_FLOAT = re.compile(r"^[-+]?(?:[0-9][0-9_]*(?:\.[0-9_]*)?|\.[0-9_]+)[eE][-+]?[0-9]+$")


class SegYamlLoader(yaml.SafeLoader):
    """``yaml.SafeLoader`` that reads ``5e-4`` as a float and warns on duplicate keys."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict:
        seen = {}
        for key_node, _ in node.value:
            if isinstance(key_node, yaml.ScalarNode):
                key = key_node.value
                if key in seen and key != "<<":
                    # YAML silently keeps the last value; a duplicated key is almost always a
                    # copy-paste slip that drops settings, so make it visible.
                    from ..utils import logger
                    logger.warning(f"Duplicate key '{key}' in {key_node.start_mark.name} "
                                   f"(lines {seen[key] + 1} and {key_node.start_mark.line + 1}); "
                                   "the last one wins")
                seen[key] = key_node.start_mark.line
        return super().construct_mapping(node, deep=deep)


SegYamlLoader.add_implicit_resolver("tag:yaml.org,2002:float", _EXP_FLOAT, list("-+0123456789."))


class NoAliasDumper(yaml.SafeDumper):
    """Safe dumper that writes repeated objects in full instead of as ``&id``/``*id`` anchors."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def _represent_list(dumper: yaml.SafeDumper, data: list) -> yaml.Node:
    # Short scalar lists ([1024, 512]) read best inline; lists of mappings stay block style.
    flat = all(not isinstance(v, (dict, list)) for v in data)
    return dumper.represent_sequence("tag:yaml.org,2002:seq", data, flow_style=flat)


NoAliasDumper.add_representer(list, _represent_list)
# The dumper must quote strings such as '5e-4' that the loader would read back as floats.
NoAliasDumper.add_implicit_resolver("tag:yaml.org,2002:float", _EXP_FLOAT, list("-+0123456789."))


def _one_line(err: yaml.YAMLError) -> str:
    """PyYAML's multi-line error (problem, file mark, source snippet) as one line with its position."""
    problem = getattr(err, "problem", None)
    mark = getattr(err, "problem_mark", None) or getattr(err, "context_mark", None)
    if not problem:
        return " ".join(line.strip() for line in str(err).splitlines() if line.strip())
    context = getattr(err, "context", None)
    where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark is not None else ""
    return f"{context + ': ' if context else ''}{problem}{where}"


def load_yaml_file(path: str) -> dict:
    """Read a config file into a dict (an empty file gives ``{}``)."""
    try:
        text = read_utf8_text(path, advice="save the config as UTF-8")
    except FileNotFoundError as e:
        raise ConfigFileNotFoundError(f"Config file {path} does not exist") from e
    except ValueError as e:
        raise ConfigError(f"Config file {e}") from None
    except OSError as e:
        raise ConfigError(f"Cannot read config file {path}: {e.strerror or e}") from e
    try:
        # A named stream makes PyYAML's error marks (and duplicate-key warnings) name the file.
        stream = io.StringIO(text)
        stream.name = path
        data = yaml.load(stream, Loader=SegYamlLoader)
    except yaml.YAMLError as e:
        raise ConfigError(f"Invalid YAML in config file {path}: {_one_line(e)}") from e
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"Config file {path} must contain a mapping at the top level, "
                          f"got {type(data).__name__}")
    return data


def dump_yaml(data: Any) -> str:
    """Block-style YAML without anchors, keys in config order."""
    return yaml.dump(data, Dumper=NoAliasDumper, sort_keys=False, default_flow_style=False,
                     allow_unicode=True)


def parse_cli_value(text: str) -> Any:
    """Value of a ``--opts key=value`` item.

    Python literals first (PaddleSeg's rule: ``0.75,1.0`` is a tuple, ``True``/``None`` work),
    then YAML (``true``, ``null``, ``5e-4``, ``{a: 1}``); anything else stays a string. Tuples
    become lists so the merged config stays YAML-dumpable.
    """
    try:
        value = ast.literal_eval(text)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        try:
            value = yaml.load(text, Loader=SegYamlLoader)
        except yaml.YAMLError:
            value = text
        if value is None and text.strip() not in ("null", "Null", "NULL", "~", ""):
            value = text
    return _tuples_to_lists(value)


def _tuples_to_lists(value: Any) -> Any:
    if isinstance(value, (list, tuple)):
        return [_tuples_to_lists(v) for v in value]
    if isinstance(value, dict):
        return {k: _tuples_to_lists(v) for k, v in value.items()}
    return value
