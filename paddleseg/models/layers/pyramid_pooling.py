"""ICNet's light pyramid pooling: pooled context summed into the feature map."""
from __future__ import annotations

from typing import Sequence

import paddle
import paddle.nn as nn
import paddle.nn.functional as F

from .adaptive_pool import adaptive_avg_pool2d
from .sizes import spatial_size
from .conv_bn import ConvBNReLU


class SumPyramidPooling(nn.Layer):
    """x + sum_b upsample(avgpool_b(x)), then a 1x1 ConvBNReLU.

    Unlike PSPNet's module there is no conv per bin and no concatenation: the pooled maps are
    upsampled (bilinear) and added to the input, which keeps the channel count and costs almost
    nothing -- the point of ICNet's low-resolution branch.

    Args:
        in_channels: channels of the input map.
        out_channels: channels after the 1x1 projection.
        bins: output sizes of the adaptive average pools (any positive sizes; a map smaller
            than a bin is fine, adaptive pooling then repeats pixels).
    """

    def __init__(self, in_channels: int, out_channels: int, bins: Sequence[int] = (1, 2, 3, 6)) -> None:
        super().__init__()
        if not bins or any(int(b) < 1 for b in bins):
            raise ValueError(f"SumPyramidPooling bins={list(bins)} must be positive sizes")
        self.bins = [int(b) for b in bins]
        self.project = ConvBNReLU(in_channels, out_channels, 1)

    def forward(self, x: paddle.Tensor) -> paddle.Tensor:
        size = spatial_size(x)
        # adaptive_avg_pool2d as matmuls, not F.adaptive_avg_pool2d: exact in ONNX at any size
        pooled = [F.interpolate(adaptive_avg_pool2d(x, b), size=size, mode="bilinear",
                                align_corners=False) for b in self.bins]
        return self.project(paddle.add_n([x] + pooled))
