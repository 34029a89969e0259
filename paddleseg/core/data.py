"""DataLoader construction shared by training and evaluation."""
from __future__ import annotations

from typing import Any, Dict, List

import numpy as np
import paddle

from ..utils.runtime import seed_worker

_STACKED = ("img", "label")


def collate(batch: List[Dict[str, Any]]) -> Dict[str, Any]:
    """Stack images and labels; keep paths and transform records as per-sample lists."""
    out = {key: [sample[key] for sample in batch] for key in batch[0]}
    for key in _STACKED:
        if key in out:
            try:
                out[key] = np.stack(out[key])
            except ValueError as e:
                shapes = sorted({tuple(np.shape(v)) for v in out[key]})
                raise ValueError(f"cannot batch '{key}' arrays of different shapes {shapes}; use a crop/resize "
                                 "transform or batch_size 1") from e
    return out


def build_loader(dataset: paddle.io.Dataset, batch_size: int, shuffle: bool, drop_last: bool,
                 num_workers: int = 0) -> paddle.io.DataLoader:
    """A DataLoader with our collate function and seeded workers."""
    sampler = paddle.io.BatchSampler(dataset, batch_size=batch_size, shuffle=shuffle, drop_last=drop_last)
    return paddle.io.DataLoader(
        dataset,
        batch_sampler=sampler,
        num_workers=num_workers,
        collate_fn=collate,
        return_list=True,
        worker_init_fn=seed_worker if num_workers > 0 else None,
        persistent_workers=num_workers > 0,
    )
