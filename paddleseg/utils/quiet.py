"""Known-harmless output of PaddlePaddle, silenced by the entry points, and only that.

A newcomer reads a warning above every run as "something is broken". This module is the one place
that lists what Paddle prints although nothing is wrong, each entry with the reason it is harmless:

* :data:`HARMLESS_WARNINGS`: Python warnings (category, start of the message, why).
* :data:`HARMLESS_NATIVE`: lines Paddle's C++ side (glog) writes to stderr (pattern, why).
* :data:`HARMLESS_WHILE_TRACING`: Python warnings Paddle raises only while it traces a model to a
  static graph, dropped only around that trace (:func:`quiet_tracing`: ``to_static_training``'s
  first step), so a later real warning of the same code path still shows.

Any other warning, ours or Paddle's, still shows. The scripts get this through
:func:`paddleseg.utils.cli.run_cli` (before Paddle is imported) and
:func:`paddleseg.utils.runtime.setup_runtime`; glog INFO lines are off through
``GLOG_minloglevel=1`` and the WARNING line of a static-graph trace is dropped around the export
(:func:`filter_native_stderr`), and around the first step of ``to_static_training``
(:func:`quiet_tracing`). tests/conftest.py turns the same Python lists into pytest filters.
Set ``PADDLESEG_SHOW_ALL_WARNINGS=1`` to see everything.
"""
from __future__ import annotations

import contextlib
import os
import re
import sys
import threading
import warnings
from typing import Iterator, Tuple, Type

# (category, regex matched at the start of the message, why it is harmless)
HARMLESS_WARNINGS: Tuple[Tuple[Type[Warning], str, str], ...] = (
    (UserWarning, r"When training, we now always track global mean and variance",
     "paddle.nn.BatchNorm* in train mode announces that running statistics are updated, which is "
     "what training wants (PaddleSeg's models rely on it); printed at every training run"),
    (UserWarning, r"No ccache found",
     "printed by `import paddle`; ccache only matters when compiling custom C++ operators"),
)

# (regex searched in one stderr line, why it is harmless); glog's format is
# "<L><mmdd hh:mm:ss.us> <thread> <file>:<line>] <message>"
HARMLESS_NATIVE: Tuple[Tuple[str, str], ...] = (
    (r"eager_utils\.cc:\d+\] Paddle static graph\(PIR\) not support input out tensor for now",
     "WARNING printed once per process the first time `paddle.add` is traced to a static graph "
     "(Paddle passes out=None itself); every export and --engine inference run hits it"),
    (r"pir_interpreter\.cc:\d+\] New Executor is Running",
     "INFO: Paddle's static-graph executor starts (first run of an exported model)"),
    (r"pir_interpreter\.cc:\d+\] pir interpreter is running by multi-thread mode",
     "INFO: the same executor announcing its thread mode"),
)

# Python warnings Paddle raises while it traces a model to a static graph (the first step of
# ``to_static_training``), silenced only around that trace (:func:`quiet_tracing`).
HARMLESS_WHILE_TRACING: Tuple[Tuple[Type[Warning], str, str], ...] = (
    (UserWarning, r"Tensor do not have 'place' interface for pir graph mode",
     "Paddle's own layers ask a traced tensor for its device while the graph is built; the "
     "answer is not needed to compile it and the compiled model runs on the chosen device"),
)

SHOW_ALL_ENV = "PADDLESEG_SHOW_ALL_WARNINGS"
# glog's own switches: a user who set either wants Paddle's native log as configured.
_GLOG_ENV = ("GLOG_minloglevel", "GLOG_v")
_NATIVE = [re.compile(pattern) for pattern, _ in HARMLESS_NATIVE]


def show_all() -> bool:
    """True when the user asked for every warning and log line (``PADDLESEG_SHOW_ALL_WARNINGS``)."""
    return os.environ.get(SHOW_ALL_ENV, "").lower() not in ("", "0", "false", "no")


def ignore_harmless_warnings() -> None:
    """Install a precise ``ignore`` filter for each of :data:`HARMLESS_WARNINGS` (idempotent)."""
    if show_all():
        return
    for category, message, _ in HARMLESS_WARNINGS:
        warnings.filterwarnings("ignore", message=message, category=category)


def quiet_native_info() -> None:
    """Hide glog INFO lines (:data:`HARMLESS_NATIVE`'s executor notices) for Paddle imported after
    this call: ``GLOG_minloglevel=1`` keeps glog's WARNING, ERROR and FATAL lines. glog reads the
    variable once, when Paddle's library loads, so this must run before ``import paddle``; a value
    the user set (or ``GLOG_v``) is left alone."""
    if show_all() or any(name in os.environ for name in _GLOG_ENV):
        return
    os.environ["GLOG_minloglevel"] = "1"


def silence_known_noise() -> None:
    """What an entry point calls: the Python warning filters and, if Paddle is not imported yet,
    glog's INFO level."""
    ignore_harmless_warnings()
    if "paddle" not in sys.modules:
        quiet_native_info()


def is_harmless_native(line: str) -> bool:
    """True for a stderr line that is one of :data:`HARMLESS_NATIVE`."""
    return any(p.search(line) for p in _NATIVE)


def _pump(source: int, target: int) -> None:
    """Copy lines from the pipe ``source`` to ``target`` as they come, dropping the harmless ones.

    It reads to the end whatever happens: a writer must never block on a full pipe."""
    with os.fdopen(source, "rb") as lines:
        for line in lines:
            if is_harmless_native(line.decode("utf-8", "replace")):
                continue
            try:
                os.write(target, line)
            except OSError:     # stderr itself is gone: keep draining
                pass


@contextlib.contextmanager
def filter_native_stderr() -> Iterator[None]:
    """Drop :data:`HARMLESS_NATIVE` lines that C++ code writes to file descriptor 2 in the block.

    glog cannot filter by message and its WARNING level cannot change once Paddle is loaded, so in
    the block fd 2 is a pipe whose lines a thread copies to the real stderr as they arrive, minus
    the harmless ones: other output (a C++ error before a crash included) still shows at once.
    """
    if show_all():
        yield
        return
    sys.stderr.flush()
    saved = os.dup(2)
    source, sink = os.pipe()
    os.dup2(sink, 2)
    os.close(sink)
    pump = threading.Thread(target=_pump, args=(source, saved), name="stderr-filter", daemon=True)
    pump.start()
    try:
        yield
    finally:
        sys.stderr.flush()
        os.dup2(saved, 2)       # closes the pipe's last write end (unless a child process holds it)
        pump.join(timeout=5)
        if not pump.is_alive():     # else a child still writes through it: leave its target open
            os.close(saved)


@contextlib.contextmanager
def quiet_tracing(active: bool = True) -> Iterator[None]:
    """Around a call that traces a model to a static graph (``paddle.jit.to_static``'s first call):
    drop :data:`HARMLESS_WHILE_TRACING` warnings and :data:`HARMLESS_NATIVE` stderr lines; any
    other warning, e.g. one a user's ``forward`` raises while it is traced, still shows, as it
    happens. ``active=False``: a no-op, for the calls that run the compiled graph."""
    if not active or show_all():
        yield
        return
    with warnings.catch_warnings(), filter_native_stderr():
        for category, message, _ in HARMLESS_WHILE_TRACING:
            warnings.filterwarnings("ignore", message=message, category=category)
        yield
