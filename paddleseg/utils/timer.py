"""Running averages of timings and ETA formatting for progress logs."""
from __future__ import annotations

import time
from typing import Iterator, List, TypeVar

T = TypeVar("T")


class TimeAverager:
    """Accumulates durations (and sample counts) between resets."""

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self._total = 0.0
        self._count = 0
        self._samples = 0

    def record(self, seconds: float, num_samples: int = 0) -> None:
        self._total += seconds
        self._count += 1
        self._samples += num_samples

    def average(self) -> float:
        return self._total / self._count if self._count else 0.0

    def ips(self) -> float:
        """Samples per second over the recorded durations."""
        return self._samples / self._total if self._total > 0 else 0.0


class Stopwatch:
    """``lap()`` returns seconds since the previous lap (or since construction)."""

    def __init__(self) -> None:
        self._last = time.perf_counter()

    def lap(self) -> float:
        now = time.perf_counter()
        elapsed, self._last = now - self._last, now
        return elapsed


def timed(items: Iterator[T], costs: List[float]) -> Iterator[T]:
    """Yields from ``items`` while appending the seconds spent waiting for each to ``costs``."""
    while True:
        start = time.perf_counter()
        item = next(items)
        costs.append(time.perf_counter() - start)
        yield item


def format_eta(seconds: float) -> str:
    """``HH:MM:SS`` (days folded into hours)."""
    seconds = max(0, int(round(seconds)))
    h, rem = divmod(seconds, 3600)
    m, s = divmod(rem, 60)
    return f"{h:02d}:{m:02d}:{s:02d}"
