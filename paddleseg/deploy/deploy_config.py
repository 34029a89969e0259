"""``deploy.yaml``: what an exported model needs at inference, in PaddleSeg's format."""
from __future__ import annotations

import os
from typing import Any, Dict, List, Optional, Sequence

import yaml

from ..cvlibs import manager
from ..cvlibs.errors import ConfigError
from ..cvlibs.yaml_io import load_yaml_file
from ..utils.fileio import atomic_output


def write_deploy_yaml(save_dir: str, model_file: str, params_file: str, transforms: List[Dict[str, Any]],
                      output_op: str, input_shape: Optional[Sequence[int]] = None,
                      palette: Optional[Sequence[Sequence[int]]] = None,
                      class_names: Optional[Sequence[str]] = None) -> str:
    """Writes ``save_dir/deploy.yaml``; file names are stored relative to it.

    Keys under ``Deploy`` are PaddleSeg's (model, params, transforms, input_shape, output_op,
    output_dtype), so its deploy tools read the file; ``palette`` and ``class_names`` are extra
    keys they ignore and ``tools/infer.py`` uses for colouring.
    """
    deploy: Dict[str, Any] = {
        "model": os.path.basename(model_file),
        "params": os.path.basename(params_file),
        "transforms": [dict(t) for t in transforms],
        "input_shape": [int(v) if v is not None else -1 for v in (input_shape or [None, 3, None, None])],
        "output_op": output_op,
        "output_dtype": "int32" if output_op == "argmax" else "float32",
    }
    if palette is not None:
        deploy["palette"] = [[int(c) for c in colour] for colour in palette]
    if class_names is not None:
        deploy["class_names"] = list(class_names)
    path = os.path.join(save_dir, "deploy.yaml")
    with atomic_output(path, "w") as f:   # never a half-written deploy.yaml beside the model
        yaml.safe_dump({"Deploy": deploy}, f, sort_keys=False)
    return path


def record_deploy_file(deploy_yaml: str, key: str, path: str) -> None:
    """Records a derived model file as ``Deploy.<key>`` in ``deploy_yaml`` (``onnx``: the ONNX
    conversion, tools/export_onnx.py; ``int8``: the OpenVINO int8 IR, tools/quantize.py).

    Stored relative to the file when it lies in the same folder tree, else absolute. export.py
    rewrites deploy.yaml without these keys, so a re-exported model never points to stale files.
    """
    data = load_yaml_file(deploy_yaml)
    base = os.path.dirname(os.path.abspath(deploy_yaml))
    rel = os.path.relpath(os.path.abspath(path), base)
    data["Deploy"][key] = os.path.abspath(path) if rel.startswith("..") else rel
    with atomic_output(deploy_yaml, "w") as f:
        yaml.safe_dump(data, f, sort_keys=False)


def record_onnx(deploy_yaml: str, onnx_file: str) -> None:
    """Records the ONNX conversion of the model as ``Deploy.onnx`` (see record_deploy_file)."""
    record_deploy_file(deploy_yaml, "onnx", onnx_file)


class DeployConfig:
    """A parsed ``deploy.yaml`` (ours or PaddleSeg's) with absolute model paths and built transforms."""

    def __init__(self, path: str) -> None:
        if not os.path.isfile(path):
            raise ConfigError(f"deploy config {path} does not exist (export.py writes it next to the model)")
        data = load_yaml_file(path)  # safe loading; a YAML error or unsafe tag is one ConfigError
        if not isinstance(data.get("Deploy"), dict):
            raise ConfigError(f"{path} has no 'Deploy' section; is it a deploy.yaml written by export.py?")
        self.path = path
        self.dic: Dict[str, Any] = data["Deploy"]
        base = os.path.dirname(os.path.abspath(path))
        for key in ("model", "params"):
            if key not in self.dic:
                raise ConfigError(f"{path}: Deploy.{key} is missing")
            full = os.path.join(base, str(self.dic[key]))
            if not os.path.isfile(full):
                raise ConfigError(f"{path}: Deploy.{key} points to {full}, which does not exist; export the "
                                  f"model again with export.py")
        self.model_file = os.path.join(base, self.dic["model"])
        self.params_file = os.path.join(base, self.dic["params"])
        self.output_op = self.dic.get("output_op", "argmax")
        self.input_shape = self.dic.get("input_shape")
        self.palette = self.dic.get("palette")
        self.class_names = self.dic.get("class_names")
        # Deploy.onnx / Deploy.int8: written by tools/export_onnx.py / tools/quantize.py
        # (record_deploy_file); checked by the backend needing them.
        self.onnx_file = os.path.join(base, str(self.dic["onnx"])) if self.dic.get("onnx") else None
        self.int8_file = os.path.join(base, str(self.dic["int8"])) if self.dic.get("int8") else None

    def build_transforms(self) -> List[Any]:
        """The val transforms, built and argument-checked by the config builder (errors name this file)."""
        from ..cvlibs.builder import SegBuilder
        from ..transforms.compose import missing_type_message
        builder = SegBuilder(self, comp_list=[manager.TRANSFORMS])
        built = []
        for i, item in enumerate(self.dic.get("transforms") or []):
            if not isinstance(item, dict) or "type" not in item:
                raise ConfigError(f"{self.path}: {missing_type_message(f'Deploy.transforms[{i}]', item)}")
            built.append(builder.build_component(item, f"Deploy.transforms.{i}"))
        return built

    def source_of(self, key_path: str) -> str:
        """Every key comes from this file (what the builder names in its errors)."""
        return self.path
