"""Backbones; importing this package registers them in ``manager.BACKBONES``."""
from .resnet_vd import ResNet_vd, ResNet18_vd, ResNet34_vd, ResNet50_vd, ResNet101_vd

__all__ = ["ResNet_vd", "ResNet18_vd", "ResNet34_vd", "ResNet50_vd", "ResNet101_vd"]
