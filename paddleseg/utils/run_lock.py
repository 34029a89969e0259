"""One training run per save_dir: a lock file holding the owner's PID and host.

Two runs writing checkpoints and ``train_log.jsonl`` into the same directory would replace each
other's checkpoints and interleave their logs, so :class:`SaveDirLock` makes the second one fail
at once with a message naming the holder. The file ``<save_dir>/.train.lock`` holds JSON (pid,
host, start time, command) for that message; liveness comes from an exclusive ``flock`` on it,
which the OS drops when the holder dies, however it dies. A lock file left by a dead process is
taken over with a warning. Where ``flock`` is unavailable (no ``fcntl``, a file system without
locks) the PID is checked instead, on the same host.
"""
from __future__ import annotations

import datetime
import errno
import json
import os
import socket
import sys
from typing import Any, Dict, Optional

from . import logger
from .errors import UserError

try:
    import fcntl
except ImportError:      # not on Windows: fall back to the PID check
    fcntl = None

LOCK_NAME = ".train.lock"


class SaveDirInUseError(UserError):
    """Another live run holds the save_dir."""


def process_alive(pid: int) -> bool:
    """Whether a process with this PID runs on this host (ours or another user's)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:       # another user's live process
        return True
    return True


def _describe(holder: Dict[str, Any]) -> str:
    started = f", started {holder['started']}" if holder.get("started") else ""
    command = f", command: {holder['command']}" if holder.get("command") else ""
    return f"PID {holder.get('pid')} on host {holder.get('host')}{started}{command}"


class SaveDirLock:
    """Exclusive lock on a save_dir for the lifetime of a run; a context manager.

    Raises:
        SaveDirInUseError: on :meth:`acquire`, when a live run (named in the message) holds it.
    """

    def __init__(self, save_dir: str) -> None:
        self.save_dir = save_dir
        self.path = os.path.join(save_dir, LOCK_NAME)
        self._fd: Optional[int] = None
        self._pid = os.getpid()

    @property
    def held(self) -> bool:
        return self._fd is not None

    def _read_holder(self) -> Optional[Dict[str, Any]]:
        try:
            with open(self.path) as f:
                holder = json.load(f)
        except (OSError, ValueError):
            return None
        return holder if isinstance(holder, dict) else None

    def _refuse(self, holder: Optional[Dict[str, Any]]) -> SaveDirInUseError:
        who = _describe(holder) if holder else "an unknown process (the lock file is unreadable)"
        return SaveDirInUseError(
            f"save_dir {self.save_dir} is in use by another training run: {who}. Wait for it, stop it, or choose "
            f"another --save_dir; if no run uses it any more, delete {self.path}")

    def acquire(self) -> None:
        os.makedirs(self.save_dir, exist_ok=True)
        for _ in range(5):   # the holder may remove the file between our open and our lock: retry
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
            try:
                if not self._try_flock(fd):
                    raise self._refuse(self._read_holder())
                if os.fstat(fd).st_ino != os.stat(self.path).st_ino:
                    continue            # locked a file that was just unlinked
            except FileNotFoundError:
                continue
            except BaseException:
                os.close(fd)
                raise
            break
        else:
            raise self._refuse(self._read_holder())
        previous = self._read_holder()
        if previous and not (previous.get("pid") == os.getpid() and previous.get("host") == socket.gethostname()):
            if fcntl is None and previous.get("host") == socket.gethostname() and process_alive(int(previous["pid"])):
                os.close(fd)
                raise self._refuse(previous)
            logger.warning(f"Taking over the lock on {self.save_dir} left by {_describe(previous)}: that run is gone")
        me = {"pid": os.getpid(), "host": socket.gethostname(),
              "started": datetime.datetime.now().isoformat(timespec="seconds"), "command": " ".join(sys.argv)}
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps(me).encode(), 0)
        self._fd, self._pid = fd, os.getpid()

    def _try_flock(self, fd: int) -> bool:
        if fcntl is None:
            return True
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as err:
            if err.errno in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                return False
            raise         # e.g. ENOLCK: the file system cannot lock; say so rather than run unguarded
        return True

    def release(self) -> None:
        """Remove the lock file (still holding the lock, so no one else's file is removed) and unlock."""
        if self._fd is None or os.getpid() != self._pid:
            return       # not held, or a forked child's copy: only the holder removes the file
        fd, self._fd = self._fd, None
        try:
            os.unlink(self.path)
        except FileNotFoundError:
            pass
        finally:
            os.close(fd)

    def __enter__(self) -> "SaveDirLock":
        self.acquire()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.release()
