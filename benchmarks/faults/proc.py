"""Running one script: its own process group, output collected as it comes, hangs killed."""
from __future__ import annotations

import os
import re
import signal
import subprocess
import threading
import time
from typing import Dict, List, Optional, Sequence



class Proc:
    """A script in its own process group, its output collected line by line as it comes."""

    def __init__(self, argv: Sequence[str], cwd: str, env: Dict[str, str]) -> None:
        self.argv = list(argv)
        self.start = time.monotonic()
        self.popen = subprocess.Popen(self.argv, cwd=cwd, env=env, stdout=subprocess.PIPE,
                                      stderr=subprocess.PIPE, start_new_session=True)
        self.pid = self.popen.pid
        self.out: List[str] = []
        self.err: List[str] = []
        self._cond = threading.Condition()
        self._readers = [threading.Thread(target=self._read, args=(s, buf), daemon=True)
                         for s, buf in ((self.popen.stdout, self.out),
                                        (self.popen.stderr, self.err))]
        for r in self._readers:
            r.start()
        self.hung = False
        self.seconds = 0.0

    def _read(self, stream, buf: List[str]) -> None:
        for raw in iter(stream.readline, b""):
            with self._cond:
                buf.append(raw.decode("utf-8", "replace"))
                self._cond.notify_all()
        stream.close()

    @property
    def stdout(self) -> str:
        return "".join(self.out)

    @property
    def stderr(self) -> str:
        return "".join(self.err)

    def wait_line(self, pattern: str, timeout: float) -> bool:
        """Wait until a line of stdout or stderr matches ``pattern``; False on timeout or exit."""
        rx = re.compile(pattern)
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                if any(rx.search(line) for line in self.out + self.err):
                    return True
                if self.popen.poll() is not None or time.monotonic() > deadline:
                    return any(rx.search(line) for line in self.out + self.err)
                self._cond.wait(0.1)

    def send(self, sig: int, group: bool = False) -> None:
        """Signal the process, or its whole process group (what a scheduler does) with ``group``."""
        if self.popen.poll() is None:
            (os.killpg if group else os.kill)(self.pid, sig)

    def kill_group(self) -> None:
        try:
            os.killpg(self.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass

    def wait(self, timeout: float) -> Optional[int]:
        """Exit status, or None after killing the process group when ``timeout`` passes (a hang)."""
        remaining = max(0.1, timeout - (time.monotonic() - self.start))
        try:
            self.popen.wait(remaining)
        except subprocess.TimeoutExpired:
            self.hung = True
            self.kill_group()
            self.popen.wait()
        self.seconds = time.monotonic() - self.start
        for r in self._readers:
            r.join(5)
        # Loader workers may outlive their parent: clean the whole group in every case.
        self.kill_group()
        if self.hung:
            return None
        code = self.popen.returncode
        # Killed by a signal: report it as a shell does (SIGTERM -> 143, SIGSEGV -> 139).
        return 128 - code if code < 0 else code


def base_env(home: str) -> Dict[str, str]:
    env = dict(os.environ)
    env.pop("PADDLESEG_DEBUG", None)
    env.update(PADDLESEG_HOME=home, PYTHONUNBUFFERED="1", OMP_NUM_THREADS="1",
               PYTHONIOENCODING="utf-8")
    return env


def check_run(run: subprocess.CompletedProcess, what: str) -> None:
    if run.returncode != 0:
        tail = (run.stderr or run.stdout or "").strip().splitlines()[-3:]
        raise RuntimeError(f"{what} failed (exit {run.returncode}): {' | '.join(tail)}")
