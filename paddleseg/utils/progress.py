"""Progress over a known number of items: a tqdm bar on a terminal, plain log lines otherwise.

A bar redrawn with carriage returns is unreadable in a file (a log, TIPC's results, CI) and shares
its last line with whatever is printed next. When stderr is not a terminal, :func:`progress`
therefore logs one line every ~10% of the items instead (count, rate, ETA), through
:mod:`paddleseg.utils.logger` like every other line.
"""
from __future__ import annotations

import math
import sys
import time
from typing import Iterable, Iterator, Optional, TextIO, TypeVar

from . import logger

T = TypeVar("T")
LINES = 10  # plain lines per run when stderr is not a terminal (one every 10%)


def is_terminal(stream: Optional[TextIO] = None) -> bool:
    """True when ``stream`` (default: stderr, where bars go) is an interactive terminal."""
    stream = sys.stderr if stream is None else stream
    isatty = getattr(stream, "isatty", None)
    try:
        return bool(isatty and isatty())
    except ValueError:  # a closed stream
        return False


def _clock(seconds: float) -> str:
    seconds = int(round(seconds))
    return f"{seconds // 3600:02d}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"


class PlainProgress:
    """tqdm's ``update``/``close`` interface, reporting with one log line every ``every`` items."""

    def __init__(self, total: int, desc: str, unit: str = "img",
                 every: Optional[int] = None) -> None:
        self.total, self.desc, self.unit = int(total), desc, unit
        self.every = max(1, every or math.ceil(self.total / LINES))
        self.n = 0
        self._next = self.every
        self._start = time.perf_counter()

    def update(self, n: int = 1) -> None:
        self.n += n
        if self.n >= self._next or self.n == self.total:
            self._next = (self.n // self.every + 1) * self.every
            logger.info(self.line())

    def line(self) -> str:
        """``eval: 30/300 img (10%), 2.50 img/s, ETA 00:01:48``."""
        elapsed = max(time.perf_counter() - self._start, 1e-9)
        rate = self.n / elapsed
        text = f"{self.desc}: {self.n}/{self.total} {self.unit}"
        if self.total:
            text += f" ({100 * self.n // self.total}%)"
        text += f", {rate:.2f} {self.unit}/s"
        if self.n < self.total and rate > 0:
            text += f", ETA {_clock((self.total - self.n) / rate)}"
        elif self.n >= self.total:
            text += f", done in {_clock(elapsed)}"
        return text

    def close(self) -> None:
        """Nothing to clear: every line already ended with a newline."""

    def __enter__(self) -> "PlainProgress":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class _Silent(PlainProgress):
    def update(self, n: int = 1) -> None:
        self.n += n


def progress(total: int, desc: str, unit: str = "img", enabled: bool = True):
    """A progress reporter with ``update(n)`` and ``close()``: a tqdm bar when stderr is a
    terminal (cleared when closed, so the next log line starts clean), plain log lines when it is
    not, nothing when ``enabled`` is false."""
    if not enabled:
        return _Silent(total, desc, unit)
    if is_terminal():
        from tqdm import tqdm
        return tqdm(total=total, desc=desc, unit=unit, dynamic_ncols=True, leave=False)
    return PlainProgress(total, desc, unit)


def track(items: Iterable[T], desc: str, unit: str = "img", total: Optional[int] = None,
          enabled: bool = True) -> Iterator[T]:
    """Iterate over ``items`` reporting progress as :func:`progress` does (``total`` defaults to
    ``len(items)``); the reporter is closed when the loop ends or is left early."""
    count = len(items) if total is None else total  # type: ignore[arg-type]
    bar = progress(count, desc, unit, enabled)
    try:
        for item in items:
            yield item
            bar.update(1)
    finally:
        bar.close()
