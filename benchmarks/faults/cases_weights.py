"""Issue 12 items 2-3: no non-finite checkpoint; loading a trained model is strict."""
from __future__ import annotations

import os
import shutil

from .checks import absent, all_finite, count_files, has_checkpoint, no_temp_dirs, truncate
from .context import QUICKSTART, Ctx, Expect, Run
from .registry import NON_FINITE, case, runtime, user_error, val_run
from .shared import quick_opts, train_argv


# ----- 2. no checkpoint with a non-finite tensor, pruning keeps the last good one

NAN_OPTS = ("lr_scheduler.warmup_iters=0",)


def _diverging(ctx: Ctx, learning_rate: str, *flags: str) -> Run:
    """4 iterations, a checkpoint at each, no warmup, at a learning rate that diverges."""
    return Run(train_argv(ctx.path("run"), ctx.shared.data()["root"], "--iters", "4",
                          "--save_interval", "1", "--seed", "0", "--learning_rate", learning_rate,
                          *flags, opts=NAN_OPTS))


@case("nan_weights_never_checkpointed", "checkpoint", 2,
      runtime(NON_FINITE, "iter", timeout=120, post=(all_finite(), no_temp_dirs())))
def _nan_weights(ctx: Ctx) -> Run:
    """--learning_rate 1e6: the weights go non-finite while the loss stays finite; nothing
    non-finite may be saved (model or optimizer), and the run stops with exit 1 and the NaN
    message."""
    return _diverging(ctx, "1e6")


@case("nan_pruning_keeps_last_good", "checkpoint", 2,
      runtime(NON_FINITE, timeout=120, post=(all_finite(), has_checkpoint())))
def _nan_prune(ctx: Ctx) -> Run:
    """Same divergence with --keep_checkpoint_max 1: the newest good checkpoint must survive
    pruning."""
    return _diverging(ctx, "1e6", "--keep_checkpoint_max", "1")


@case("nan_loss_stops_in_one_line", "checkpoint", 2,
      runtime(NON_FINITE, "iter", timeout=120, post=(all_finite(),)))
def _nan_loss(ctx: Ctx) -> Run:
    """--learning_rate 1e30: the loss itself turns NaN; the NaN guard's message is one line,
    exit 1."""
    return _diverging(ctx, "1e30")


# ----- 3. loading a trained model is strict; pretrained: stays lenient

LOAD_PROBLEM = ("missing", "unexpected", "mismatch")


case("val_icnet_weights_on_encnet", "checkpoint", 3,
     runtime("{weights}", LOAD_PROBLEM, post=(absent("{metrics}"),)),
     "val.py --model_path with ICNet weights on the ENCNet config: an error with counts and names, "
     "no metrics.json.")(lambda ctx: val_run(ctx, ctx.shared.foreign_weights()["icnet"]))
case("val_checkpoint_other_num_classes", "checkpoint", 3,
     Expect(exit=(1,), mentions=("{weights}",), patterns=(r"\b5\b", r"\b19\b"),
            post=(absent("{metrics}"),)),
     "val.py with a 5-class checkpoint on the 19-class config: the error gives both class counts.")(
    lambda ctx: val_run(ctx, ctx.shared.foreign_weights()["encnet5"]))


@case("val_truncated_weights", "checkpoint", 3,
      runtime("model.pdparams", post=(absent("{metrics}"),)))
def _val_truncated(ctx: Ctx) -> Run:
    """val.py --model_path of a truncated model.pdparams: an error naming the file."""
    weights = ctx.path("w", "model.pdparams")
    os.makedirs(os.path.dirname(weights))
    shutil.copy(ctx.shared.model(), weights)
    truncate(weights, 0.5)
    return val_run(ctx, weights)


@case("val_missing_weights", "cli", 0, user_error("nowhere"))
def _val_missing(ctx: Ctx) -> Run:
    """val.py --model_path that does not exist: one line naming it."""
    return val_run(ctx, ctx.path("nowhere", "model.pdparams"))


@case("predict_icnet_weights_on_encnet", "checkpoint", 3,
      runtime("icnet", LOAD_PROBLEM, post=(count_files("{out}", 0),)))
def _predict_foreign(ctx: Ctx) -> Run:
    """tools/predict.py with ICNet weights on the ENCNet config: an error, nothing written."""
    ctx.vars["out"] = ctx.path("pred")
    img = ctx.train_pair(0, "val", root=ctx.shared.data()["root"])[0]
    return Run(["tools/predict.py", "--config", QUICKSTART,
                "--model_path", ctx.shared.foreign_weights()["icnet"], "--image_path", img,
                "--save_dir", ctx.path("pred"), "--num_threads", "1",
                *quick_opts(ctx.shared.data()["root"])])


@case("export_checkpoint_other_num_classes", "checkpoint", 3,
      Expect(exit=(1,), mentions=("encnet5",), patterns=(r"\b5\b", r"\b19\b"),
             post=(absent("{out}/deploy.yaml"),)))
def _export_foreign(ctx: Ctx) -> Run:
    """export.py with a 5-class checkpoint on the 19-class config: an error, no deploy.yaml."""
    ctx.vars["out"] = ctx.path("export")
    return Run(["export.py", "--config", QUICKSTART,
                "--model_path", ctx.shared.foreign_weights()["encnet5"],
                "--save_dir", ctx.path("export"), "--num_threads", "1",
                *quick_opts(ctx.shared.data()["root"])])


@case("pretrained_other_head_is_lenient", "checkpoint", 3,
      Expect(exit=(0,), mentions=("Loaded",)))
def _pretrained_lenient(ctx: Ctx) -> Run:
    """model.pretrained = a 5-class model (fine-tuning with another head) still loads what fits
    and trains."""
    return Run(train_argv(ctx.path("run"), ctx.shared.data()["root"], "--iters", "1",
                          opts=(f"model.pretrained={ctx.shared.foreign_weights()['encnet5']}",)))
