"""ICNet's cascade feature fusion (CFF) unit."""
from __future__ import annotations

from typing import Optional, Tuple

import paddle
import paddle.nn as nn
import paddle.nn.functional as F

from .sizes import spatial_size
from .conv_bn import ConvBN


class CascadeFeatureFusion(nn.Layer):
    """Fuses a low-resolution map into a higher-resolution one.

    low -> bilinear resize to ``high``'s size (about x2) -> 3x3 conv, dilation 2 -> BN;
    high -> 1x1 conv -> BN; the two are summed, then ReLU (no ReLU on either branch before
    the sum, as in the paper). Resizing to ``high``'s exact size rather than by exactly 2 is
    what lets odd input sizes (1025 x 2049) through.

    In training mode an auxiliary 1x1 classifier on the resized low map gives the cascade
    label guidance output of this scale.

    Args:
        low_channels: channels of the low-resolution input.
        high_channels: channels of the high-resolution input.
        out_channels: channels of the fused output.
        num_classes: classes of the auxiliary classifier.
    """

    def __init__(self, low_channels: int, high_channels: int, out_channels: int, num_classes: int) -> None:
        super().__init__()
        self.conv_low = ConvBN(low_channels, out_channels, 3, padding=2, dilation=2)
        self.conv_high = ConvBN(high_channels, out_channels, 1)
        self.classifier = nn.Conv2D(low_channels, num_classes, 1)

    def forward(self, low: paddle.Tensor, high: paddle.Tensor) -> Tuple[paddle.Tensor, Optional[paddle.Tensor]]:
        """Returns ``(fused, aux_logits)``; ``aux_logits`` is None in eval mode."""
        low = F.interpolate(low, size=spatial_size(high), mode="bilinear", align_corners=False)
        fused = F.relu(self.conv_low(low) + self.conv_high(high))
        return fused, (self.classifier(low) if self.training else None)
