"""Reusable building blocks for segmentation models."""
from .adaptive_pool import adaptive_avg_pool2d
from .conv_bn import ConvBN, ConvBNReLU
from .aux_layer import AuxLayer
from .encoding import Encoding
from .enc_module import EncModule
from .pyramid_pooling import SumPyramidPooling
from .cascade_feature_fusion import CascadeFeatureFusion

__all__ = ["ConvBN", "ConvBNReLU", "AuxLayer", "Encoding", "EncModule", "SumPyramidPooling",
           "CascadeFeatureFusion", "adaptive_avg_pool2d"]
