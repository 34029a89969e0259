"""ENCNet (Zhang et al., CVPR 2018, "Context Encoding for Semantic Segmentation")."""
from __future__ import annotations

from typing import List, Optional, Sequence

import paddle
import paddle.nn as nn
import paddle.nn.functional as F

from paddleseg.cvlibs import manager
from paddleseg.models.layers import AuxLayer, ConvBNReLU, EncModule
from paddleseg.utils.pretrained import load_entire_model


def default_aux_index(backbone_indices: Sequence[int], num_feats: int) -> int:
    """The stage just before the last one the head reads (FCN's auxiliary placement).

    With PaddleSeg's ``backbone_indices`` ([1, 2, 3], or [3]) this is output 2, the index PaddleSeg
    2.8 hard-codes, so its configs and checkpoints behave identically; with other selections the
    aux head moves with them instead of staying on a fixed stage.
    """
    last = backbone_indices[-1] % num_feats
    return max(last - 1, 0)


@manager.MODELS.add_component
class ENCNet(nn.Layer):
    """ENCNet with optional lateral fusion, SE head and auxiliary FCN head.

    Structure and parameter names equal PaddleSeg 2.8's ENCNet, so its checkpoints load as
    they are.

    Args:
        num_classes: number of classes.
        backbone: a backbone returning a list of feature maps and exposing ``feat_channels``.
        backbone_indices: backbone outputs used by the head; the last one goes through the
            3x3 bottleneck, the others are the lateral inputs when ``add_lateral``.
        num_codes: number of codewords K of the Encoding layer.
        mid_channels: channels of the head.
        use_se_loss: add the SE head (``se_layer``), whose output is the third training output.
        add_lateral: fuse 1x1-projected earlier stages into the head.
        aux_index: backbone output fed to the auxiliary FCN head. None follows the configured
            stages: the output just before the last of ``backbone_indices`` (2 for PaddleSeg's
            [1, 2, 3], PaddleSeg's own choice); set it to point the aux head elsewhere.
        pretrained: whole-model checkpoint (URL / file / folder), loaded after the backbone's
            own pretrained weights.

    Training forward returns ``[main, aux]`` plus ``se`` (N x num_classes) when
    ``use_se_loss``; main and aux are upsampled to the input size. Eval returns ``[main]``.
    """

    def __init__(self, num_classes: int, backbone: nn.Layer, backbone_indices: Sequence[int] = (1, 2, 3),
                 num_codes: int = 32, mid_channels: int = 512, use_se_loss: bool = True,
                 add_lateral: bool = False, aux_index: Optional[int] = None,
                 pretrained: Optional[str] = None) -> None:
        super().__init__()
        self.num_classes = num_classes
        feat_channels = list(getattr(backbone, "feat_channels", []))
        if not feat_channels:
            raise ValueError(f"ENCNet backbone {type(backbone).__name__} has no feat_channels attribute")
        num_feats = len(feat_channels)
        for key, values in (("backbone_indices", list(backbone_indices)),
                            ("aux_index", [] if aux_index is None else [aux_index])):
            bad = [i for i in values if not -num_feats <= i < num_feats]
            if bad or (key == "backbone_indices" and not values):
                raise ValueError(f"ENCNet {key}={values} is out of range: the backbone has {num_feats} "
                                 f"outputs (valid indices 0..{num_feats - 1})")
        self.aux_index = default_aux_index(backbone_indices, num_feats) if aux_index is None else aux_index
        self.backbone = backbone
        self.backbone_indices = list(backbone_indices)
        self.add_lateral = add_lateral
        self.use_se_loss = use_se_loss
        self.num_codes = num_codes
        in_channels = [feat_channels[i] for i in self.backbone_indices]

        self.bottleneck = ConvBNReLU(in_channels[-1], mid_channels, 3, padding=1)
        if add_lateral:
            self.lateral_convs = nn.LayerList([ConvBNReLU(c, mid_channels, 1) for c in in_channels[:-1]])
            self.fusion = ConvBNReLU(len(in_channels) * mid_channels, mid_channels, 3, padding=1)
        self.enc_module = EncModule(mid_channels, num_codes)
        self.head = nn.Conv2D(mid_channels, num_classes, 1)
        self.fcn_head = AuxLayer(feat_channels[self.aux_index], mid_channels, num_classes)
        if use_se_loss:
            self.se_layer = nn.Linear(mid_channels, num_classes)

        self.pretrained = pretrained
        if pretrained is not None:
            load_entire_model(self, pretrained)

    def forward(self, x: paddle.Tensor) -> List[paddle.Tensor]:
        size = paddle.shape(x)[2:]
        feats = self.backbone(x)
        selected = [feats[i] for i in self.backbone_indices]
        feat = self.bottleneck(selected[-1])
        if self.add_lateral:
            feat_size = paddle.shape(feat)[2:]
            laterals = [F.interpolate(conv(f), size=feat_size, mode="bilinear", align_corners=False)
                        for conv, f in zip(self.lateral_convs, selected[:-1])]
            feat = self.fusion(paddle.concat([feat] + laterals, axis=1))
        encoded, feat = self.enc_module(feat)
        out = F.interpolate(self.head(feat), size=size, mode="bilinear", align_corners=False)
        if not self.training:
            return [out]
        aux = F.interpolate(self.fcn_head(feats[self.aux_index]), size=size, mode="bilinear",
                            align_corners=False)
        outputs = [out, aux]
        if self.use_se_loss:
            outputs.append(self.se_layer(encoded))
        return outputs
