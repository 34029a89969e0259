"""PaddleSeg-style console logger: ``2026-01-01 12:00:00 [INFO]\tmessage``.

Only rank 0 prints (other ranks would repeat every line under ``paddle.distributed.launch``).
"""
from __future__ import annotations

import os
import sys
import time

LEVELS = {0: "DEBUG", 1: "INFO", 2: "WARNING", 3: "ERROR"}
log_level = int(os.environ.get("PADDLESEG_LOG_LEVEL", 1))


def _rank() -> int:
    return int(os.environ.get("PADDLE_TRAINER_ID", os.environ.get("PADDLE_RANK_IN_NODE", 0)))


def log(level: int = 1, message: str = "") -> None:
    if level < log_level or _rank() != 0:
        return
    stamp = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime())
    stream = sys.stderr if level >= 2 else sys.stdout
    print(f"{stamp} [{LEVELS[level]}]\t{message}", file=stream, flush=True)


def debug(message: str = "") -> None:
    log(0, message)


def info(message: str = "") -> None:
    log(1, message)


def warning(message: str = "") -> None:
    log(2, message)


def error(message: str = "") -> None:
    log(3, message)
