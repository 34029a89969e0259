"""ICNet (Zhao et al., ECCV 2018, "ICNet for Real-Time Semantic Segmentation on
High-Resolution Images")."""
from __future__ import annotations

from typing import List, Optional, Sequence

import paddle
import paddle.nn as nn
import paddle.nn.functional as F

from paddleseg.cvlibs import manager
from paddleseg.models.layers import CascadeFeatureFusion, ConvBNReLU, SumPyramidPooling
from paddleseg.models.layers.sizes import scale_size, spatial_size
from paddleseg.utils.pretrained import load_entire_model


@manager.MODELS.add_component
class ICNet(nn.Layer):
    """Image cascade network: three resolutions of one image, joined by two CFF units.

    - High branch (full image): three stride-2 3x3 ConvBNReLU -> 1/8 of the input.
    - Medium branch (1/2 image): the backbone's stem and first ``split_stage`` stages -> 1/16
      of the input for the default split (stages 0 and 1 of a ResNet_vd).
    - Low branch: that 1/16 map halved again (bilinear) and run through the remaining stages
      of the SAME backbone (one set of weights) -> 1/32 when the backbone uses output_stride 8
      (its deep stages dilated instead of strided), then :class:`SumPyramidPooling`.
    - CFF(low, medium) then CFF(that, high); the fused 1/8 map is upsampled x2 and classified
      at 1/4 of the input.

    Training forward returns the cascade outputs ``[sub124, sub24, sub4]`` at 1/4, 1/8 and 1/16
    of the input (supervise each at its own scale: ``CrossEntropyLoss`` with
    ``match_size: downsample_label`` and coef ``[1.0, 0.4, 0.16]``, or mmseg's
    ``match_size: upsample_logit``). Eval returns ``[sub124 resized to the input]``.

    Args:
        num_classes: number of classes.
        backbone: a trunk with ``stem(x)``, ``forward_stages(y, start, stop)`` and four
            ``feat_channels`` (the ResNet_vd backbones; pass ``width_multiplier: 0.5`` there
            for the paper's compressed trunk).
        split_stage: how many backbone stages run on the 1/2 image before the halving.
        high_channels: widths of the three convs of the high-resolution branch.
        pyramid_bins: pool sizes of the pyramid pooling.
        low_channels: channels of the pyramid pooling's 1x1 projection.
        fusion_channels: output channels of both CFF units.
        pretrained: whole-model checkpoint (URL / file / folder), loaded last.
    """

    def __init__(self, num_classes: int, backbone: nn.Layer, split_stage: int = 2,
                 high_channels: Sequence[int] = (32, 32, 64), pyramid_bins: Sequence[int] = (1, 2, 3, 6),
                 low_channels: int = 256, fusion_channels: int = 128,
                 pretrained: Optional[str] = None) -> None:
        super().__init__()
        self.num_classes = num_classes
        missing = [a for a in ("stem", "forward_stages", "feat_channels") if not hasattr(backbone, a)]
        if missing:
            raise ValueError(f"ICNet needs a backbone that runs its stages separately (ResNet_vd); "
                             f"{type(backbone).__name__} lacks {missing}")
        feat_channels = list(backbone.feat_channels)
        if not 1 <= split_stage < len(feat_channels):
            raise ValueError(f"ICNet split_stage={split_stage} must be in 1..{len(feat_channels) - 1} "
                             f"(the backbone has {len(feat_channels)} stages)")
        if len(high_channels) != 3:
            raise ValueError(f"ICNet high_channels={list(high_channels)} needs three widths")
        self.backbone = backbone
        self.split_stage = split_stage
        self.num_stages = len(feat_channels)

        widths = [3] + [int(c) for c in high_channels]
        self.high_branch = nn.Sequential(*[ConvBNReLU(cin, cout, 3, padding=1, stride=2)
                                           for cin, cout in zip(widths[:-1], widths[1:])])
        self.pyramid = SumPyramidPooling(feat_channels[-1], low_channels, pyramid_bins)
        self.cff_low_medium = CascadeFeatureFusion(low_channels, feat_channels[split_stage - 1],
                                                   fusion_channels, num_classes)
        self.cff_medium_high = CascadeFeatureFusion(fusion_channels, widths[-1], fusion_channels, num_classes)
        self.classifier = nn.Conv2D(fusion_channels, num_classes, 1)

        self.pretrained = pretrained
        if pretrained is not None:
            load_entire_model(self, pretrained)

    def forward(self, x: paddle.Tensor) -> List[paddle.Tensor]:
        # Sizes are passed explicitly, never scale_factor: a float scale attribute breaks
        # paddle2onnx 2.1 ("elementwise MUST be ir::FloatAttribute") on the exported graph.
        size = spatial_size(x)
        high = self.high_branch(x)                                                          # 1/8
        half = F.interpolate(x, size=scale_size(size, 1, 2), mode="bilinear", align_corners=False)
        medium = self.backbone.forward_stages(self.backbone.stem(half), 0, self.split_stage)[-1]  # 1/16
        low = F.interpolate(medium, size=scale_size(spatial_size(medium), 1, 2), mode="bilinear",
                            align_corners=False)
        low = self.backbone.forward_stages(low, self.split_stage, self.num_stages)[-1]      # 1/32
        low = self.pyramid(low)
        fused, sub4 = self.cff_low_medium(low, medium)                                      # 1/16
        fused, sub24 = self.cff_medium_high(fused, high)                                    # 1/8
        fused = F.interpolate(fused, size=scale_size(spatial_size(fused), 2), mode="bilinear", align_corners=False)
        sub124 = self.classifier(fused)                                                     # 1/4
        if not self.training:
            return [F.interpolate(sub124, size=size, mode="bilinear", align_corners=False)]
        return [sub124, sub24, sub4]
