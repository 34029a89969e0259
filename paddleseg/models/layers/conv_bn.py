"""Convolution + batch-norm blocks with PaddleSeg's parameter names.

The sub-layer names (``_conv``, ``_batch_norm``) are part of the checkpoint format: PaddleSeg
2.8 weights load into these blocks unchanged. Plain ``BatchNorm2D`` is used everywhere; the
trainer converts to ``SyncBatchNorm`` on multi-GPU runs (it has no CPU kernel).
"""
from __future__ import annotations

from typing import Any, Union

import paddle
import paddle.nn as nn
import paddle.nn.functional as F


def _data_format(kwargs: dict) -> str:
    return kwargs.get("data_format", "NCHW")


class ConvBN(nn.Layer):
    """Conv2D (with bias, as in PaddleSeg's ``layers.ConvBN``) followed by BatchNorm2D.

    Args:
        in_channels: input channels.
        out_channels: output channels.
        kernel_size: convolution kernel size.
        padding: convolution padding; ``'same'`` keeps the spatial size for stride 1.
        **kwargs: forwarded to ``nn.Conv2D`` (stride, dilation, groups, bias_attr, data_format).
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int,
                 padding: Union[int, str] = "same", **kwargs: Any) -> None:
        super().__init__()
        self._conv = nn.Conv2D(in_channels, out_channels, kernel_size, padding=padding, **kwargs)
        self._batch_norm = nn.BatchNorm2D(out_channels, data_format=_data_format(kwargs))

    def forward(self, x: paddle.Tensor) -> paddle.Tensor:
        return self._batch_norm(self._conv(x))


class ConvBNReLU(ConvBN):
    """:class:`ConvBN` followed by ReLU (PaddleSeg's ``layers.ConvBNReLU``)."""

    def forward(self, x: paddle.Tensor) -> paddle.Tensor:
        return F.relu(self._batch_norm(self._conv(x)))
