"""Judging a finished case against its expectations, and running one case."""
from __future__ import annotations

import os
import re
import shutil
import tempfile
from typing import List, Optional
from dataclasses import dataclass

from .context import ERROR_LINE, PY, REPO, Case, Ctx, SetupError
from .proc import Proc
from .registry import CASES
from .shared import Shared


@dataclass
class Outcome:
    name: str
    kind: str
    item: int
    passed: bool
    exit: Optional[int]
    seconds: float
    reasons: List[str]
    last_stderr: str
    tmp: str


def _neutral(text: str, ctx: Ctx) -> str:
    """Hide the temporary directories, so that a mention cannot be satisfied by a path's prefix."""
    text = text.replace(ctx.tmp, "<case>")
    return text.replace(ctx.shared.root, "<shared>") if ctx.shared is not None else text


def _fill(template: str, ctx: Ctx, escape: bool = False) -> str:
    values = {k: _neutral(v, ctx) for k, v in ctx.vars.items()}
    return template.format(**{k: (re.escape(v) if escape else v) for k, v in values.items()})


def judge(case: Case, ctx: Ctx, proc: Proc, code: Optional[int]) -> List[str]:
    exp = case.expect
    reasons: List[str] = []
    output = _neutral(proc.stdout + proc.stderr, ctx)
    if proc.hung:
        reasons.append(f"hang: no exit within {exp.timeout:.0f}s, process group killed")
    elif code not in exp.exit:
        reasons.append(f"exit {code}, expected {'/'.join(map(str, exp.exit))}")
    for bad in exp.forbids:
        if bad in output:
            reasons.append(f"output contains {bad!r}")
    failed_as_expected = code not in (0, None) and not proc.hung and set(exp.exit) & {1, 2}
    if failed_as_expected and not ERROR_LINE.search(proc.stderr):
        reasons.append("no '<script>: error: ...' line")
    low = output.lower()
    for mention in exp.mentions:
        options = (mention,) if isinstance(mention, str) else mention
        filled = [_fill(m, ctx) for m in options]
        if not any(m.lower() in low for m in filled):
            reasons.append(f"output does not mention {' or '.join(repr(m) for m in filled)}")
    for pattern in exp.patterns:
        filled = _fill(pattern, ctx, escape=True)
        if not re.search(filled, output):
            reasons.append(f"output does not match {filled!r}")
    if not proc.hung:
        for check in exp.post:
            try:
                why = check(ctx)
            except Exception as e:  # noqa: BLE001 - a broken check is a failed case, reported
                why = f"check {getattr(check, '__name__', check)} raised {e!r}"
            if why:
                reasons.append(why)
    return reasons


def run_case(case: Case, shared: Shared, work: str, keep: bool) -> Outcome:
    # Not named after the case: output that quotes a truncated path must not satisfy a mention.
    tmp = tempfile.mkdtemp(prefix=f"case{CASES.index(case):02d}-", dir=work)
    with open(os.path.join(tmp, "CASE"), "w") as f:
        f.write(case.name + "\n")
    ctx = Ctx(case, shared, tmp)
    code: Optional[int] = None
    seconds = 0.0
    last = ""
    try:
        try:
            run = case.setup(ctx)
        except SetupError as e:
            return Outcome(case.name, case.kind, case.item, False, None, 0.0, [f"setup: {e}"], "",
                           tmp)
        env = dict(ctx.env, **run.env)
        ctx.env = env
        proc = Proc([PY, *run.argv], REPO, env)
        ctx.proc = proc
        if run.during:
            run.during(ctx, proc)
        code = proc.wait(case.expect.timeout)
        seconds = proc.seconds
        if keep:
            for name, text in (("stdout.txt", proc.stdout), ("stderr.txt", proc.stderr)):
                with open(os.path.join(tmp, name), "w", encoding="utf-8") as f:
                    f.write(text)
        reasons = judge(case, ctx, proc, code)
        lines = [l.strip() for l in proc.stderr.splitlines() if l.strip()]
        last = lines[-1][:200] if lines else ""
        return Outcome(case.name, case.kind, case.item, not reasons, code, seconds, reasons, last,
                       tmp)
    except Exception as e:  # noqa: BLE001 - a catalogue bug must not hide the other cases
        return Outcome(case.name, case.kind, case.item, False, code, seconds,
                       [f"catalogue error: {type(e).__name__}: {e}"], last, tmp)
    finally:
        ctx.cleanup()
        if not keep:
            shutil.rmtree(tmp, ignore_errors=True)


def format_line(o: Outcome) -> str:
    status = "PASS" if o.passed else "FAIL"
    code = "-" if o.exit is None else str(o.exit)
    line = f"{status}  {o.kind:<11} {o.name:<38} (exit {code}, {o.seconds:.1f}s)"
    if not o.passed:
        stderr = f" | stderr: {o.last_stderr}" if o.last_stderr else ""
        line += "  [" + "; ".join(o.reasons) + stderr + "]"
    return line
