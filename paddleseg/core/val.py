"""Whole-image evaluation: confusion matrix on the device, metrics and a readable report."""
from __future__ import annotations

import time
from typing import Dict, Optional, Sequence

import numpy as np
import paddle
from tqdm import tqdm

from ..utils import logger
from ..utils.metrics import confusion_matrix, metrics_from_confusion
from .data import build_loader
from .infer import inference


def evaluate(model: paddle.nn.Layer, eval_dataset: paddle.io.Dataset, num_workers: int = 0,
             print_detail: bool = True, progress: bool = True) -> Dict:
    """Evaluate ``model`` on ``eval_dataset`` (batch 1, whole image); returns the metrics dict.

    Predictions are mapped back to the original label size through the dataset's ``trans_info``.
    """
    num_classes = int(eval_dataset.num_classes)
    ignore_index = int(getattr(eval_dataset, "ignore_index", 255))
    loader = build_loader(eval_dataset, batch_size=1, shuffle=False, drop_last=False, num_workers=num_workers)
    was_training = model.training
    model.eval()
    cm = paddle.zeros([num_classes, num_classes], dtype="int64")
    start = time.perf_counter()
    total = len(loader)
    if print_detail:
        logger.info(f"Start evaluating (total_samples: {len(eval_dataset)}, total_iters: {total})...")
    bar = tqdm(loader, total=total, desc="eval", unit="img", disable=not (progress and print_detail),
               dynamic_ncols=True, leave=False)
    with paddle.no_grad():
        for batch in bar:
            label = batch["label"]
            logits = inference(model, batch["img"], trans_info=batch.get("trans_info", [None])[0],
                               ori_shape=tuple(label.shape[-2:]))
            pred = paddle.argmax(logits, axis=1)
            cm += confusion_matrix(pred, label, num_classes, ignore_index)
    bar.close()
    if was_training:
        model.train()
    elapsed = time.perf_counter() - start
    names = getattr(eval_dataset, "CLASS_NAMES", None) or getattr(eval_dataset, "NAMES", None)
    if names is not None and len(names) != num_classes:
        names = None
    result = metrics_from_confusion(cm.numpy(), class_names=names)
    result["num_images"] = len(eval_dataset)
    result["seconds"] = elapsed
    if print_detail:
        logger.info(format_report(result))
    return result


def format_report(result: Dict) -> str:
    """Summary line in PaddleSeg's spelling plus a per-class table."""
    lines = [
        f"[EVAL] #Images: {result['num_images']} mIoU: {result['mIoU']:.4f} Acc: {result['Acc']:.4f} "
        f"Kappa: {result['Kappa']:.4f} Dice: {result['mDice']:.4f} mAcc: {result['mAcc']:.4f} "
        f"({result['seconds']:.1f}s)"
    ]
    names = result["class_names"]
    width = max(8, max(len(n) for n in names))
    lines.append(f"{'class':<{width}}  {'IoU':>7}  {'Prec':>7}  {'Recall':>7}")
    for name, iou, prec, rec in zip(names, result["class_IoU"], result["class_precision"], result["class_recall"]):
        absent = name in result["absent_classes"]
        lines.append(f"{name:<{width}}  {'-' if absent else f'{iou:.4f}':>7}  {prec:7.4f}  {rec:7.4f}")
    if result["absent_classes"]:
        lines.append("absent from ground truth and prediction (excluded from means): "
                     + ", ".join(result["absent_classes"]))
    return "\n".join(lines)
