"""ResNet-vd backbones (He et al., "Bag of Tricks", 2019) with dilated last stages.

Parameter names and shapes equal PaddleSeg 2.8's ``ResNet_vd`` so its ImageNet / SSLD
checkpoints load as they are: stem ``conv1_1..3``, blocks ``bb_{stage}_{block}`` with
``conv0/conv1/conv2/short``, each a ``_conv`` (no bias) + ``_batch_norm`` pair.

Dilation, as PaddleSeg builds it (checked against it numerically):
- a dilated stage uses its dilation in EVERY block, the first included, and no stride;
- 3x3 convs are padded by their dilation, so the spatial size only changes on strided blocks;
- the projection shortcut average-pools (2x2, stride 2, ceil mode) only when its block is
  strided; on a dilated (stride 1) stage it is a plain 1x1 conv-BN, as is stage 1's.
"""
from __future__ import annotations

from typing import List, Optional, Sequence

import paddle
import paddle.nn as nn
import paddle.nn.functional as F

from paddleseg.cvlibs import manager
from paddleseg.utils.pretrained import load_pretrained_model

__all__ = ["ResNet_vd", "ResNet18_vd", "ResNet34_vd", "ResNet50_vd", "ResNet101_vd"]

DEPTHS = {18: [2, 2, 2, 2], 34: [3, 4, 6, 3], 50: [3, 4, 6, 3], 101: [3, 4, 23, 3],
          152: [3, 8, 36, 3], 200: [3, 12, 48, 3]}
STAGE_DILATIONS = {8: {2: 2, 3: 4}, 16: {3: 2}, 32: {}}
STAGE_WIDTHS = [64, 128, 256, 512]


class ConvBNLayer(nn.Layer):
    """Bias-free conv + BN (+ optional ReLU), optionally preceded by the vd average pool.

    Args:
        in_channels: input channels.
        out_channels: output channels.
        kernel_size: 1 or 3 (dilation > 1 only with 3).
        stride: convolution stride.
        dilation: convolution dilation; 3x3 convs are padded by it.
        relu: apply ReLU after BN.
        avg_down: 2x2/stride-2 ceil-mode average pool before the conv (vd shortcut).
        data_format: 'NCHW' or 'NHWC'.
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, stride: int = 1,
                 dilation: int = 1, relu: bool = False, avg_down: bool = False,
                 data_format: str = "NCHW") -> None:
        super().__init__()
        if dilation != 1 and kernel_size != 3:
            raise ValueError(f"dilation {dilation} needs a 3x3 conv, got kernel_size {kernel_size}")
        self.relu = relu
        self.avg_down = avg_down
        self.data_format = data_format
        self._conv = nn.Conv2D(in_channels, out_channels, kernel_size, stride=stride,
                               padding=dilation if dilation > 1 else (kernel_size - 1) // 2,
                               dilation=dilation, bias_attr=False, data_format=data_format)
        self._batch_norm = nn.BatchNorm2D(out_channels, data_format=data_format)

    def forward(self, x: paddle.Tensor) -> paddle.Tensor:
        if self.avg_down:
            x = F.avg_pool2d(x, 2, 2, ceil_mode=True, data_format=self.data_format)
        y = self._batch_norm(self._conv(x))
        return F.relu(y) if self.relu else y


def _shortcut(in_channels: int, out_channels: int, stride: int, first_of_net: bool,
              data_format: str) -> ConvBNLayer:
    # The vd trick moves the downsampling of the projection from a strided 1x1 conv (which
    # drops 3/4 of the pixels) to an average pool; unstrided projections need neither.
    return ConvBNLayer(in_channels, out_channels, 1, avg_down=stride != 1 and not first_of_net,
                       data_format=data_format)


class BottleneckBlock(nn.Layer):
    """1x1 -> 3x3 (stride, dilation) -> 1x1 (x4 channels) residual block."""

    expansion = 4

    def __init__(self, in_channels: int, width: int, stride: int, dilation: int,
                 project: bool, first_of_net: bool, data_format: str = "NCHW") -> None:
        super().__init__()
        out_channels = width * self.expansion
        self.conv0 = ConvBNLayer(in_channels, width, 1, relu=True, data_format=data_format)
        self.conv1 = ConvBNLayer(width, width, 3, stride=stride, dilation=dilation, relu=True,
                                 data_format=data_format)
        self.conv2 = ConvBNLayer(width, out_channels, 1, data_format=data_format)
        self.short = _shortcut(in_channels, out_channels, stride, first_of_net, data_format) \
            if project else None

    def forward(self, x: paddle.Tensor) -> paddle.Tensor:
        y = self.conv2(self.conv1(self.conv0(x)))
        return F.relu(y + (self.short(x) if self.short is not None else x))


class BasicBlock(nn.Layer):
    """3x3 (stride, dilation) -> 3x3 (dilation) residual block."""

    expansion = 1

    def __init__(self, in_channels: int, width: int, stride: int, dilation: int,
                 project: bool, first_of_net: bool, data_format: str = "NCHW") -> None:
        super().__init__()
        self.conv0 = ConvBNLayer(in_channels, width, 3, stride=stride, dilation=dilation,
                                 relu=True, data_format=data_format)
        self.conv1 = ConvBNLayer(width, width, 3, dilation=dilation, data_format=data_format)
        self.short = _shortcut(in_channels, width, stride, first_of_net, data_format) \
            if project else None

    def forward(self, x: paddle.Tensor) -> paddle.Tensor:
        y = self.conv1(self.conv0(x))
        return F.relu(y + (self.short(x) if self.short is not None else x))


@manager.BACKBONES.add_component
class ResNet_vd(nn.Layer):
    """ResNet-vd returning the four stage outputs (strides 4, 8, 16, 32 before dilation).

    Args:
        layers: depth, one of 18, 34, 50, 101, 152, 200.
        output_stride: 8 (stages 3, 4 dilated 2, 4), 16 (stage 4 dilated 2) or 32 (none).
        multi_grid: per-block multipliers of the last stage's dilation; needs at least as
            many entries as that stage has blocks.
        pretrained: URL or path of backbone weights (PaddleSeg names), or None.
        in_channels: channels of the input image.
        data_format: 'NCHW' or 'NHWC'.
        width_multiplier: scales every conv width (stem and stages), e.g. 0.5 for ICNet's
            compressed trunk. Parameter names stay the same; weights trained at another width
            do not fit (the load summary lists them as shape-mismatched).

    Attributes:
        feat_channels: channels of the four outputs.

    Besides ``forward``, ``stem`` and ``forward_stages`` run parts of the network, for models
    (ICNet) that feed different inputs to the shallow and the deep stages of one trunk.
    """

    def __init__(self, layers: int = 50, output_stride: int = 8,
                 multi_grid: Sequence[int] = (1, 1, 1), pretrained: Optional[str] = None,
                 in_channels: int = 3, data_format: str = "NCHW", width_multiplier: float = 1.0) -> None:
        super().__init__()
        if not 0.0 < width_multiplier <= 4.0:
            raise ValueError(f"ResNet_vd width_multiplier={width_multiplier} must be in (0, 4]")
        if layers not in DEPTHS:
            raise ValueError(f"ResNet_vd layers={layers} is not supported; use one of {sorted(DEPTHS)}")
        if output_stride not in STAGE_DILATIONS:
            raise ValueError(f"ResNet_vd output_stride={output_stride} is not supported; use 8, 16 or 32")
        depths = DEPTHS[layers]
        if len(multi_grid) < depths[3]:
            raise ValueError(f"ResNet_vd multi_grid={list(multi_grid)} has {len(multi_grid)} entries but "
                             f"the last stage of ResNet{layers}_vd has {depths[3]} blocks")
        block_cls = BottleneckBlock if layers >= 50 else BasicBlock
        self.layers = layers
        self.data_format = data_format
        widths = [_scaled(w, width_multiplier) for w in STAGE_WIDTHS]
        self.feat_channels = [w * block_cls.expansion for w in widths]

        stem_mid, channels = _scaled(32, width_multiplier), _scaled(64, width_multiplier)
        self.conv1_1 = ConvBNLayer(in_channels, stem_mid, 3, stride=2, relu=True, data_format=data_format)
        self.conv1_2 = ConvBNLayer(stem_mid, stem_mid, 3, relu=True, data_format=data_format)
        self.conv1_3 = ConvBNLayer(stem_mid, channels, 3, relu=True, data_format=data_format)

        self.stage_list: List[List[nn.Layer]] = []
        for stage, depth in enumerate(depths):
            blocks = []
            for i in range(depth):
                dilation = STAGE_DILATIONS[output_stride].get(stage, 1)
                if stage == 3:
                    dilation *= multi_grid[i]
                # Only the first block of stages 2-4 downsamples, and only when undilated.
                stride = 2 if i == 0 and stage != 0 and dilation == 1 else 1
                block = block_cls(channels, widths[stage], stride, dilation,
                                  project=i == 0, first_of_net=stage == 0 and i == 0,
                                  data_format=data_format)
                blocks.append(self.add_sublayer(f"bb_{stage}_{i}", block))
                channels = widths[stage] * block_cls.expansion
            self.stage_list.append(blocks)

        load_pretrained_model(self, pretrained)

    def stem(self, x: paddle.Tensor) -> paddle.Tensor:
        """Three 3x3 convs and the max pool: the input of stage 0 (stride 4)."""
        y = self.conv1_3(self.conv1_2(self.conv1_1(x)))
        return F.max_pool2d(y, 3, 2, padding=1, data_format=self.data_format)

    def forward_stages(self, y: paddle.Tensor, start: int = 0, stop: int = 4) -> List[paddle.Tensor]:
        """Runs stages ``start..stop-1`` on ``y`` and returns each one's output."""
        feats = []
        for blocks in self.stage_list[start:stop]:
            for block in blocks:
                y = block(y)
            feats.append(y)
        return feats

    def forward(self, x: paddle.Tensor) -> List[paddle.Tensor]:
        return self.forward_stages(self.stem(x))


def _scaled(width: int, multiplier: float) -> int:
    return max(1, int(round(width * multiplier)))


def _resnet(layers: int, output_stride: int, multi_grid: Sequence[int], pretrained: Optional[str],
            in_channels: int, data_format: str, width_multiplier: float) -> ResNet_vd:
    return ResNet_vd(layers=layers, output_stride=output_stride, multi_grid=multi_grid,
                     pretrained=pretrained, in_channels=in_channels, data_format=data_format,
                     width_multiplier=width_multiplier)


@manager.BACKBONES.add_component
def ResNet18_vd(output_stride: int = 8, multi_grid: Sequence[int] = (1, 1, 1),
                pretrained: Optional[str] = None, in_channels: int = 3,
                data_format: str = "NCHW", width_multiplier: float = 1.0) -> ResNet_vd:
    """ResNet18-vd (basic blocks, feat_channels 64..512)."""
    return _resnet(18, output_stride, multi_grid, pretrained, in_channels, data_format, width_multiplier)


@manager.BACKBONES.add_component
def ResNet34_vd(output_stride: int = 8, multi_grid: Sequence[int] = (1, 1, 1),
                pretrained: Optional[str] = None, in_channels: int = 3,
                data_format: str = "NCHW", width_multiplier: float = 1.0) -> ResNet_vd:
    """ResNet34-vd (basic blocks, feat_channels 64..512)."""
    return _resnet(34, output_stride, multi_grid, pretrained, in_channels, data_format, width_multiplier)


@manager.BACKBONES.add_component
def ResNet50_vd(output_stride: int = 8, multi_grid: Sequence[int] = (1, 1, 1),
                pretrained: Optional[str] = None, in_channels: int = 3,
                data_format: str = "NCHW", width_multiplier: float = 1.0) -> ResNet_vd:
    """ResNet50-vd (bottlenecks, feat_channels 256..2048)."""
    return _resnet(50, output_stride, multi_grid, pretrained, in_channels, data_format, width_multiplier)


@manager.BACKBONES.add_component
def ResNet101_vd(output_stride: int = 8, multi_grid: Sequence[int] = (1, 1, 1),
                 pretrained: Optional[str] = None, in_channels: int = 3,
                 data_format: str = "NCHW", width_multiplier: float = 1.0) -> ResNet_vd:
    """ResNet101-vd (bottlenecks, feat_channels 256..2048)."""
    return _resnet(101, output_stride, multi_grid, pretrained, in_channels, data_format, width_multiplier)
