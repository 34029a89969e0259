"""Stopping a run on SIGTERM / SIGINT: the trainer finishes the current step, checkpoints it and
raises :class:`TrainingInterrupted` (exit status 128 + signal); a second signal exits at once."""
from __future__ import annotations

import ctypes
import os
import signal
import threading
from typing import Any, Callable, Dict, Optional

from ..utils.errors import UserError


class TrainingInterrupted(UserError):
    """SIGTERM / SIGINT stopped the run after a checkpoint of the current iteration; exit 128 + signal."""

    def __init__(self, message: str, signum: int) -> None:
        super().__init__(message)
        self.signum = signum
        self.exit_code = 128 + signum


try:
    _LIBC = ctypes.CDLL(None, use_errno=True)
    _LIBC.sigaction          # noqa: B018 (probe: not every libc exposes it)
except (OSError, AttributeError):
    _LIBC = None
_SIGACTION_SIZE = 1024      # larger than any platform's struct sigaction: saved and restored opaquely


def _ignore_child_exit(signum: int, frame: Any) -> None:
    """SIGCHLD while stopping: the loader's workers ended with the rest of the process group."""


class StopOnSignal:
    """While active, SIGTERM and SIGINT ask the trainer to stop after the current step (``signum``
    becomes non-zero); a second signal exits at once with 128 + signal.

    Handlers are installed from the main thread only, and the previous ones are restored on exit,
    including handlers installed from C (``import paddle`` installs some that Python's
    ``signal.getsignal`` cannot see): their raw ``sigaction`` is saved and put back.
    """

    SIGNALS = (signal.SIGTERM, signal.SIGINT)

    def __init__(self, on_exit_now: Optional[Callable[[], None]] = None) -> None:
        self.signum = 0
        self._on_exit_now = on_exit_now
        self._saved: Dict[int, Any] = {}
        self._pid = os.getpid()

    def __enter__(self) -> "StopOnSignal":
        if threading.current_thread() is not threading.main_thread():
            return self
        for sig in self.SIGNALS:
            raw = None
            if _LIBC is not None:
                raw = ctypes.create_string_buffer(_SIGACTION_SIZE)
                if _LIBC.sigaction(int(sig), None, raw) != 0:
                    raw = None
            self._saved[sig] = (signal.getsignal(sig), raw)
            signal.signal(sig, self._handle)
        return self

    def __exit__(self, *exc: Any) -> None:
        for sig, (previous, raw) in self._saved.items():
            signal.signal(sig, previous if previous is not None else signal.SIG_DFL)
            if raw is not None:
                _LIBC.sigaction(int(sig), raw, None)
        self._saved = {}

    def _handle(self, signum: int, frame: Any) -> None:
        if os.getpid() != self._pid:
            return     # a forked data-loading worker (a terminal signals them all): the trainer decides
        name = signal.Signals(signum).name
        if self.signum:
            os.write(2, f"\n{name} again: exiting now, without a checkpoint of the current step\n".encode())
            if self._on_exit_now is not None:
                self._on_exit_now()
            os._exit(128 + signum)
        self.signum = signum
        # A scheduler signals the whole process group, so the data-loading workers end too; Paddle's
        # SIGCHLD handler would raise about that in the middle of the step we are finishing. A Python
        # no-op, not SIG_DFL: a SIGCHLD already caught but not yet handled would otherwise make
        # CPython raise "Signal 17 ignored due to race condition" from whatever runs next.
        if hasattr(signal, "SIGCHLD") and signal.SIGCHLD not in self._saved:
            self._saved[signal.SIGCHLD] = (signal.getsignal(signal.SIGCHLD), None)
            signal.signal(signal.SIGCHLD, _ignore_child_exit)
        # os.write, not logging: a handler may run while the main thread holds the logging lock.
        os.write(2, f"\n{name} received: stopping after the current step with a checkpoint "
                    f"(send it again to exit at once)\n".encode())
