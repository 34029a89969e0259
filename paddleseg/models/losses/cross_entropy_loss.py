"""Pixel-wise softmax cross-entropy with ignore label, class weights and hard-pixel mining."""
from __future__ import annotations

from typing import Optional, Sequence

import paddle
import paddle.nn as nn
import paddle.nn.functional as F

from paddleseg.cvlibs import manager
from .size_match import check_match_size, match_size

EPS = 1e-8  # keeps an all-ignored batch at 0 / (0 + EPS) = 0 instead of NaN


def squeeze_label(label: paddle.Tensor) -> paddle.Tensor:
    """Accept labels as N x H x W or N x 1 x H x W; return int64 N x H x W."""
    if label.ndim == 4:
        label = label.squeeze(1)
    return label.astype("int64")


@manager.LOSSES.add_component
class CrossEntropyLoss(nn.Layer):
    """Softmax cross-entropy averaged over non-ignored pixels.

    With class weights w the value is sum_i w[y_i] * nll_i / sum_i w[y_i] over non-ignored
    pixels i (PaddleSeg 2.8's normalisation: a weighted mean, so the loss scale does not depend
    on the weights' magnitude). Without weights it is the plain mean over non-ignored pixels.

    Args:
        weight: per-class weights (length = number of classes) or None.
        ignore_index: label value excluded from the loss.
        top_k_percent_pixels: in (0, 1]; below 1, only that fraction of all pixels with the
            highest (weighted) loss is averaged (hard-pixel mining). Ignored pixels have loss 0
            and so are picked last.
        avg_non_ignore: average over non-ignored pixels (True, PaddleSeg 2.8's default) or over
            all pixels (False, PaddleSeg < 2.6). With class weights the weighted mean is always
            over non-ignored pixels (ignored pixels have no class, hence no weight).
        data_format: 'NCHW' or 'NHWC' layout of the logits.
        match_size: what to do when the logits are smaller than the label: None (an error),
            'downsample_label' (nearest-resize the label to the logits; ICNet's cascade label
            guidance) or 'upsample_logit' (bilinear-resize the logits to the label).
    """

    def __init__(self, weight: Optional[Sequence[float]] = None, ignore_index: int = 255,
                 top_k_percent_pixels: float = 1.0, avg_non_ignore: bool = True,
                 data_format: str = "NCHW", match_size: Optional[str] = None) -> None:
        super().__init__()
        check_match_size(match_size, "CrossEntropyLoss")
        if not 0.0 < top_k_percent_pixels <= 1.0:
            raise ValueError(f"CrossEntropyLoss top_k_percent_pixels={top_k_percent_pixels} must be in (0, 1]")
        if data_format not in ("NCHW", "NHWC"):
            raise ValueError(f"CrossEntropyLoss data_format={data_format!r} must be 'NCHW' or 'NHWC'")
        self.ignore_index = ignore_index
        self.top_k_percent_pixels = top_k_percent_pixels
        self.avg_non_ignore = avg_non_ignore
        self.data_format = data_format
        self.match_size = match_size
        self.weight = None if weight is None else paddle.to_tensor(list(weight), dtype="float32")

    def forward(self, logit: paddle.Tensor, label: paddle.Tensor) -> paddle.Tensor:
        """Loss of ``logit`` (N x C x H x W, or N x H x W x C for NHWC) against ``label``."""
        label = squeeze_label(label)
        logit, label = match_size(logit, label, self.match_size, self.data_format, "CrossEntropyLoss")
        if self.data_format == "NCHW":
            logit = logit.transpose([0, 2, 3, 1])
        num_classes = logit.shape[-1]
        if self.weight is not None and self.weight.shape[0] != num_classes:
            raise ValueError(f"CrossEntropyLoss has {self.weight.shape[0]} class weights but the logits "
                             f"have {num_classes} classes")
        valid = label != self.ignore_index
        # Ignored pixels get class 0 so every lookup is in range; the mask zeroes them afterwards.
        safe_label = paddle.where(valid, label, paddle.zeros_like(label))
        mask = valid.astype(logit.dtype)
        nll = F.cross_entropy(logit, safe_label, reduction="none", axis=-1).reshape(label.shape)
        if self.weight is None:
            loss = nll * mask
            coef = mask if self.avg_non_ignore else paddle.ones_like(mask)
        else:
            pixel_weight = paddle.gather(self.weight.astype(logit.dtype), safe_label.flatten())
            coef = pixel_weight.reshape(label.shape) * mask
            loss = nll * coef
        coef.stop_gradient = True
        if self.top_k_percent_pixels < 1.0:
            loss, coef = loss.flatten(), coef.flatten()
            k = max(1, int(self.top_k_percent_pixels * loss.shape[0]))
            loss, idx = paddle.topk(loss, k)
            coef = paddle.gather(coef, idx)
        return loss.sum() / (coef.sum() + EPS)
