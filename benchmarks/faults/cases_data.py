"""Issue 12 item 1: data errors stop the run with the files named, in every loader setup."""
from __future__ import annotations

import os
from typing import Callable

from .checks import absent, half_size, no_train_line, rewrite_image, truncate
from .context import QUICKSTART, Ctx, Run
from .registry import DATA_TIMEOUT, case, runtime
from .shared import quick_opts, train_argv


# ----- 1. data errors stop the run with the files named, in every loader configuration

def _bad_train_sample(ctx: Ctx, corrupt: Callable[[str, str], None], workers: int,
                      check_labels: str) -> Run:
    data = ctx.data_copy()
    img, lab = ctx.train_pair(1, root=data)
    corrupt(img, lab)
    ctx.vars.update(img=os.path.basename(img), lab=os.path.basename(lab))
    return Run(train_argv(ctx.path("run"), data, "--iters", "4", "--num_workers", str(workers),
                          "--check_labels", check_labels, "--seed", "0"))


def _mismatch(img: str, lab: str) -> None:
    rewrite_image(lab, half_size)


def _truncated(img: str, lab: str) -> None:
    truncate(img)


for _workers in (0, 2):
    case(f"train_label_size_mismatch_workers{_workers}", "data", 1,
         runtime("{img}", "{lab}", timeout=DATA_TIMEOUT),
         f"A label half its image's size, found by the loader (--check_labels 0, "
         f"--num_workers {_workers}).")(
        lambda ctx, w=_workers: _bad_train_sample(ctx, _mismatch, w, "0"))
    case(f"train_truncated_image_workers{_workers}", "data", 1,
         runtime("{img}", timeout=DATA_TIMEOUT),
         f"A truncated PNG image, found by the loader (--check_labels 0, "
         f"--num_workers {_workers}).")(
        lambda ctx, w=_workers: _bad_train_sample(ctx, _truncated, w, "0"))

case("check_labels_finds_truncated_image", "data", 1,
     runtime("{img}", timeout=DATA_TIMEOUT, post=(no_train_line,)),
     "The pre-flight scan (--check_labels -1) decodes images too: a truncated image fails before "
     "step 1.")(
    lambda ctx: _bad_train_sample(ctx, _truncated, 0, "-1"))
case("check_labels_finds_size_mismatch", "data", 1,
     runtime("{img}", "{lab}", timeout=DATA_TIMEOUT, post=(no_train_line,)),
     "The pre-flight scan compares label and image sizes: a mismatch fails before step 1.")(
    lambda ctx: _bad_train_sample(ctx, _mismatch, 0, "-1"))
case("check_labels_finds_corrupt_label", "data", 1,
     runtime("{lab}", timeout=DATA_TIMEOUT, post=(no_train_line,)),
     "A label file of random bytes is found by the default pre-flight scan, with its name.")(
    lambda ctx: _bad_train_sample(ctx, lambda i, l: open(l, "wb").write(os.urandom(300)), 0, "-1"))


def _bad_val_sample(ctx: Ctx, corrupt: Callable[[str, str], None], workers: int) -> Run:
    data = ctx.data_copy()
    img, lab = ctx.train_pair(0, "val", root=data)
    corrupt(img, lab)
    ctx.vars.update(img=os.path.basename(img), lab=os.path.basename(lab),
                    metrics=ctx.path("metrics.json"))
    return Run(["val.py", "--config", QUICKSTART, "--model_path", ctx.shared.model(),
                "--num_threads", "1", "--num_workers", str(workers),
                "--save_metrics", ctx.path("metrics.json"), *quick_opts(data)])


case("val_label_size_mismatch", "data", 1,
     runtime("{img}", "{lab}", timeout=DATA_TIMEOUT, post=(absent("{metrics}"),)),
     "val.py with a val label half its image's size (--num_workers 0).")(
    lambda ctx: _bad_val_sample(ctx, _mismatch, 0))
case("val_truncated_image_workers2", "data", 1,
     runtime("{img}", timeout=DATA_TIMEOUT, post=(absent("{metrics}"),)),
     "val.py with a truncated val image (--num_workers 2).")(
    lambda ctx: _bad_val_sample(ctx, _truncated, 2))
