"""Training data: collation, the reproducible resumable sampler and its loader."""
from __future__ import annotations

import random
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


class SeededSamples(paddle.io.Dataset):
    """Wraps a dataset so sample ``epoch * len + i`` is item ``i`` with its random augmentations
    drawn from a generator seeded by (seed, epoch, i).

    Augmentations then depend only on the seed and the position in the training stream -- not on
    worker processes, how many ranks share the work, or where a run was interrupted and resumed.
    """

    def __init__(self, dataset: paddle.io.Dataset, seed: int) -> None:
        self.dataset, self.seed = dataset, int(seed)

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, global_index: int) -> Dict[str, Any]:
        index = int(global_index) % len(self.dataset)
        state = np.random.SeedSequence([self.seed, int(global_index)]).generate_state(2)
        np.random.seed(int(state[0]))
        random.seed(int(state[1]))
        return self.dataset[index]


class ResumableBatchSampler(paddle.io.Sampler):
    """Endless training batches, reproducible and resumable at any iteration, split across ranks.

    Epoch ``e`` visits the dataset in the permutation drawn from (seed, e); iteration ``t`` takes
    the ``t``-th global batch of ``batch_size * world_size`` samples (incomplete tails dropped) and
    this rank keeps its contiguous ``batch_size`` share. Indices are global (``epoch * len + i``)
    for :class:`SeededSamples`. One process with batch ``b * world_size`` sees exactly the union
    of what ``world_size`` ranks with batch ``b`` see, in rank order.
    """

    def __init__(self, num_samples: int, batch_size: int, seed: int, start_iter: int = 0,
                 rank: int = 0, world_size: int = 1) -> None:
        global_batch = batch_size * world_size
        if num_samples < global_batch:
            raise ValueError(f"the training set has {num_samples} samples, fewer than one global batch "
                             f"({batch_size} per rank x {world_size} ranks)")
        self.num_samples, self.batch_size, self.seed = num_samples, batch_size, int(seed)
        self.start_iter, self.rank, self.world_size = start_iter, rank, world_size
        self.steps_per_epoch = num_samples // global_batch

    def epoch_of(self, iteration: int) -> int:
        """1-based epoch of the 0-based ``iteration``."""
        return iteration // self.steps_per_epoch + 1

    def _permutation(self, epoch: int) -> np.ndarray:
        return np.random.default_rng([self.seed, epoch]).permutation(self.num_samples)

    def __iter__(self):
        iteration, perm, perm_epoch = self.start_iter, None, -1
        while True:
            epoch, step = divmod(iteration, self.steps_per_epoch)
            if epoch != perm_epoch:
                perm, perm_epoch = self._permutation(epoch), epoch
            start = (step * self.world_size + self.rank) * self.batch_size
            yield [int(epoch * self.num_samples + i) for i in perm[start:start + self.batch_size]]
            iteration += 1


def build_train_loader(dataset: paddle.io.Dataset, batch_size: int, seed: int, start_iter: int = 0,
                       rank: int = 0, world_size: int = 1, num_workers: int = 0) -> paddle.io.DataLoader:
    """Endless, reproducible training loader starting at iteration ``start_iter``."""
    sampler = ResumableBatchSampler(len(dataset), batch_size, seed, start_iter, rank, world_size)
    return paddle.io.DataLoader(
        SeededSamples(dataset, seed),
        batch_sampler=sampler,
        num_workers=num_workers,
        collate_fn=collate,
        return_list=True,
        worker_init_fn=seed_worker if num_workers > 0 else None,
        persistent_workers=num_workers > 0,
    )
