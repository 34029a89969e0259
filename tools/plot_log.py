"""Draw the loss and mIoU curves of a training run to a PNG (OpenCV only, no matplotlib).

    python tools/plot_log.py output/train_log.jsonl --out output/curves.png

Reads the JSON-lines log the trainer writes (``<save_dir>/train_log.jsonl``): training entries
carry ``loss`` (and per-output ``losses``), evaluation entries ``eval_mIoU``.
"""
from __future__ import annotations

import argparse
import json
import os
from typing import Dict, List, Sequence, Tuple

import cv2
import numpy as np

from paddleseg.utils.cli import HelpFormatter, add_debug_arg, run_cli
from paddleseg.utils.errors import UsageError, UserError

COLOURS = [(31, 119, 180), (255, 127, 14), (44, 160, 44), (214, 39, 40), (148, 103, 189)]  # RGB


def read_log(path: str) -> Dict[str, List[Tuple[int, float]]]:
    """Series name -> [(iter, value)]: 'loss', 'loss_0', 'loss_1', ..., 'mIoU'."""
    if not os.path.isfile(path):
        raise UsageError(f"{path} does not exist (the trainer writes <save_dir>/train_log.jsonl)")
    series: Dict[str, List[Tuple[int, float]]] = {}
    with open(path) as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                entry = json.loads(line)
            except json.JSONDecodeError as e:
                raise UserError(f"{path}:{n}: not a JSON line ({e})") from None
            it = int(entry.get("iter", 0))
            if "loss" in entry:
                series.setdefault("loss", []).append((it, float(entry["loss"])))
                for i, v in enumerate(entry.get("losses", [])):
                    series.setdefault(f"loss_{i}", []).append((it, float(v)))
            if "eval_mIoU" in entry:
                series.setdefault("mIoU", []).append((it, float(entry["eval_mIoU"])))
    if not series:
        raise UserError(f"{path} holds no loss or eval_mIoU entries")
    # Logs written before the trainer trimmed them on resume repeat the resumed iterations: keep
    # the last value logged for each iteration, in iteration order, so curves never run backwards.
    return {name: sorted(dict(points).items()) for name, points in series.items()}


def _panel(title: str, curves: Sequence[Tuple[str, List[Tuple[int, float]]]], size=(640, 360)) -> np.ndarray:
    w, h = size
    left, right, top, bottom = 60, 20, 30, 40
    img = np.full((h, w, 3), 255, np.uint8)
    points = [p for _, pts in curves for p in pts]
    xs, ys = np.array([p[0] for p in points], float), np.array([p[1] for p in points], float)
    x0, x1 = xs.min(), max(xs.max(), xs.min() + 1)
    y0, y1 = ys.min(), ys.max()
    if y1 - y0 < 1e-9:
        y0, y1 = y0 - 0.5, y1 + 0.5
    font = cv2.FONT_HERSHEY_SIMPLEX

    def to_px(x: float, y: float) -> Tuple[int, int]:
        return (int(left + (x - x0) / (x1 - x0) * (w - left - right)),
                int(h - bottom - (y - y0) / (y1 - y0) * (h - top - bottom)))
    cv2.rectangle(img, (left, top), (w - right, h - bottom), (0, 0, 0), 1)
    for frac in (0.0, 0.5, 1.0):
        y = y0 + frac * (y1 - y0)
        cv2.putText(img, f"{y:.3g}", (5, to_px(x0, y)[1] + 4), font, 0.4, (0, 0, 0), 1, cv2.LINE_AA)
        x = x0 + frac * (x1 - x0)
        cv2.putText(img, f"{int(x)}", (to_px(x, y0)[0] - 10, h - bottom + 15), font, 0.4, (0, 0, 0), 1, cv2.LINE_AA)
    cv2.putText(img, title + "  (x: iteration)", (left, 20), font, 0.5, (0, 0, 0), 1, cv2.LINE_AA)
    for k, (name, pts) in enumerate(curves):
        colour = COLOURS[k % len(COLOURS)][::-1]   # OpenCV draws BGR
        poly = np.array([to_px(x, y) for x, y in pts], np.int32)
        cv2.polylines(img, [poly], False, colour, 2, cv2.LINE_AA)
        if len(pts) == 1 or name == "mIoU":
            for p in poly:
                cv2.circle(img, tuple(int(v) for v in p), 3, colour, -1)
        cv2.putText(img, name, (w - right - 90, top + 18 * (k + 1)), font, 0.45, colour, 1, cv2.LINE_AA)
    return img


def plot(series: Dict[str, List[Tuple[int, float]]]) -> np.ndarray:
    """Loss curves on top, mIoU below (when the run evaluated)."""
    losses = [(name, pts) for name, pts in sorted(series.items()) if name.startswith("loss")]
    panels = [_panel("loss", losses)] if losses else []
    if "mIoU" in series:
        panels.append(_panel("val mIoU", [("mIoU", series["mIoU"])]))
    return np.concatenate(panels, axis=0)


def main(argv=None) -> str:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=HelpFormatter)
    p.add_argument("log", help="train_log.jsonl written by train.py")
    p.add_argument("--out", default=None, help="PNG to write (default: curves.png beside the log)")
    add_debug_arg(p)
    args = p.parse_args(argv)
    from paddleseg.utils.fileio import write_image

    out = args.out or os.path.join(os.path.dirname(os.path.abspath(args.log)), "curves.png")
    write_image(out, plot(read_log(args.log)))
    print(f"Wrote {out}")
    return out


if __name__ == "__main__":
    run_cli(main)
