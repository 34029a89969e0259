"""Faults acted out around a run: a full disk (ENOSPC_RUNNER) and signals during training."""
from __future__ import annotations

import time
from typing import Callable, List

from .context import TRAIN_LINE, Ctx, Run
from .proc import Proc


ENOSPC_RUNNER = r"""
# Run a script as __main__ with writes to paths containing FULL_MATCH failing as on a full disk.
import builtins, errno, os, runpy, sys
match = os.environ['FULL_MATCH']
real_open = builtins.open

class FullFile:
    def __init__(self, f):
        self._f = f
    def write(self, data):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
    writelines = write
    def __getattr__(self, name):
        return getattr(self._f, name)
    def __enter__(self):
        return self
    def __exit__(self, *exc):
        self._f.close()
    def __iter__(self):
        return iter(self._f)

def full_open(file, mode='r', *args, **kwargs):
    f = real_open(file, mode, *args, **kwargs)
    if isinstance(file, (str, bytes, os.PathLike)) and any(c in mode for c in 'wax+') \
            and match in os.fsdecode(os.fspath(file)):
        return FullFile(f)
    return f

builtins.open = full_open
try:
    import cv2
    real_imwrite = cv2.imwrite
    def full_imwrite(path, *args, **kwargs):
        if match in os.fsdecode(os.fspath(path)):
            return False  # what OpenCV returns when the write fails
        return real_imwrite(path, *args, **kwargs)
    cv2.imwrite = full_imwrite
except ImportError:
    pass
script = sys.argv[1]
sys.argv = sys.argv[1:]
sys.path[0] = os.path.dirname(os.path.abspath(script))  # what `python script.py` sets (-c set '')
runpy.run_path(script, run_name='__main__')
"""


def disk_full(match: str, argv: List[str]) -> Run:
    return Run(["-c", ENOSPC_RUNNER, *argv], env={"FULL_MATCH": match})


def signal_after_first_step(*signals: int, gap: float = 0.0,
                            group: bool = False) -> Callable[[Ctx, Proc], None]:
    def act(ctx: Ctx, proc: Proc) -> None:
        if not proc.wait_line(TRAIN_LINE, 120):
            return
        for i, sig in enumerate(signals):
            if i:
                time.sleep(gap)
            proc.send(sig, group=group)
    return act
