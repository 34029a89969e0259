"""The list of cases, the decorator that fills it, expectation shorthands and shared commands."""
from __future__ import annotations

import os
import shutil
from typing import Callable, List, Optional

from .context import QUICKSTART, Case, Ctx, Expect, Mention, Run
from .shared import quick_opts


CASES: List[Case] = []


def case(name: str, kind: str, item: int, expect: Expect, doc: str = ""):
    def register(setup: Callable[[Ctx], Run]) -> Callable[[Ctx], Run]:
        CASES.append(Case(name, kind, item, setup, expect, doc or (setup.__doc__ or "").strip()))
        return setup
    return register


def usage(*mentions: Mention, **kw) -> Expect:
    return Expect(exit=(2,), mentions=mentions, **kw)


def runtime(*mentions: Mention, **kw) -> Expect:
    return Expect(exit=(1,), mentions=mentions, **kw)


def user_error(*mentions: Mention, **kw) -> Expect:
    """A failure either category fits (a named input file that is unusable): exit 1 or 2."""
    return Expect(exit=(1, 2), mentions=mentions, **kw)


NON_FINITE = ("non-finite", "nan", "inf")
DATA_TIMEOUT = 60.0

LONG_RUN = ("--iters", "400", "--save_interval", "1000")


def val_run(ctx: Ctx, weights: str) -> Run:
    """val.py of ``weights`` on the shared data; vars: weights (its folder), metrics."""
    ctx.vars.update(weights=os.path.basename(os.path.dirname(weights)),
                    metrics=ctx.path("metrics.json"))
    return Run(["val.py", "--config", QUICKSTART, "--model_path", weights, "--num_threads", "1",
                "--save_metrics", ctx.path("metrics.json"), *quick_opts(ctx.shared.data()["root"])])


def predict_run(ctx: Ctx, image_path: str) -> Run:
    """tools/predict.py of the shared model on ``image_path``; vars: out (the predictions)."""
    ctx.vars["out"] = ctx.path("pred", "label_prediction")
    return Run(["tools/predict.py", "--config", QUICKSTART, "--model_path", ctx.shared.model(),
                "--image_path", image_path, "--save_dir", ctx.path("pred"), "--num_threads", "1",
                *quick_opts(ctx.shared.data()["root"])])


def infer_run(ctx: Ctx, image_path: str, export_dir: Optional[str] = None) -> Run:
    """tools/infer.py of ``export_dir`` (default: the shared export); vars: out."""
    ctx.vars["out"] = ctx.path("pred", "label_prediction")
    deploy = os.path.join(export_dir or ctx.shared.exported(), "deploy.yaml")
    return Run(["tools/infer.py", "--config", deploy, "--image_path", image_path,
                "--save_dir", ctx.path("pred"), "--cpu_threads", "1"])


def file_list_config(ctx: Ctx, data: str, train_list: str) -> str:
    """The quickstart config with a file-list ``Dataset`` (type: Dataset) for training."""
    return ctx.derived_config(
        "train_dataset:\n  _inherited_: False\n  type: Dataset\n"
        f"  dataset_root: {data}\n  train_path: {train_list}\n  num_classes: 19\n  mode: train\n"
        # RandomPaddingCrop is transforms[1], as in the quickstart config (quick_opts sets its
        # crop_size).
        "  transforms:\n    - type: RandomHorizontalFlip\n    - type: RandomPaddingCrop\n"
        "      crop_size: [32, 32]\n    - type: Normalize\n")


def export_copy(ctx: Ctx) -> str:
    """A copy of the shared export folder that the case may damage."""
    dst = ctx.path("export")
    shutil.copytree(ctx.shared.exported(), dst)
    return dst
