"""Losses; importing this package registers them in ``manager.LOSSES``."""
from .cross_entropy_loss import CrossEntropyLoss
from .se_loss import SECrossEntropyLoss, class_presence
from .multi_output_loss import MultiOutputLoss

__all__ = ["CrossEntropyLoss", "SECrossEntropyLoss", "class_presence", "MultiOutputLoss"]
