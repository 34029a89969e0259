"""Data loading: collation, the reproducible resumable sampler, the training loader, and the
relay that turns a sample that fails to load into an error in the main process.

Paddle's DataLoader does not propagate an exception raised while loading a sample: with
``num_workers=0`` its prefetch thread dies and the main process waits forever; with workers the
main process only sees "Blocking queue is killed". So no exception is allowed to reach it:
:class:`GuardedSamples` and :func:`guarded_collate` catch it where it happens (in the worker or
the prefetch thread) and hand it on as a small *failure batch*; :class:`CheckedLoader` raises it
in the main process, in every loader configuration and on every rank.
"""
from __future__ import annotations

import traceback
from typing import Any, Callable, Dict, Iterator, List

import numpy as np
import paddle

from ..transforms.rng import seeded_globals
from ..utils.errors import DataError, UserError
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
                images = ", ".join(str(p) for p in out.get("img_path", [])[:4])
                raise DataError(f"cannot batch '{key}' arrays of different shapes {shapes}"
                                + (f" (images {images})" if images else "")
                                + "; use a crop/resize transform or batch_size 1") from e
    return out


def sample_generator(seed: int, global_index: int) -> np.random.Generator:
    """The generator the augmentations of training sample ``global_index`` draw from."""
    return np.random.default_rng([int(seed), int(global_index)])


class SeededSamples(paddle.io.Dataset):
    """Wraps a dataset so sample ``epoch * len + i`` is item ``i`` with its random augmentations
    drawn from :func:`sample_generator` ``(seed, epoch * len + i)``.

    Augmentations then depend only on the seed and the position in the training stream -- not on
    worker processes, how many ranks share the work, or where a run was interrupted and resumed.
    A dataset that draws from nothing else (``uses_global_rng`` False, as
    :class:`paddleseg.datasets.Dataset` with rng-aware transforms) gets the generator through
    ``get_sample(index, rng)``. Any other (a transform without an ``rng`` parameter, a dataset
    with ``__getitem__`` only) is read as ``dataset[index]`` with ``np.random`` and ``random``
    seeded from the generator for this sample and restored afterwards
    (:func:`paddleseg.transforms.rng.seeded_globals`), so old-style code stays reproducible.
    """

    def __init__(self, dataset: paddle.io.Dataset, seed: int) -> None:
        self.dataset, self.seed = dataset, int(seed)
        explicit = getattr(dataset, "uses_global_rng", True) is False
        self.legacy = not (explicit and hasattr(dataset, "get_sample"))

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, global_index: int) -> Dict[str, Any]:
        index = int(global_index) % len(self.dataset)
        rng = sample_generator(self.seed, global_index)
        if not self.legacy:
            return self.dataset.get_sample(index, rng)
        with seeded_globals(rng):
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


# A failure batch is {_FAILURE: the message as UTF-8 bytes in a uint8 array, "user_error": bool}. The
# message travels as an array because Paddle ends iteration on a batch that holds no array at all.
_FAILURE = "__paddleseg_sample_failure__"


class SampleLoadError(RuntimeError):
    """An unexpected exception (a bug, not bad data) while loading a sample in the data loader;
    the message carries the original traceback from the worker."""


class GuardedSamples(paddle.io.Dataset):
    """Wraps a dataset so an exception in ``__getitem__`` becomes a failure record instead of
    reaching Paddle's loader machinery (see the module docstring). Costs one try/except a sample."""

    def __init__(self, dataset: paddle.io.Dataset) -> None:
        self.dataset = dataset

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, index: int) -> Any:
        try:
            return self.dataset[index]
        except Exception as e:   # relayed to the main process and raised there by CheckedLoader
            return _failure(e, f"sample {index}")


def _failure(error: Exception, where: str) -> Dict[str, Any]:
    """A failure record: the message of a user error, the full traceback of anything else."""
    if isinstance(error, UserError):
        message, user_error = str(error), True
    else:
        text = "".join(traceback.format_exception(error)).rstrip()
        message, user_error = f"{where} failed in the data loader:\n{text}", False
    encoded = np.frombuffer(message.encode("utf-8", "backslashreplace"), dtype=np.uint8).copy()
    return {_FAILURE: encoded, "user_error": user_error}


def _is_failure(item: Any) -> bool:
    return isinstance(item, dict) and _FAILURE in item


def guarded_collate(collate_fn: Callable[[List[Any]], Any]) -> Callable[[List[Any]], Any]:
    """``collate_fn`` that passes the first failure record of a batch on as the batch, and turns
    an exception of ``collate_fn`` itself into a failure record too."""
    def collate_or_relay(batch: List[Any]) -> Any:
        for item in batch:
            if _is_failure(item):
                return item
        try:
            return collate_fn(batch)
        except Exception as e:
            return _failure(e, "collating a batch")
    return collate_or_relay


def raise_if_failed(batch: Any) -> None:
    """Raise the relayed error of a failure batch in the main process: a :class:`DataError` (one
    line naming the files) for a user error, else a :class:`SampleLoadError` with the traceback."""
    if not _is_failure(batch):
        return
    encoded = batch[_FAILURE]
    encoded = encoded.numpy() if isinstance(encoded, paddle.Tensor) else np.asarray(encoded)
    message = encoded.astype(np.uint8).tobytes().decode("utf-8", "replace")
    if batch["user_error"]:
        raise DataError(message)
    raise SampleLoadError(message)


class CheckedLoader:
    """Iterates a ``paddle.io.DataLoader`` built on :class:`GuardedSamples` / :func:`guarded_collate`,
    raising relayed failures (after shutting the loader's workers down)."""

    def __init__(self, loader: paddle.io.DataLoader) -> None:
        self.loader = loader

    @property
    def batch_sampler(self) -> Any:
        return self.loader.batch_sampler

    def __len__(self) -> int:
        return len(self.loader)

    def __iter__(self) -> Iterator[Any]:
        batches = iter(self.loader)
        failed = False
        try:
            for batch in batches:
                failed = _is_failure(batch)
                raise_if_failed(batch)
                yield batch
        finally:
            # Stop the loader when iteration ends on a relayed failure (the caller may go on in this
            # process), and its workers whenever it ends (the caller's close(), an interruption):
            # workers left to interpreter exit are terminated by multiprocessing, which a signal
            # handler can delay. (Without workers, a normal end needs nothing: joining the prefetch
            # thread would only cost a second.)
            shutdown = getattr(batches, "_try_shutdown_all", None)   # Paddle's own clean-up
            if shutdown is not None and (failed or self.loader.num_workers > 0):
                shutdown()


def build_train_loader(dataset: paddle.io.Dataset, batch_size: int, seed: int, start_iter: int = 0,
                       rank: int = 0, world_size: int = 1, num_workers: int = 0) -> CheckedLoader:
    """Endless, reproducible training loader starting at iteration ``start_iter``; a sample that
    fails to load raises (a :class:`DataError` naming its files) in the main process."""
    sampler = ResumableBatchSampler(len(dataset), batch_size, seed, start_iter, rank, world_size)
    return CheckedLoader(paddle.io.DataLoader(
        GuardedSamples(SeededSamples(dataset, seed)),
        batch_sampler=sampler,
        num_workers=num_workers,
        collate_fn=guarded_collate(collate),
        return_list=True,
        worker_init_fn=seed_worker if num_workers > 0 else None,
        persistent_workers=num_workers > 0,
    ))
