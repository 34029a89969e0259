"""Helpers that damage input files, and post-conditions checked on disk after a case."""
from __future__ import annotations

import json
import os
import re
import subprocess
from typing import Callable, List, Optional

from .context import PY, REPO, TEMP_CHECKPOINT, TRAIN_LINE, Ctx


# ----- file corruption helpers

def truncate(path: str, keep: float = 0.4) -> None:
    with open(path, "rb") as f:
        data = f.read()
    with open(path, "wb") as f:
        f.write(data[: max(1, int(len(data) * keep))])


def rewrite_image(path: str, transform: Callable, out_path: Optional[str] = None,
                  ext: Optional[str] = None) -> str:
    """Re-encode an image (label) after ``transform(array)``, optionally to another format or
    name."""
    import cv2
    import numpy as np
    arr = cv2.imdecode(np.fromfile(path, np.uint8), cv2.IMREAD_UNCHANGED)
    arr = transform(arr)
    ok, buf = cv2.imencode(ext or os.path.splitext(out_path or path)[1], arr)
    assert ok
    buf.tofile(out_path or path)
    return out_path or path


def half_size(arr):
    import cv2
    return cv2.resize(arr, (arr.shape[1] // 2, arr.shape[0] // 2), interpolation=cv2.INTER_NEAREST)


# ----- post-condition helpers (each returns None when fine, else the reason)

def no_temp_dirs(rel: str = "run") -> Callable[[Ctx], Optional[str]]:
    def check(ctx: Ctx) -> Optional[str]:
        d = ctx.path(rel)
        left = [n for n in os.listdir(d) if TEMP_CHECKPOINT.match(n)] if os.path.isdir(d) else []
        return f"temporary checkpoint dirs left: {left}" if left else None
    return check


def checkpoints(save_dir: str) -> List[str]:
    if not os.path.isdir(save_dir):
        return []
    found = [n for n in os.listdir(save_dir) if re.match(r"^iter_\d+$", n)
             and os.path.isfile(os.path.join(save_dir, n, "meta.json"))]
    return sorted(found, key=lambda n: int(n.split("_")[1]))


def has_checkpoint(rel: str = "run", name: Optional[str] = None) -> Callable[[Ctx], Optional[str]]:
    def check(ctx: Ctx) -> Optional[str]:
        found = checkpoints(ctx.path(rel))
        want = name.format(**ctx.vars) if name else None
        if want and want not in found:
            return f"checkpoint {want} missing (found {found})"
        return None if found else f"no complete checkpoint in {rel}/"
    return check


FINITE_CHECK = """
import glob, json, os, sys
import numpy as np, paddle
bad = []
for path in sorted(glob.glob(os.path.join(sys.argv[1], '*', 'model.pd*'))):
    state = paddle.load(path)
    flat = []
    def walk(v, k):
        if isinstance(v, dict):
            for kk, vv in v.items(): walk(vv, k + '/' + str(kk))
        elif hasattr(v, 'shape'):
            a = np.asarray(v.numpy() if hasattr(v, 'numpy') else v)
            if a.dtype.kind == 'f' and not np.isfinite(a).all(): flat.append(k)
    walk(state, '')
    if flat: bad.append('%s: %d non-finite' % (os.path.relpath(path, sys.argv[1]), len(flat)))
print(json.dumps(bad))
"""


def all_finite(rel: str = "run") -> Callable[[Ctx], Optional[str]]:
    def check(ctx: Ctx) -> Optional[str]:
        run = subprocess.run([PY, "-c", FINITE_CHECK, ctx.path(rel)], cwd=REPO, env=ctx.env,
                             capture_output=True, text=True, timeout=120)
        if run.returncode != 0:
            return f"could not check checkpoints: {run.stderr.strip().splitlines()[-1:]}"
        bad = json.loads(run.stdout.strip().splitlines()[-1])
        return f"non-finite checkpoint on disk: {bad}" if bad else None
    return check


def absent(template: str) -> Callable[[Ctx], Optional[str]]:
    def check(ctx: Ctx) -> Optional[str]:
        path = template.format(**ctx.vars)
        return f"{os.path.relpath(path, ctx.tmp)} exists" if os.path.lexists(path) else None
    return check


def count_files(template: str, n: int) -> Callable[[Ctx], Optional[str]]:
    def check(ctx: Ctx) -> Optional[str]:
        d = template.format(**ctx.vars)
        found = [os.path.join(r, f) for r, _, fs in os.walk(d) for f in fs]  # none if no folder
        if len(found) == n:
            return None
        return f"{len(found)} file(s) in {os.path.relpath(d, ctx.tmp)}, expected {n}"
    return check


def unchanged(var: str) -> Callable[[Ctx], Optional[str]]:
    """The directory named by ctx.vars[var] still holds what ctx.vars[var + '_digest'] recorded."""
    def check(ctx: Ctx) -> Optional[str]:
        d = ctx.vars[var]
        if digest(d) == ctx.vars[var + "_digest"]:
            return None
        return f"{os.path.relpath(d, ctx.tmp)} changed or vanished"
    return check


def digest(d: str) -> str:
    import hashlib
    h = hashlib.sha256()
    if not os.path.isdir(d):
        return "missing"
    for name in sorted(os.listdir(d)):
        h.update(name.encode())
        with open(os.path.join(d, name), "rb") as f:
            h.update(f.read())
    return h.hexdigest()


def no_train_line(ctx: Ctx) -> Optional[str]:
    if ctx.proc and re.search(TRAIN_LINE, ctx.proc.stdout):
        return "training started before the check failed"
    return None


def resumed(ctx: Ctx) -> Optional[str]:
    """The judged run continued an earlier one: its first training log line is past iteration 1."""
    m = re.search(r"\[TRAIN\].*?iter: (\d+)/", ctx.proc.stdout) if ctx.proc else None
    if not m:
        return "no training log line"
    return None if int(m.group(1)) > 1 else "started again from iteration 1 instead of resuming"


def background_exit(code: int) -> Callable[[Ctx], Optional[str]]:
    def check(ctx: Ctx) -> Optional[str]:
        other = ctx.background[0]
        got = other.wait(120)
        return None if got == code else f"the other run exited {got}, expected {code}"
    return check
