"""Draw the loss and mIoU curves of a training run to a PNG (OpenCV only, no matplotlib).

    python tools/plot_log.py output/train_log.jsonl --out output/curves.png

Reads the JSON-lines log the trainer writes (``<save_dir>/train_log.jsonl``): training entries
carry ``loss`` (and per-output ``losses``), evaluation entries ``eval_mIoU``. The per-output losses
are named by type and coefficient (``CrossEntropyLoss x1.0``) from the run's config: ``--config`` or
the ``config.yml`` train.py saves beside the log.
"""
from __future__ import annotations

import argparse
import json
import os
from typing import Dict, List, Optional, Tuple

import numpy as np

from paddleseg.utils.cli import HelpFormatter, add_debug_arg, run_cli
from paddleseg.utils.errors import UsageError, UserError
from paddleseg.utils.figure import LineFigure, Series, integer_axis, value_axis
from paddleseg.utils.figure_render import render_stack

SAVED_CONFIG = "config.yml"   # what train.py saves in save_dir


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


def loss_names(config_path: str, count: int) -> List[str]:
    """Legend names of the per-output losses, ``<type> x<coef>`` from the config's ``loss`` section
    (``CrossEntropyLoss x1.0``); a repeated name gets ``(output i)``."""
    from paddleseg.cvlibs import Config
    from paddleseg.cvlibs.validate import check_loss_section
    # the builder's reading of the section (one type for several coefs is PaddleSeg's shorthand)
    types, coefs, _ = check_loss_section(Config(config_path).loss_cfg, "loss", config_path)
    if len(types) != count:
        raise UsageError(f"{config_path} defines {len(types)} losses with {len(coefs)} "
                         f"coefficients, but the log has {count} per-output losses: pass the "
                         "config this run was trained with")
    names = [f"{t.get('type', '?') if isinstance(t, dict) else t} x{float(c)}"
             for t, c in zip(types, coefs)]
    return [f"{n} (output {i})" if names.count(n) > 1 else n for i, n in enumerate(names)]


def find_config(log_path: str, config: Optional[str]) -> Optional[str]:
    """``--config`` when given, else the config saved with the run (config.yml beside the log)."""
    if config is not None:
        if not os.path.isfile(config):
            raise UsageError(f"--config {config} does not exist")
        return config
    saved = os.path.join(os.path.dirname(os.path.abspath(log_path)), SAVED_CONFIG)
    return saved if os.path.isfile(saved) else None


def figures(series: Dict[str, List[Tuple[int, float]]], config: Optional[str] = None,
            size: Tuple[int, int] = (640, 360)) -> List[LineFigure]:
    """The loss chart (total and per-output losses, named from ``config`` when given, else
    ``loss_0``...) and, when the run evaluated, the mIoU chart on the same iteration axis."""
    parts = sorted((k for k in series if k.startswith("loss_")), key=lambda k: int(k[5:]))
    names = loss_names(config, len(parts)) if config and parts else parts
    curves = ([Series("total loss", series["loss"])] if "loss" in series else []) + [
        Series(name, series[key]) for name, key in zip(names, parts)]
    iters = [x for pts in series.values() for x, _ in pts]
    figs = []
    if curves:
        values = [y for c in curves for _, y in c.points]
        figs.append(LineFigure("Training loss", integer_axis("iteration", iters),
                               value_axis("loss", values), curves, size))
    if "mIoU" in series:
        figs.append(LineFigure("Evaluation mIoU", integer_axis("iteration", iters),
                               value_axis("mIoU", [], limits=(0.0, 1.0)),
                               [Series("val mIoU", series["mIoU"], markers=True)], size))
    return figs


def plot(series: Dict[str, List[Tuple[int, float]]], config: Optional[str] = None) -> np.ndarray:
    """Loss chart on top, mIoU below (when the run evaluated), as one BGR image."""
    return render_stack(figures(series, config))


def main(argv=None) -> str:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=HelpFormatter)
    p.add_argument("log", help="train_log.jsonl written by train.py")
    p.add_argument("--out", default=None, help="PNG to write (default: curves.png beside the log)")
    p.add_argument("--config", default=None,
                   help="the run's config, to name the losses (default: config.yml beside the log, "
                        "which train.py saves; without either: loss_0, loss_1, ...)")
    add_debug_arg(p)
    args = p.parse_args(argv)
    from paddleseg.utils.fileio import write_image

    out = args.out or os.path.join(os.path.dirname(os.path.abspath(args.log)), "curves.png")
    series = read_log(args.log)
    write_image(out, plot(series, find_config(args.log, args.config)))
    print(f"Wrote {out}")
    return out


if __name__ == "__main__":
    run_cli(main)
