"""Auxiliary FCN head used for deep supervision."""
from __future__ import annotations

from typing import Any

import paddle
import paddle.nn as nn

from .conv_bn import ConvBNReLU


class AuxLayer(nn.Layer):
    """3x3 ConvBNReLU -> dropout -> 1x1 classifier (PaddleSeg's ``layers.AuxLayer``).

    Args:
        in_channels: channels of the backbone feature fed to the head.
        inter_channels: channels after the 3x3 conv.
        out_channels: number of classes.
        dropout_prob: dropout rate before the classifier.
        **kwargs: forwarded to the 3x3 ``ConvBNReLU``.
    """

    def __init__(self, in_channels: int, inter_channels: int, out_channels: int,
                 dropout_prob: float = 0.1, **kwargs: Any) -> None:
        super().__init__()
        self.conv_bn_relu = ConvBNReLU(in_channels, inter_channels, 3, padding=1, **kwargs)
        self.dropout = nn.Dropout(p=dropout_prob)
        self.conv = nn.Conv2D(inter_channels, out_channels, 1)

    def forward(self, x: paddle.Tensor) -> paddle.Tensor:
        return self.conv(self.dropout(self.conv_bn_relu(x)))
