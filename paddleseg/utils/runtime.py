"""Process-wide runtime set-up: device, CPU threads, seeds.

``import paddle`` pins ``OMP_NUM_THREADS=1`` when the variable is unset, so dygraph code uses one
core however many the machine has. We choose the thread count deliberately instead (a CLI flag
with the machine's core count as default) and log it.
"""
from __future__ import annotations

import os
import random
import signal
from typing import Optional

import numpy as np
import paddle

from . import logger
from .cli import exit_cleanly_on_sigterm
from .errors import UsageError
from .quiet import silence_known_noise


def default_num_threads() -> int:
    """Cores this process may use (honours CPU affinity / container limits where visible)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def set_cpu_threads(num_threads: Optional[int] = None) -> int:
    """Set the math-library thread count used by Paddle's CPU kernels; returns the value set."""
    n = int(num_threads) if num_threads else default_num_threads()
    if n < 1:
        raise UsageError(f"--num_threads must be >= 1, got {num_threads}")
    paddle.base.core.set_num_threads(n)
    return n


def set_device(device: str = "auto") -> str:
    """Select ``cpu``/``gpu``/``gpu:N`` (``auto`` = GPU when Paddle was built with CUDA and sees one)."""
    if device == "auto":
        device = "gpu" if paddle.is_compiled_with_cuda() and paddle.device.cuda.device_count() > 0 else "cpu"
    if device.startswith("gpu") and not paddle.is_compiled_with_cuda():
        raise UsageError(
            f"--device {device} was requested but this PaddlePaddle build has no CUDA support; "
            "install paddlepaddle-gpu (see README) or use --device cpu")
    paddle.set_device(device)
    return device


def set_seed(seed: Optional[int]) -> None:
    """Seed Paddle (weight initialisation, dropout), NumPy and Python's ``random`` once, for the
    code that draws from them (a user's model, say). Training augmentations do not: they draw from
    per-sample generators (:mod:`paddleseg.transforms.rng`)."""
    if seed is None:
        return
    paddle.seed(seed)
    np.random.seed(seed)
    random.seed(seed)


def seed_worker(worker_id: int) -> None:
    """DataLoader ``worker_init_fn``: distinct, reproducible global streams per worker, for code
    that draws from them outside a sample (samples get their own generators)."""
    info = paddle.io.get_worker_info()
    base = info.seed if info is not None else 0
    # A scheduler signals the whole process group: the worker just ends (the trainer, in the main
    # process, decides what to do), without the handler inherited from the main process.
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    np.random.seed((base + worker_id) % (2**32))
    random.seed(base + worker_id)
    try:
        import cv2
        cv2.setNumThreads(0)  # workers already run in parallel; OpenCV's own pool only oversubscribes
    except ImportError:
        pass


def setup_runtime(device: str = "auto", num_threads: Optional[int] = None, seed: Optional[int] = None) -> str:
    """Apply device, thread and seed settings and log them once; SIGTERM then ends the script with
    one line and exit status 143 (see :func:`paddleseg.utils.cli.exit_cleanly_on_sigterm`); Paddle's
    known-harmless warnings are filtered (:mod:`paddleseg.utils.quiet`)."""
    exit_cleanly_on_sigterm()
    silence_known_noise()
    device = set_device(device)
    threads = set_cpu_threads(num_threads)
    set_seed(seed)
    logger.info(f"Runtime: device={device}, cpu_threads={threads}, seed={seed}, paddle={paddle.__version__}")
    return device
