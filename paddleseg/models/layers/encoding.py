"""Context Encoding layer (Zhang et al., CVPR 2018) in memory-light matmul form.

Notation: X is the HW x C matrix of descriptors x_i (per image), D is K x C (codewords d_k), s is K
(smoothing factors). The paper's layer is

    a_ik = softmax_k( s_k * ||x_i - d_k||^2 )          (assignment, N x HW x K)
    e_k  = sum_i a_ik (x_i - d_k)                      (output,     N x K x C)

The direct implementation materialises x_i - d_k, an N x HW x K x C tensor (0.5 GB per image
for HW=8192, K=32, C=512, several times over with its gradient). Expanding the square and the
sum gives the same values from matmuls only:

    ||x_i - d_k||^2 = ||x_i||^2 - 2 x_i . d_k + ||d_k||^2    ->  X D^T  (N x HW x K)
    E = A^T X - (sum_i A)^T * D                              ->  A^T X  (N x K x C)

so the largest intermediate is N x HW x max(K, C).

Numerics: the expanded distance can come out slightly negative (down to about
-eps * ||x_i||^2) when x_i is close to d_k, because of cancellation. It is deliberately not
clamped: the softmax is shift-invariant and only sees the scaled values, an error of that size
is far below what changes the assignment, and clamping would zero the gradient there. The
softmax itself subtracts the row maximum, so large |s_k| * distance values do not overflow.
"""
from __future__ import annotations

import math

import paddle
import paddle.nn as nn
import paddle.nn.functional as F


class Encoding(nn.Layer):
    """Learnable residual encoding of a feature map against K codewords.

    Args:
        channels: C, channels of the input feature map.
        num_codes: K, number of codewords.

    Input N x C x H x W, output N x K x C. Parameters ``codewords`` [K, C] (uniform
    +-1/sqrt(K*C)) and ``scale`` [K] (uniform(-1, 0)), named as in PaddleSeg checkpoints.
    """

    def __init__(self, channels: int, num_codes: int) -> None:
        super().__init__()
        self.channels, self.num_codes = channels, num_codes
        std = 1.0 / math.sqrt(channels * num_codes)
        self.codewords = self.create_parameter(
            shape=[num_codes, channels], default_initializer=nn.initializer.Uniform(-std, std))
        self.scale = self.create_parameter(
            shape=[num_codes], default_initializer=nn.initializer.Uniform(-1.0, 0.0))

    def assignment(self, x: paddle.Tensor) -> paddle.Tensor:
        """Soft assignment A (N x HW x K) of descriptors ``x`` given as N x C x HW."""
        # ||x_i||^2 as ones(1, C) @ x^2: a BLAS call, much faster on CPU than a reduction over
        # the strided channel axis (and its backward is a matmul too).
        ones = paddle.ones([1, self.channels], dtype=x.dtype)
        x_sq = paddle.matmul(ones, paddle.square(x)).reshape([0, -1, 1])      # N x HW x 1
        # Parameters follow x's dtype: under AMP O2 they are stored in fp16 but x is fp32 here.
        codewords, scale = self.codewords.astype(x.dtype), self.scale.astype(x.dtype)
        d_sq = paddle.sum(codewords * codewords, axis=-1)                     # K
        cross = paddle.matmul(x, codewords, transpose_x=True, transpose_y=True)  # N x HW x K
        dist = x_sq - 2.0 * cross + d_sq
        return F.softmax(dist * scale, axis=-1)

    def macs(self, inputs, output) -> int:
        """Multiply-accumulates of one forward: ||x||^2, X D^T and A^T X (for the MAC counter)."""
        n, c, h, w = inputs[0].shape
        return n * h * w * c * (1 + 2 * self.num_codes)

    def forward(self, x: paddle.Tensor) -> paddle.Tensor:
        if x.ndim != 4:
            raise ValueError(f"Encoding expects an N x C x H x W input, got {x.ndim} dims")
        # -1 means a dynamic size under to_static; only a known, different size is an error.
        if x.shape[1] not in (-1, self.channels):
            raise ValueError(f"Encoding expects {self.channels} input channels, got {x.shape[1]}")
        # Distances of large activations and a softmax over them: always fp32, even under AMP.
        with paddle.amp.auto_cast(enable=False):
            # Kept as N x C x HW: the matmuls read it transposed, which avoids copying the
            # (largest) input tensor into N x HW x C.
            if x.dtype in (paddle.float16, paddle.bfloat16):
                x = x.astype("float32")
            x = x.flatten(start_axis=2)
            assign = self.assignment(x)                                           # N x HW x K
            weighted = paddle.matmul(assign, x, transpose_x=True, transpose_y=True)  # N x K x C
            mass = paddle.sum(assign, axis=1).unsqueeze(-1)                       # N x K x 1
            return weighted - mass * self.codewords.astype(x.dtype)
