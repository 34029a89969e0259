"""ENCNet's context encoding module: encoding + channel gating."""
from __future__ import annotations

from typing import Tuple

import paddle
import paddle.nn as nn
import paddle.nn.functional as F

from .conv_bn import ConvBNReLU
from .encoding import Encoding


class EncModule(nn.Layer):
    """Encode the map against ``num_codes`` codewords and gate its channels with the result.

    Args:
        in_channels: channels of the input map (kept by the output).
        num_codes: number of codewords K.

    ``forward`` returns ``(e, y)``: the encoded vector e (N x C, the SE head's input) and the
    gated map y = relu(x + x * sigmoid(fc(e))) (same shape as x).
    """

    def __init__(self, in_channels: int, num_codes: int) -> None:
        super().__init__()
        self.in_channels = in_channels
        self.encoding_project = ConvBNReLU(in_channels, in_channels, 1)
        self.encoding = nn.Sequential(
            Encoding(channels=in_channels, num_codes=num_codes),
            nn.BatchNorm1D(num_codes),
            nn.ReLU(),
        )
        self.fc = nn.Sequential(nn.Linear(in_channels, in_channels), nn.Sigmoid())

    def forward(self, x: paddle.Tensor) -> Tuple[paddle.Tensor, paddle.Tensor]:
        encoded = self.encoding(self.encoding_project(x)).mean(axis=1)      # N x C
        gamma = self.fc(encoded).unsqueeze([2, 3])                           # N x C x 1 x 1
        return encoded, F.relu(x + x * gamma)
