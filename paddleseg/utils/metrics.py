"""Segmentation metrics from a confusion matrix accumulated on the device.

The confusion matrix ``cm[g, p]`` counts pixels of ground-truth class ``g`` predicted as ``p``; it
is built with one ``bincount`` per batch, so no per-pixel work leaves the device. Classes absent
from both the ground truth and the prediction are excluded from the means (their IoU is 0/0).
PaddleSeg 2.8 instead counts such a class as IoU 0 in its mean; ``mIoU_all_classes`` is that figure,
for comparisons with PaddleSeg logs (the two agree whenever every class occurs, as on Cityscapes val).
"""
from __future__ import annotations

from typing import Dict, List, Optional, Sequence

import numpy as np
import paddle


def confusion_matrix(pred: paddle.Tensor, label: paddle.Tensor, num_classes: int,
                     ignore_index: int = 255) -> paddle.Tensor:
    """``num_classes x num_classes`` int64 confusion matrix of one batch (rows: ground truth)."""
    pred = pred.reshape([-1]).astype("int64")
    label = label.reshape([-1]).astype("int64")
    if pred.shape[0] != label.shape[0]:
        raise ValueError(f"prediction has {pred.shape[0]} pixels but label has {label.shape[0]}")
    valid = label != ignore_index
    index = paddle.masked_select(label * num_classes + pred, valid)
    counts = paddle.bincount(index, minlength=num_classes * num_classes)
    return counts.reshape([num_classes, num_classes])


def _safe_div(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    out = np.zeros_like(num, dtype=np.float64)
    np.divide(num, den, out=out, where=den > 0)
    return out


def metrics_from_confusion(cm: np.ndarray, class_names: Optional[Sequence[str]] = None) -> Dict:
    """mIoU, per-class IoU, pixel accuracy, mean class accuracy, kappa, dice, precision, recall."""
    cm = np.asarray(cm, dtype=np.float64)
    tp = np.diag(cm)
    gt = cm.sum(axis=1)
    pr = cm.sum(axis=0)
    union = gt + pr - tp
    present = union > 0  # in the ground truth or the prediction
    total = cm.sum()

    iou = _safe_div(tp, union)
    recall = _safe_div(tp, gt)
    precision = _safe_div(tp, pr)
    dice = _safe_div(2 * tp, gt + pr)
    acc = float(tp.sum() / total) if total > 0 else 0.0
    expected = float((gt * pr).sum() / (total * total)) if total > 0 else 0.0
    kappa = (acc - expected) / (1 - expected) if expected < 1 else 0.0

    def mean(values: np.ndarray, mask: np.ndarray) -> float:
        return float(values[mask].mean()) if mask.any() else 0.0

    names: List[str] = list(class_names) if class_names is not None else [str(i) for i in range(len(tp))]
    return {
        "mIoU": mean(iou, present),
        "mIoU_all_classes": float(iou.mean()) if len(iou) else 0.0,
        "Acc": acc,
        "mAcc": mean(recall, gt > 0),
        "Kappa": float(kappa),
        "mDice": mean(dice, present),
        "class_IoU": iou.tolist(),
        "class_precision": precision.tolist(),
        "class_recall": recall.tolist(),
        "class_dice": dice.tolist(),
        "class_names": names,
        "absent_classes": [names[i] for i in np.flatnonzero(~present)],
        "num_pixels": int(total),
    }
