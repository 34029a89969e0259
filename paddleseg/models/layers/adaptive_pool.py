"""Adaptive average pooling as two matmuls: exact at any input size, and exportable to ONNX.

ONNX has no adaptive pooling: paddle2onnx 2.1 turns ``F.adaptive_avg_pool2d`` into a fixed
AveragePool window (exact only when the bins divide the map) and aborts on a dynamic input
shape. Adaptive average pooling is linear, though: ``pooled = P_h @ x @ P_w^T`` with pooling
matrices whose row i averages rows ``floor(i * L / b) .. ceil((i + 1) * L / b) - 1`` of an
L-long axis -- Paddle's own bin rule. On a dynamic size the matrices are built in the graph with
arange, integer divisions, comparisons and casts, which export to ONNX (Range, Div, Less, Cast,
MatMul); on a known size (dygraph, or an export with a fixed input shape) they are constants.
"""
from __future__ import annotations

import functools
from typing import Sequence, Union

import numpy as np
import paddle

from .sizes import spatial_size

Length = Union[int, paddle.Tensor]   # a shape element: pir.Value while tracing


def _pool_matrix(cell, index, length, bins: int, dtype):
    """Paddle's adaptive bin rule on NumPy arrays or tensors alike (one rule, two array types).

    ``cell`` is the bins x 1 column 0..bins-1, ``index`` the 1 x length row 0..length-1; cell i
    covers ``[floor(i * L / b), ceil((i + 1) * L / b))`` and averages it.
    """
    start = cell * length // bins
    end = ((cell + 1) * length + (bins - 1)) // bins          # ceil on non-negative integers
    inside = ((index >= start) & (index < end)).astype(dtype)
    return inside / (end - start).astype(dtype)


@functools.lru_cache(maxsize=128)
def _constant_pool_matrix(length: int, bins: int) -> np.ndarray:
    cell, index = np.arange(bins)[:, None], np.arange(length)[None, :]
    return _pool_matrix(cell, index, length, bins, "float32")


@functools.lru_cache(maxsize=128)
def _dygraph_pool_matrix(length: int, bins: int, dtype, device: str) -> paddle.Tensor:
    # Cached per size, dtype and device: dygraph calls this every forward, and building the matrix
    # anew costs ~10 tiny ops (or a host-to-device copy, which can stall a GPU stream).
    return paddle.to_tensor(_constant_pool_matrix(length, bins), dtype=dtype)


@paddle.jit.not_to_static   # plain Python at trace time: a known size becomes a graph constant
def adaptive_pool_matrix(length: Length, bins: int, dtype=paddle.float32) -> paddle.Tensor:
    """The ``bins x length`` matrix that average-pools a length-long axis adaptively (``P @ x``).

    Args:
        length: size of the pooled axis: a Python int, or an integer tensor element of
            ``paddle.shape(x)`` (dynamic export; the matrix is then computed in the graph).
        bins: number of output cells (>= 1; more bins than ``length`` repeat input cells).
        dtype: floating dtype of the matrix.
    """
    if isinstance(length, (int, np.integer)):    # not a Tensor check: static graphs hold pir.Value
        if paddle.in_dynamic_mode():
            return _dygraph_pool_matrix(int(length), int(bins), dtype, paddle.get_device())
        # tracing a fixed-shape export: a constant in the graph
        return paddle.to_tensor(_constant_pool_matrix(int(length), int(bins)), dtype=dtype)
    length = length.astype("int64").reshape([])
    cell = paddle.arange(bins, dtype="int64").unsqueeze(1)
    index = paddle.arange(length, dtype="int64").unsqueeze(0)
    return _pool_matrix(cell, index, length, bins, dtype)


def adaptive_avg_pool2d(x: paddle.Tensor, output_size: Union[int, Sequence[int]]) -> paddle.Tensor:
    """``F.adaptive_avg_pool2d(x, output_size)`` (NCHW) computed as ``P_h @ x @ P_w^T``.

    Same result to float rounding at every input size, static or dynamic, and convertible to
    ONNX by paddle2onnx at any size (dynamic shapes included).

    Args:
        x: an N x C x H x W tensor.
        output_size: bins per axis, an int or (bins_h, bins_w), each >= 1.
    """
    bins_h, bins_w = (output_size, output_size) if isinstance(output_size, int) else output_size
    if int(bins_h) < 1 or int(bins_w) < 1:
        raise ValueError(f"adaptive_avg_pool2d output_size={output_size} must be positive sizes")
    size = spatial_size(x)
    pool_h = adaptive_pool_matrix(size[0], int(bins_h), x.dtype)
    pool_w = adaptive_pool_matrix(size[1], int(bins_w), x.dtype)
    return paddle.matmul(paddle.matmul(pool_h, x), pool_w, transpose_y=True)
