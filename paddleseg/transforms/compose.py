"""Compose: load an image/label pair and run a list of transforms over the data dict."""
from __future__ import annotations

from typing import Any, Dict, Optional

import numpy as np

from paddleseg.cvlibs import manager
from paddleseg.transforms.io import display_path, read_image, read_label
from paddleseg.transforms.rng import accepts_rng


def missing_type_message(where: str, entry: dict) -> str:
    """The error for a transform entry without ``type:``, listing the registered transforms."""
    return (f"{where} has no `type:` ({entry!r}); each transform entry needs `type:` naming one of the "
            f"registered transforms: {', '.join(sorted(manager.TRANSFORMS.components_dict))}")


@manager.TRANSFORMS.add_component
class Compose:
    """Load the sample, apply ``transforms`` in order, return network-ready arrays.

    The data dict carries ``img`` (H x W x C array or a path), optionally ``label`` (H x W
    array or a path), ``gt_fields`` (keys that follow the image's geometric ops) and
    ``trans_info`` (size changes, for undoing them at evaluation). On return ``img`` is a
    contiguous float32 C x H x W array and ``label`` a contiguous int64 H x W array.

    Random transforms draw from the generator passed to ``__call__`` (see
    :mod:`paddleseg.transforms.rng`); a transform without an ``rng`` parameter is called with the
    data dict alone.

    Args:
        transforms: transform objects, each ``callable(data: dict, rng=None) -> dict`` (or the
            old ``callable(data: dict) -> dict``).
        to_rgb: convert images read from disk from OpenCV's BGR to RGB.
        img_channels: channels expected in the image (1 or 3); images are read accordingly.
    """

    def __init__(self, transforms: list, to_rgb: bool = True, img_channels: int = 3) -> None:
        if not isinstance(transforms, (list, tuple)):
            raise TypeError(f"`transforms` must be a list, got {type(transforms).__name__}")
        for i, op in enumerate(transforms):
            if isinstance(op, dict) and "type" not in op:
                # A config entry the builder could not build because it names no transform.
                raise TypeError(missing_type_message(f"transforms[{i}]", op))
            if not callable(op):
                raise TypeError(f"transforms[{i}] is a {type(op).__name__}, not a transform "
                                f"object (was it built from its config?): {op!r}")
        if img_channels not in (1, 3):
            raise ValueError(f"`img_channels` must be 1 or 3, got {img_channels}")
        self.transforms = list(transforms)
        self.to_rgb = to_rgb
        self.img_channels = img_channels

    def _load(self, data: Dict[str, Any]) -> None:
        """Replace paths by arrays and check image/label agreement."""
        if "img" not in data:
            raise ValueError("The data dict passed to Compose has no 'img' key")
        img_name = _named("image", data["img"] if isinstance(data["img"], str) else data.get("img_path"))
        if isinstance(data["img"], str):
            data["img"] = read_image(data["img"], self.img_channels, self.to_rgb)
        if not isinstance(data["img"], np.ndarray):
            raise TypeError(f"data['img'] must be a path or an ndarray, got {type(data['img']).__name__}")
        channels = 1 if data["img"].ndim == 2 else data["img"].shape[2]
        if channels != self.img_channels:
            raise ValueError(f"{img_name} has {channels} channels but img_channels is {self.img_channels}")
        label = data.get("label")
        label_name = _named("label", label if isinstance(label, str) else data.get("label_path"))
        if isinstance(label, str):
            data["label"] = label = read_label(label)
        if isinstance(label, np.ndarray):
            check_same_size(data["img"], label, img_name, label_name)

    @property
    def uses_global_rng(self) -> bool:
        """True when a transform has no ``rng`` parameter (it may draw from ``np.random``)."""
        return not all(accepts_rng(op) for op in self.transforms)

    def __call__(self, data: Dict[str, Any],
                 rng: Optional[np.random.Generator] = None) -> Dict[str, Any]:
        """Load, transform and convert ``data`` in place; returns it. Random transforms draw from
        ``rng`` (without one, each from a generator seeded from ``np.random``)."""
        self._load(data)
        data.setdefault("trans_info", [])
        data.setdefault("gt_fields", [])
        for op in self.transforms:
            data = op(data, rng=rng) if accepts_rng(op) else op(data)
        img = data["img"]
        if img.ndim == 2:
            img = img[..., None]
        data["img"] = np.ascontiguousarray(img.transpose(2, 0, 1), dtype=np.float32)
        for key in data["gt_fields"]:
            if key != "label" and isinstance(data.get(key), np.ndarray):
                data[key] = np.ascontiguousarray(data[key])
        if isinstance(data.get("label"), np.ndarray):
            data["label"] = np.ascontiguousarray(data["label"], dtype=np.int64)
        return data


def check_same_size(img: np.ndarray, label: np.ndarray, img_name: str = "image", label_name: str = "label") -> None:
    """Raise ValueError ('label a.png 200x100 vs image b.png 2048x1024 ...') unless the sizes agree."""
    if label.shape[:2] != img.shape[:2]:
        (lh, lw), (ih, iw) = label.shape[:2], img.shape[:2]
        raise ValueError(f"{label_name} {lw}x{lh} vs {img_name} {iw}x{ih} (width x height): a label must "
                         f"have the size of its image")


def _named(kind: str, path: Any) -> str:
    """'image /path/a.png' when the file is known, else just 'image' (never '<array>')."""
    return f"{kind} {display_path(path)}" if isinstance(path, str) and path else kind
