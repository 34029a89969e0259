"""Issue 12 items 6-7: resuming past broken checkpoints; SIGTERM / SIGINT handling."""
from __future__ import annotations

import os
import signal
from typing import Callable

from .actions import signal_after_first_step
from .checks import all_finite, has_checkpoint, no_temp_dirs, resumed, truncate
from .context import DEFAULT_FORBIDS, Ctx, Expect, Run, need
from .registry import LONG_RUN, case, runtime, user_error
from .shared import train_argv


# ----- 6. resumption skips broken checkpoints; mismatches are named

def _resume_auto_with(ctx: Ctx, break_it: Callable[[str], None]) -> Run:
    save = ctx.copy_run()
    break_it(os.path.join(save, "iter_2"))
    return Run(train_argv(save, ctx.shared.data()["root"], "--iters", "3",
                          "--resume_model", "auto"))


def _break_meta(checkpoint: str) -> None:
    with open(os.path.join(checkpoint, "meta.json"), "w") as f:
        f.write('{"iter": 2,')


case("resume_auto_skips_truncated_latest", "checkpoint", 6,
     Expect(exit=(0,), mentions=("iter_1",), patterns=(r"(?im)^.*warn.*iter_2",),
            post=(resumed, has_checkpoint(name="iter_3"))),
     "--resume_model auto with a truncated iter_2/model.pdparams: warns naming it, resumes from "
     "iter_1.")(
    lambda ctx: _resume_auto_with(ctx, lambda d: truncate(os.path.join(d, "model.pdparams"), 0.5)))
case("resume_auto_skips_unparsable_meta", "checkpoint", 6,
     Expect(exit=(0,), mentions=("iter_1",), patterns=(r"(?im)^.*warn.*iter_2",),
            post=(resumed, has_checkpoint(name="iter_3"))),
     "--resume_model auto with a broken iter_2/meta.json: warns naming it, resumes from iter_1.")(
    lambda ctx: _resume_auto_with(ctx, _break_meta))


@case("resume_explicit_broken_checkpoint", "checkpoint", 6, runtime("model.pdparams", "iter_2"))
def _resume_explicit(ctx: Ctx) -> Run:
    """--resume_model iter_2 whose model.pdparams is truncated: an error naming the file."""
    save = ctx.copy_run()
    truncate(os.path.join(save, "iter_2", "model.pdparams"), 0.5)
    return Run(train_argv(save, ctx.shared.data()["root"], "--iters", "3",
                          "--resume_model", os.path.join(save, "iter_2")))


@case("resume_missing_directory", "checkpoint", 0, user_error("iter_9"))
def _resume_missing(ctx: Ctx) -> Run:
    """--resume_model pointing nowhere: one line naming it."""
    return Run(train_argv(ctx.path("run"), ctx.shared.data()["root"], "--iters", "3",
                          "--resume_model", ctx.path("run", "iter_9")))


@case("resume_after_model_change", "checkpoint", 6,
      user_error("iter_2", ("shape", "differ", "mismatch"),
                 forbids=DEFAULT_FORBIDS + ("AssertionError",)))
def _resume_model_change(ctx: Ctx) -> Run:
    """Resuming with model.num_codes changed: an error saying what differs."""
    save = ctx.copy_run()
    return Run(train_argv(save, ctx.shared.data()["root"], "--iters", "3", "--resume_model", "auto",
                          opts=("model.num_codes=8",)))


@case("resume_after_optimizer_change", "checkpoint", 6,
      user_error("iter_2", ("optimizer", "Momentum", "Adam"),
                 forbids=DEFAULT_FORBIDS + ("AssertionError",)))
def _resume_optimizer_change(ctx: Ctx) -> Run:
    """Resuming a Momentum run with Adam: an error saying the optimizer state does not fit."""
    save = ctx.copy_run()
    cfg = ctx.derived_config(
        "optimizer:\n  _inherited_: False\n  type: Adam\n  weight_decay: 0.0001\n")
    return Run(train_argv(save, ctx.shared.data()["root"], "--iters", "3", "--resume_model", "auto",
                          config=cfg))


@case("sigkill_then_resume_auto", "signal", 0,
      Expect(exit=(0,), timeout=150,
             post=(resumed, has_checkpoint(name="iter_12"), no_temp_dirs())))
def _sigkill_resume(ctx: Ctx) -> Run:
    """SIGKILL right after a checkpoint save, then --resume_model auto finishes the run."""
    data = ctx.shared.data()["root"]
    first = ctx.spawn(train_argv(ctx.path("run"), data, "--iters", "12", "--save_interval", "2"))
    need(first.wait_line("Saved checkpoint", 120), "the first run saved no checkpoint")
    first.kill_group()
    first.wait(30)
    return Run(train_argv(ctx.path("run"), data, "--iters", "12", "--save_interval", "2",
                          "--resume_model", "auto"))


# ----- 7. SIGTERM / SIGINT: checkpoint, resume command, 143 / 130

SIGNAL_FORBIDS = DEFAULT_FORBIDS + ("KeyboardInterrupt", "Termination signal", "C++ Traceback")


def _interrupted(ctx: Ctx, *signals: int) -> Run:
    run = Run(train_argv(ctx.path("run"), ctx.shared.data()["root"], *LONG_RUN))
    run.during = signal_after_first_step(*signals, gap=0.05)
    return run


case("sigterm_checkpoints_and_exits_143", "signal", 7,
     Expect(exit=(143,), mentions=("--resume_model",), forbids=SIGNAL_FORBIDS, timeout=150,
            post=(has_checkpoint(), no_temp_dirs(), all_finite())),
     "SIGTERM after the first step: checkpoint of that iteration, the resume command, exit 143.")(
    lambda ctx: _interrupted(ctx, signal.SIGTERM))


def _group_sigterm_with_workers(ctx: Ctx) -> Run:
    run = Run(train_argv(ctx.path("run"), ctx.shared.data()["root"], *LONG_RUN,
                         "--num_workers", "2"))
    run.during = signal_after_first_step(signal.SIGTERM, group=True)
    return run


case("sigterm_process_group_workers2", "signal", 7,
     Expect(exit=(143,), mentions=("--resume_model",),
            forbids=SIGNAL_FORBIDS + ("killed by signal",), timeout=150,
            post=(has_checkpoint(), no_temp_dirs(), all_finite())),
     "SIGTERM to the whole process group (as a scheduler sends it) with 2 loader workers: "
     "checkpoint, the resume command, exit 143.")(_group_sigterm_with_workers)
case("sigint_checkpoints_and_exits_130", "signal", 7,
     Expect(exit=(130,), mentions=("--resume_model",), forbids=SIGNAL_FORBIDS, timeout=150,
            post=(has_checkpoint(), no_temp_dirs())),
     "SIGINT (Ctrl-C) after the first step: checkpoint, the resume command, exit 130.")(
    lambda ctx: _interrupted(ctx, signal.SIGINT))
case("second_sigint_exits_at_once", "signal", 7,
     Expect(exit=(130,), forbids=SIGNAL_FORBIDS, timeout=60),
     "Two SIGINTs 50 ms apart: the second exits at once with 130.")(
    lambda ctx: _interrupted(ctx, signal.SIGINT, signal.SIGINT))


@case("sigterm_then_resume_auto", "signal", 7,
      Expect(exit=(0,), timeout=150, post=(resumed, has_checkpoint(name="iter_30"))))
def _sigterm_resume(ctx: Ctx) -> Run:
    """After SIGTERM, --resume_model auto continues from the signal's checkpoint and finishes."""
    data = ctx.shared.data()["root"]
    first = ctx.spawn(train_argv(ctx.path("run"), data, "--iters", "30", "--save_interval", "1000"))
    signal_after_first_step(signal.SIGTERM)(ctx, first)
    first.wait(120)
    need(not first.hung, "the first run did not stop after SIGTERM")
    return Run(train_argv(ctx.path("run"), data, "--iters", "30", "--save_interval", "1000",
                          "--resume_model", "auto"))
