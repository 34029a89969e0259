"""Command-line pieces shared by train.py, val.py and the tools."""
from __future__ import annotations

import argparse


def add_common_args(parser: argparse.ArgumentParser) -> None:
    """``--config``, ``--opts``, ``--device``, ``--num_threads``, ``--num_workers``."""
    parser.add_argument("--config", required=True, help="YAML config file (PaddleSeg 2.8 format)")
    parser.add_argument("--opts", nargs="+", default=None, metavar="KEY=VALUE",
                        help="override config keys, e.g. --opts train_dataset.dataset_root=data/x model.num_codes=16")
    parser.add_argument("--device", default="auto", help="cpu, gpu or gpu:N (default: gpu when available)")
    parser.add_argument("--num_threads", type=int, default=None,
                        help="CPU math threads (default: all cores this process may use; Paddle alone would use 1)")
    parser.add_argument("--num_workers", type=int, default=0,
                        help="data-loading worker processes (0 = load in the main process)")
