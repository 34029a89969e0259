"""A finished evaluation's confusion matrix as a CSV table and a PNG heat map (OpenCV only)."""
from __future__ import annotations

import csv
import os
from typing import Dict, Sequence

import numpy as np

from .figure import Axis, HeatmapFigure, value_axis
from .figure_render import render
from .fileio import atomic_output, write_image


def write_confusion_csv(cm: np.ndarray, names: Sequence[str], path: str) -> str:
    """Rows: ground truth, columns: prediction, pixel counts; first row/column hold class names.
    Written atomically; a failed write is a UserError naming the path and the free space."""
    cm = np.asarray(cm)
    with atomic_output(path, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["gt \\ pred"] + list(names))
        for name, row in zip(names, cm):
            writer.writerow([name] + [int(v) for v in row])
    return path


def confusion_figure(cm: np.ndarray, names: Sequence[str], cell: int = 28) -> HeatmapFigure:
    """The row-normalised heat map as a figure: each ground-truth row sums to 1 (what that class was
    predicted as); ground truth down the left, prediction across, the diagonal's percentage in its
    cells, and a colour bar from 0 to 1."""
    cm = np.asarray(cm, dtype=np.float64)
    rows = cm.sum(axis=1, keepdims=True)
    norm = np.divide(cm, rows, out=np.zeros_like(cm), where=rows > 0)
    ticks = [(float(i), str(name)) for i, name in enumerate(names)]
    n = len(names)
    cell = max(cell, -(-200 // max(n, 1)))   # a few classes still leave room for the axis titles
    return HeatmapFigure(
        title="Confusion matrix (each row: where that class's pixels went)",
        x=Axis("Predicted class", (0, n), ticks), y=Axis("Ground truth class", (0, n), ticks),
        values=norm, cell=cell,
        colorbar=value_axis("Share of the row's pixels", [], max_ticks=6, limits=(0.0, 1.0)),
        annotations={(i, i): f"{100 * norm[i, i]:.0f}" for i in range(n) if rows[i, 0] > 0})


def render_confusion_png(cm: np.ndarray, names: Sequence[str], path: str, cell: int = 28) -> str:
    """Draws :func:`confusion_figure` to ``path`` (atomically)."""
    return write_image(path, render(confusion_figure(cm, names, cell)))


def save_confusion_report(result: Dict, out_dir: str, prefix: str = "confusion_matrix") -> Dict[str, str]:
    """Writes ``<prefix>.csv`` and ``<prefix>.png`` for an ``evaluate`` result; returns their paths."""
    cm, names = np.asarray(result["confusion_matrix"]), result["class_names"]
    return {"csv": write_confusion_csv(cm, names, os.path.join(out_dir, prefix + ".csv")),
            "png": render_confusion_png(cm, names, os.path.join(out_dir, prefix + ".png"))}
