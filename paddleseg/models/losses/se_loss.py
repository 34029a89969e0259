"""Semantic-encoding (SE) loss of ENCNet: per-image multi-label class presence."""
from __future__ import annotations

import paddle
import paddle.nn as nn
import paddle.nn.functional as F

from paddleseg.cvlibs import manager
from .cross_entropy_loss import squeeze_label


def class_presence(label: paddle.Tensor, num_classes: int, ignore_index: int = 255) -> paddle.Tensor:
    """Float N x num_classes matrix: 1 where image n has at least one pixel of class c.

    Pixels equal to ``ignore_index`` or outside [0, num_classes) do not count. Computed for the
    whole batch at once with one bincount over flat (image, class) bins.
    """
    label = squeeze_label(label).reshape([label.shape[0], -1])              # N x P
    batch = label.shape[0]
    valid = (label != ignore_index) & (label >= 0) & (label < num_classes)
    # Invalid pixels go to an extra bin num_classes per image, dropped below.
    cls = paddle.where(valid, label, paddle.full_like(label, num_classes))
    offsets = (paddle.arange(batch, dtype="int64") * (num_classes + 1)).unsqueeze(1)
    flat = (cls + offsets).flatten()
    counts = paddle.bincount(flat, minlength=batch * (num_classes + 1))
    counts = counts.reshape([batch, num_classes + 1])[:, :num_classes]
    return (counts > 0).astype("float32")


@manager.LOSSES.add_component
class SECrossEntropyLoss(nn.Layer):
    """Binary cross-entropy with logits between the SE head and the class-presence target.

    Args:
        ignore_index: label value excluded from the presence target.
        data_format: accepted for config compatibility; the SE logits are N x num_classes.

    ``forward(logit, label)``: logit N x num_classes (or N x num_classes x 1 x 1), label
    N x H x W (or N x 1 x H x W). Returns the mean BCE over images and classes.
    """

    def __init__(self, ignore_index: int = 255, data_format: str = "NCHW") -> None:
        super().__init__()
        self.ignore_index = ignore_index
        self.data_format = data_format

    def forward(self, logit: paddle.Tensor, label: paddle.Tensor) -> paddle.Tensor:
        if logit.ndim == 4:
            logit = logit.flatten(start_axis=1)
        if logit.ndim != 2:
            raise ValueError(f"SECrossEntropyLoss expects N x num_classes logits, got shape {list(logit.shape)}")
        target = class_presence(label, logit.shape[1], self.ignore_index).astype(logit.dtype)
        return F.binary_cross_entropy_with_logits(logit, target)
