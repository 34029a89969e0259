"""Issue 12 items 4-5: N inputs give N predictions; one run per save_dir."""
from __future__ import annotations

import json
import os
import shutil
from typing import Optional

from .checks import background_exit, count_files, resumed, rewrite_image
from .context import TRAIN_LINE, Ctx, Expect, Run, need
from .registry import LONG_RUN, case, infer_run, predict_run
from .shared import train_argv


# ----- 4. N inputs give N predictions

def _same_stem_folder(ctx: Ctx) -> str:
    src = ctx.train_pair(0, "val", root=ctx.shared.data()["root"])[0]
    folder = ctx.path("images")
    os.makedirs(folder)
    shutil.copy(src, os.path.join(folder, "frame.png"))
    rewrite_image(src, lambda a: a, os.path.join(folder, "frame.jpg"))
    return folder


def _same_name_list(ctx: Ctx) -> str:
    src = ctx.train_pair(0, "val", root=ctx.shared.data()["root"])[0]
    for sub in ("A", "B"):
        os.makedirs(ctx.path(sub))
        shutil.copy(src, ctx.path(sub, "img.png"))
    return ctx.write("lists/images.txt", "../A/img.png\n../B/img.png\n")


TWO_OUTPUTS = Expect(exit=(0,), post=(count_files("{out}", 2),))
TWO_INPUTS = (("same_stem_in_folder", "frame.png + frame.jpg", _same_stem_folder),
              ("same_name_in_list", "a list with ../A/img.png and ../B/img.png", _same_name_list))
for _tool, _run in (("predict", predict_run), ("infer", infer_run)):
    for _name, _what, _inputs in TWO_INPUTS:
        case(f"{_tool}_{_name}", "output", 4, TWO_OUTPUTS,
             f"tools/{_tool}.py on {_what}: two predictions.")(
            lambda ctx, run=_run, inputs=_inputs: run(ctx, inputs(ctx)))


# ----- 5. one run per save_dir

def _log_not_interleaved(ctx: Ctx) -> Optional[str]:
    path = ctx.path("run", "train_log.jsonl")
    if not os.path.isfile(path):
        return None
    iters = [json.loads(line).get("iter") for line in open(path) if line.strip()]
    iters = [i for i in iters if i is not None]
    if iters == sorted(iters):
        return None
    return f"train_log.jsonl interleaves two runs: iterations {iters[:12]}"


@case("lock_second_run_refused", "concurrency", 5,
      Expect(exit=(1,), patterns=(r"\b{holder_pid}\b",), timeout=120, post=(_log_not_interleaved,)))
def _lock_refused(ctx: Ctx) -> Run:
    """A second train.py on a save_dir in use is refused, naming the holder's PID."""
    data = ctx.shared.data()["root"]
    first = ctx.spawn(train_argv(ctx.path("run"), data, *LONG_RUN))
    need(first.wait_line(TRAIN_LINE, 120), "the first run did not start training")
    ctx.vars["holder_pid"] = str(first.pid)
    return Run(train_argv(ctx.path("run"), data, "--iters", "2"))


@case("lock_stale_is_taken_over", "concurrency", 5,
      Expect(exit=(0,), patterns=(r"(?im)^.*warn.*\block\b",), timeout=120))
def _lock_stale(ctx: Ctx) -> Run:
    """A run killed with SIGKILL leaves its lock; the next run takes it over with a warning."""
    data = ctx.shared.data()["root"]
    first = ctx.spawn(train_argv(ctx.path("run"), data, *LONG_RUN))
    need(first.wait_line(TRAIN_LINE, 120), "the first run did not start training")
    ctx.vars["holder_pid"] = str(first.pid)
    first.kill_group()
    first.wait(30)
    return Run(train_argv(ctx.path("run"), data, "--iters", "2"))


@case("lock_released_after_clean_exit", "concurrency", 0, Expect(exit=(0,), post=(resumed,)))
def _lock_released(ctx: Ctx) -> Run:
    """A finished run releases its save_dir: resuming in it works."""
    data = ctx.shared.data()["root"]
    code, out = ctx.run_sync(train_argv(ctx.path("run"), data, "--iters", "2"))
    need(code == 0, f"the first run failed: {out.strip().splitlines()[-1:]}")
    return Run(train_argv(ctx.path("run"), data, "--iters", "3", "--resume_model", "auto"))


@case("concurrent_runs_other_save_dirs", "concurrency", 0,
      Expect(exit=(0,), timeout=150, post=(background_exit(0),)))
def _two_dirs(ctx: Ctx) -> Run:
    """Two train.py at once on different save_dirs both finish."""
    data = ctx.shared.data()["root"]
    ctx.spawn(train_argv(ctx.path("run_a"), data, "--iters", "3"))
    return Run(train_argv(ctx.path("run_b"), data, "--iters", "3"))
