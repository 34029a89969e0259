"""Evaluation: confusion matrix on the device, whole / slide / flip / multi-scale inference,
batches of same-size images, multi-process gathering, and a readable report."""
from __future__ import annotations

import time
from typing import Any, Dict, Iterable, List, Optional

import paddle
import paddle.distributed as dist

from ..datasets.facts import dataset_facts
from ..utils import logger
from ..utils.metrics import confusion_matrix, metrics_from_confusion
from ..utils.progress import progress as progress_reporter
from ..utils.runtime import seed_worker
from .data import CheckedLoader, GuardedSamples, guarded_collate
from .infer import InferOptions, inference


def _as_list(batch: List[Dict[str, Any]]) -> List[Dict[str, Any]]:
    return batch


def _as_tensor(value: Any) -> paddle.Tensor:
    # The DataLoader hands back tensors in worker mode and NumPy arrays otherwise.
    return value if isinstance(value, paddle.Tensor) else paddle.to_tensor(value)


def _same_size_groups(samples: List[Dict[str, Any]]) -> Iterable[List[Dict[str, Any]]]:
    """Split a loaded batch into groups that can be stacked and mapped back together."""
    groups: Dict[tuple, List[Dict[str, Any]]] = {}
    for sample in samples:
        records = tuple((op, tuple(size)) for op, size in sample.get("trans_info") or [])
        key = (tuple(sample["img"].shape), tuple(sample["label"].shape), records)
        groups.setdefault(key, []).append(sample)
    return groups.values()


def _rank_subset(dataset: paddle.io.Dataset) -> paddle.io.Dataset:
    """Every world_size-th sample for this rank (no padding, so no image is counted twice)."""
    world, rank = dist.get_world_size(), dist.get_rank()
    if world <= 1:
        return dataset
    return paddle.io.Subset(dataset, list(range(rank, len(dataset), world)))


def _eval_loader(shard: paddle.io.Dataset, batch_size: int, num_workers: int) -> CheckedLoader:
    """In-order batches of ``shard`` as lists of sample dicts (sizes may differ within a batch)."""
    # A sample that fails to load raises a DataError naming its files here, not a hang in Paddle.
    return CheckedLoader(paddle.io.DataLoader(
        GuardedSamples(shard), batch_size=batch_size, shuffle=False, drop_last=False, num_workers=num_workers,
        collate_fn=guarded_collate(_as_list), return_list=True,
        worker_init_fn=seed_worker if num_workers > 0 else None))


def _confusion(model: paddle.nn.Layer, loader: Iterable[List[Dict[str, Any]]], options: InferOptions,
               num_classes: int, ignore_index: int, bar: Any) -> paddle.Tensor:
    """The confusion matrix of ``model``'s predictions over ``loader`` (this rank's images only)."""
    cm = paddle.zeros([num_classes, num_classes], dtype="int64")
    with paddle.no_grad():
        for samples in loader:
            for group in _same_size_groups(samples):
                img = paddle.stack([_as_tensor(s["img"]) for s in group])
                label = paddle.stack([_as_tensor(s["label"]) for s in group])
                scores = inference(model, img, trans_info=group[0].get("trans_info"),
                                   ori_shape=tuple(label.shape[-2:]), options=options)
                cm += confusion_matrix(paddle.argmax(scores, axis=1), label, num_classes, ignore_index)
                bar.update(len(group))
    return cm


def _ignore_index(eval_dataset: paddle.io.Dataset) -> int:
    """The dataset's ignore index (255, PaddleSeg's convention, when it states none)."""
    value = dataset_facts(eval_dataset).ignore_index
    return 255 if value is None else int(value)


def _class_names(eval_dataset: paddle.io.Dataset, num_classes: int) -> Optional[List[str]]:
    """The dataset's class names when it declares one per class, else None (numbered in the report)."""
    names = dataset_facts(eval_dataset).class_names
    return names if names is not None and len(names) == num_classes else None


def evaluate(model: paddle.nn.Layer, eval_dataset: paddle.io.Dataset, num_workers: int = 0,
             print_detail: bool = True, progress: bool = True, options: Optional[InferOptions] = None,
             batch_size: int = 1) -> Dict:
    """Evaluate ``model`` on ``eval_dataset``; returns the metrics dict (rank 0 logs it).

    Args:
        model: the segmentation model (switched to eval mode for the run, restored after).
        eval_dataset: yields ``img``, ``label`` and ``trans_info``; predictions are mapped back
            to the label's size through ``trans_info``.
        num_workers: data-loading worker processes.
        print_detail: log the start line and the report.
        progress: show progress (a bar on a terminal, else a log line every 10% of the images).
        options: whole / slide / flip / multi-scale settings (default: whole image).
        batch_size: images loaded together; those of equal size (and transform records) run
            through the model as one batch.

    Under ``paddle.distributed.launch`` each rank evaluates its share of the images and the
    confusion matrices are summed across ranks before the metrics are computed.
    """
    options = options or InferOptions()
    num_classes = int(eval_dataset.num_classes)
    shard = _rank_subset(eval_dataset)
    loader = _eval_loader(shard, batch_size, num_workers)
    show = print_detail and dist.get_rank() == 0
    was_training = model.training
    model.eval()
    start = time.perf_counter()
    if show:
        logger.info(f"Start evaluating (total_samples: {len(eval_dataset)}, batch_size: {batch_size}, "
                    f"{options.describe()})...")
    bar = progress_reporter(len(shard), "eval", enabled=progress and show)
    try:
        cm = _confusion(model, loader, options, num_classes, _ignore_index(eval_dataset), bar)
    finally:
        bar.close()   # also on a data error, so its message starts on a clean line
    if dist.get_world_size() > 1:
        dist.all_reduce(cm)
    if was_training:
        model.train()
    elapsed = time.perf_counter() - start
    matrix = cm.numpy()
    result = metrics_from_confusion(matrix, class_names=_class_names(eval_dataset, num_classes))
    result.update(num_images=len(eval_dataset), seconds=elapsed, images_per_second=len(eval_dataset) / elapsed,
                  inference=options.describe(), confusion_matrix=matrix.tolist())
    if show:
        logger.info(format_report(result))
    return result


def format_report(result: Dict) -> str:
    """Summary line in PaddleSeg's spelling plus a per-class table."""
    lines = [
        f"[EVAL] #Images: {result['num_images']} mIoU: {result['mIoU']:.4f} Acc: {result['Acc']:.4f} "
        f"Kappa: {result['Kappa']:.4f} Dice: {result['mDice']:.4f} mAcc: {result['mAcc']:.4f} "
        f"({result['seconds']:.1f}s, {result.get('images_per_second', 0):.2f} img/s)"
    ]
    names = result["class_names"]
    width = max(8, max(len(n) for n in names))
    lines.append(f"{'class':<{width}}  {'IoU':>7}  {'Prec':>7}  {'Recall':>7}")
    for name, iou, prec, rec in zip(names, result["class_IoU"], result["class_precision"], result["class_recall"]):
        absent = name in result["absent_classes"]
        lines.append(f"{name:<{width}}  {'-' if absent else f'{iou:.4f}':>7}  {prec:7.4f}  {rec:7.4f}")
    if result["absent_classes"]:
        lines.append("absent from ground truth and prediction (excluded from means): "
                     + ", ".join(result["absent_classes"])
                     + f"; PaddleSeg's mean over all classes (absent = 0): {result['mIoU_all_classes']:.4f}")
    return "\n".join(lines)
