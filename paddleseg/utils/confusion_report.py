"""A finished evaluation's confusion matrix as a CSV table and a PNG heat map (OpenCV only)."""
from __future__ import annotations

import csv
import os
from typing import Dict, Sequence

import cv2
import numpy as np

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


def render_confusion_png(cm: np.ndarray, names: Sequence[str], path: str, cell: int = 28) -> str:
    """Row-normalised heat map (each ground-truth row sums to 1: what that class was predicted as),
    with class names on both axes and the diagonal percentage in each diagonal cell."""
    cm = np.asarray(cm, dtype=np.float64)
    rows = cm.sum(axis=1, keepdims=True)
    norm = np.divide(cm, rows, out=np.zeros_like(cm), where=rows > 0)
    n = len(names)
    font, scale = cv2.FONT_HERSHEY_SIMPLEX, 0.4
    margin = 10 + max(cv2.getTextSize(str(name), font, scale, 1)[0][0] for name in names)
    size = margin + n * cell + 10
    canvas = np.full((size, size, 3), 255, dtype=np.uint8)
    heat = cv2.applyColorMap((255 * (1.0 - norm)).astype(np.uint8), cv2.COLORMAP_BONE)
    canvas[margin:margin + n * cell, margin:margin + n * cell] = cv2.resize(
        heat, (n * cell, n * cell), interpolation=cv2.INTER_NEAREST)
    for i, name in enumerate(names):
        y = margin + i * cell + cell // 2 + 4
        cv2.putText(canvas, str(name), (5, y), font, scale, (0, 0, 0), 1, cv2.LINE_AA)
        # column labels written vertically: draw on a strip, rotate it into place
        (tw, th), _ = cv2.getTextSize(str(name), font, scale, 1)
        strip = np.full((th + 6, margin - 5, 3), 255, dtype=np.uint8)
        cv2.putText(strip, str(name), (margin - 10 - tw, th + 2), font, scale, (0, 0, 0), 1, cv2.LINE_AA)
        strip = cv2.rotate(strip, cv2.ROTATE_90_COUNTERCLOCKWISE)
        x0 = margin + i * cell + (cell - strip.shape[1]) // 2
        canvas[0:strip.shape[0], max(x0, 0):max(x0, 0) + strip.shape[1]] = strip[:, :min(strip.shape[1], size - max(x0, 0))]
        if rows[i, 0] > 0:
            text = f"{100 * norm[i, i]:.0f}"
            colour = (255, 255, 255) if norm[i, i] > 0.5 else (0, 0, 0)
            cv2.putText(canvas, text, (margin + i * cell + 3, margin + i * cell + cell // 2 + 4), font, 0.35,
                        colour, 1, cv2.LINE_AA)
    return write_image(path, canvas)


def save_confusion_report(result: Dict, out_dir: str, prefix: str = "confusion_matrix") -> Dict[str, str]:
    """Writes ``<prefix>.csv`` and ``<prefix>.png`` for an ``evaluate`` result; returns their paths."""
    cm, names = np.asarray(result["confusion_matrix"]), result["class_names"]
    return {"csv": write_confusion_csv(cm, names, os.path.join(out_dir, prefix + ".csv")),
            "png": render_confusion_png(cm, names, os.path.join(out_dir, prefix + ".png"))}
