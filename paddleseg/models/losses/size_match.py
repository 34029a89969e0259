"""Bringing logits and labels of different spatial sizes together before a pixel loss."""
from __future__ import annotations

from typing import Optional, Tuple

import paddle
import paddle.nn.functional as F

MATCH_SIZE_MODES = (None, "downsample_label", "upsample_logit")


def check_match_size(mode: Optional[str], owner: str) -> None:
    """Raises a ValueError naming ``owner`` when ``mode`` is not a known ``match_size``."""
    if mode not in MATCH_SIZE_MODES:
        raise ValueError(f"{owner} match_size={mode!r} must be one of {list(MATCH_SIZE_MODES)}")


def match_size(logit: paddle.Tensor, label: paddle.Tensor, mode: Optional[str],
               data_format: str = "NCHW", owner: str = "loss") -> Tuple[paddle.Tensor, paddle.Tensor]:
    """Returns ``(logit, label)`` with equal spatial sizes.

    Args:
        logit: N x C x h x w (NCHW) or N x h x w x C (NHWC).
        label: int N x H x W.
        mode: ``None`` -- the sizes must already agree (a clear error otherwise);
            ``"downsample_label"`` -- the label is resized to the logit with nearest
            interpolation (ICNet's cascade label guidance: each output learns at its own scale);
            ``"upsample_logit"`` -- the logit is resized to the label bilinearly (mmseg's way).
        data_format: layout of ``logit``.
        owner: named in the error message.
    """
    spatial = logit.shape[1:3] if data_format == "NHWC" else logit.shape[2:4]
    target = label.shape[1:3]
    if list(spatial) == list(target):
        return logit, label
    if mode is None:
        raise ValueError(f"{owner}: logits are {list(spatial)} but labels are {list(target)}; upsample the "
                         f"model output, or set match_size: downsample_label (labels resized to each output, "
                         f"nearest) or match_size: upsample_logit (outputs resized to the label, bilinear)")
    if mode == "downsample_label":
        # Nearest keeps label values (and ignore_index) intact; float32 holds ids up to 2**24 exactly.
        resized = F.interpolate(label.unsqueeze(1).astype("float32"), size=list(spatial), mode="nearest")
        return logit, resized.squeeze(1).astype(label.dtype)
    return F.interpolate(logit, size=list(target), mode="bilinear", align_corners=False,
                         data_format=data_format), label
