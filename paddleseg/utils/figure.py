"""What a chart shows, apart from how it is drawn: title, axes (label, limits, ticks), series and
legend entries. The project's pictures (training curves, confusion matrix) are built as these
objects and drawn by :mod:`paddleseg.utils.figure_render` (OpenCV, no matplotlib), so tests read
the labels back from the object."""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

Tick = Tuple[float, str]


@dataclass
class Axis:
    """An axis: its title, the value range it spans and the labelled tick positions."""

    label: str
    limits: Tuple[float, float]
    ticks: List[Tick] = field(default_factory=list)

    @property
    def tick_labels(self) -> List[str]:
        return [text for _, text in self.ticks]


@dataclass
class Series:
    """One legend entry: ``(x, y)`` points drawn as a line, markers or both."""

    name: str
    points: List[Tuple[float, float]]
    line: bool = True
    markers: bool = False


@dataclass
class LineFigure:
    """A line chart of ``size`` (width, height) pixels."""

    title: str
    x: Axis
    y: Axis
    series: List[Series]
    size: Tuple[int, int] = (640, 360)

    @property
    def legend(self) -> List[str]:
        return [s.name for s in self.series]


@dataclass
class HeatmapFigure:
    """A matrix of values in ``colorbar.limits`` drawn as coloured cells; ``x`` / ``y`` ticks sit at
    column / row indices; ``annotations`` maps (row, column) to text written in that cell."""

    title: str
    x: Axis
    y: Axis
    values: np.ndarray
    colorbar: Axis
    annotations: Dict[Tuple[int, int], str] = field(default_factory=dict)
    cell: int = 28

    @property
    def legend(self) -> List[str]:
        return [self.colorbar.label]


def nice_step(span: float, max_ticks: int) -> float:
    """The smallest 1, 2 or 5 x 10^k step cutting ``span`` into at most ``max_ticks - 1`` parts."""
    raw = span / max(max_ticks - 1, 1)
    power = 10.0 ** math.floor(math.log10(raw))
    for mult in (1.0, 2.0, 5.0, 10.0):
        if mult * power >= raw * (1 - 1e-9):
            return mult * power
    return 10.0 * power


def _decimals(step: float) -> int:
    return max(0, -int(math.floor(math.log10(step) + 1e-9)))


def value_axis(label: str, values: Sequence[float], max_ticks: int = 6,
               limits: Optional[Tuple[float, float]] = None) -> Axis:
    """A real-valued axis: the given ``limits`` or the finite data's range widened to whole steps
    (0 to 1 when there is no finite value)."""
    finite = [float(v) for v in values if math.isfinite(v)]
    if limits is None and not finite:
        limits = (0.0, 1.0)
    if limits is None:
        lo, hi = min(finite), max(finite)
        if hi - lo < 1e-12:
            pad = max(abs(lo) * 0.1, 0.5)
            lo, hi = lo - pad, hi + pad
        step = nice_step(hi - lo, max_ticks)
        lo, hi = math.floor(lo / step + 1e-9) * step, math.ceil(hi / step - 1e-9) * step
    else:
        lo, hi = limits
        step = nice_step(hi - lo, max_ticks)
    digits = _decimals(step)
    count = int(round((hi - lo) / step))
    ticks = [(lo + i * step, f"{lo + i * step:.{digits}f}") for i in range(count + 1)]
    return Axis(label, (lo, hi), ticks)


def integer_axis(label: str, values: Sequence[float], max_ticks: int = 7) -> Axis:
    """An axis of whole numbers (iterations): ticks at distinct integers, never repeated; one
    value or a few sit inside the frame, not on its edge."""
    lo, hi = int(math.floor(min(values))), int(math.ceil(max(values)))
    if hi - lo < 2:
        lo, hi = lo - 1, hi + 1
    step = max(1, int(nice_step(hi - lo, max_ticks)))
    first = -(-lo // step) * step
    ticks = [(float(v), str(v)) for v in range(first, hi + 1, step)]
    pad = 0.03 * (hi - lo)
    return Axis(label, (lo - pad, hi + pad), ticks)
