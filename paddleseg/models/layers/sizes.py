"""Spatial sizes that stay static in exported graphs when the input shape is fixed."""
from __future__ import annotations

from typing import List, Union

import paddle

Size = Union[List[int], paddle.Tensor]


@paddle.jit.not_to_static   # plain Python at trace time: the branch picks the graph, it is not in it
def spatial_size(x: paddle.Tensor) -> Size:
    """(H, W) of an N x C x H x W tensor: Python ints when known (dygraph, or an export with a fixed
    input shape), else a shape tensor (dynamic export). Static sizes keep the whole exported graph
    static, which converters need (paddle2onnx cannot convert adaptive pooling on dynamic shapes)."""
    h, w = x.shape[2], x.shape[3]
    if h is not None and w is not None and h > 0 and w > 0:
        return [int(h), int(w)]
    return paddle.shape(x)[2:]


@paddle.jit.not_to_static
def scale_size(size: Size, numerator: int, denominator: int = 1) -> Size:
    """``size * numerator // denominator`` for either form returned by :func:`spatial_size`."""
    if isinstance(size, list):
        return [s * numerator // denominator for s in size]
    return size * numerator // denominator
