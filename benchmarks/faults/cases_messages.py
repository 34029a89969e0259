"""Issue 12 items 11-12: messages that do not mislead; bad downloads are not cached."""
from __future__ import annotations

import os
from typing import Optional

from .checks import absent, count_files, truncate
from .context import DEFAULT_FORBIDS, QUICKSTART, Ctx, Expect, Run
from .registry import case, export_copy, infer_run, runtime, usage, user_error
from .shared import quick_opts, train_argv


# ----- 11. messages that do not mislead

@case("transform_without_type", "config", 11,
      usage("type", "Normalize", forbids=DEFAULT_FORBIDS + ("not a transform object",)))
def _transform_no_type(ctx: Ctx) -> Run:
    """A transforms entry without `type:`: says so, with the registered names."""
    cfg = ctx.derived_config("val_dataset:\n  transforms:\n    - crop_size: [32, 32]\n")
    return Run(train_argv(ctx.path("run"), ctx.shared.data()["root"], "--iters", "1", "--do_eval",
                          config=cfg))


@case("learning_rate_zero_with_warmup", "config", 11,
      usage("learning_rate", forbids=DEFAULT_FORBIDS + ("end_lr 0.0 must be greater",)))
def _lr_zero_warmup(ctx: Ctx) -> Run:
    """learning_rate: 0 with warmup: the error names learning_rate, the key the user set."""
    return Run(train_argv(ctx.path("run"), ctx.shared.data()["root"], "--iters", "1",
                          opts=("lr_scheduler.learning_rate=0",)))


def _warns_lr(ctx: Ctx) -> Optional[str]:
    lines = [line for line in ctx.proc.stderr.splitlines()
             if "WARN" in line.upper() and "learning" in line.lower()]
    return None if lines else "no warning about the zero learning rate"


@case("learning_rate_zero_warns", "config", 11, Expect(exit=(0,), post=(_warns_lr,)))
def _lr_zero(ctx: Ctx) -> Run:
    """learning_rate: 0 without warmup trains, with a warning."""
    return Run(train_argv(ctx.path("run"), ctx.shared.data()["root"], "--iters", "1",
                          opts=("lr_scheduler.learning_rate=0", "lr_scheduler.warmup_iters=0")))

@case("deploy_yaml_unsafe_tag", "config", 11,
      usage("deploy.yaml", post=(absent("{marker}"), count_files("{out}", 0))))
def _deploy_unsafe(ctx: Ctx) -> Run:
    """A python/object tag in deploy.yaml: one line naming the file, nothing executed."""
    export = export_copy(ctx)
    ctx.vars["marker"] = ctx.path("MARKER")
    with open(os.path.join(export, "deploy.yaml"), "a") as f:
        f.write(f"evil: !!python/object/apply:os.system ['touch {ctx.vars['marker']}']\n")
    img = ctx.train_pair(0, "val", root=ctx.shared.data()["root"])[0]
    return infer_run(ctx, img, export)


@case("export_wrong_input_channels", "cli", 11,
      usage("--input_shape", "3", post=(absent("{out}/deploy.yaml"),)))
def _export_channels(ctx: Ctx) -> Run:
    """export.py --input_shape 1 1 32 64 for a 3-channel model: checked before tracing."""
    ctx.vars["out"] = ctx.path("export")
    return Run(["export.py", "--config", QUICKSTART, "--model_path", ctx.shared.model(),
                "--save_dir", ctx.path("export"), "--input_shape", "1", "1", "32", "64",
                "--num_threads", "1",
                *quick_opts(ctx.shared.data()["root"])])


@case("infer_truncated_params", "checkpoint", 11,
      runtime("model.pdiparams", post=(count_files("{out}", 0),)))
def _infer_truncated(ctx: Ctx) -> Run:
    """tools/infer.py with a truncated model.pdiparams: an error naming the file."""
    export = export_copy(ctx)
    truncate(os.path.join(export, "model.pdiparams"), 0.5)
    img = ctx.train_pair(0, "val", root=ctx.shared.data()["root"])[0]
    return infer_run(ctx, img, export)


@case("infer_missing_model_file", "checkpoint", 11, user_error("model.json"))
def _infer_missing(ctx: Ctx) -> Run:
    """tools/infer.py whose model.json was deleted: one line naming it."""
    export = export_copy(ctx)
    os.remove(os.path.join(export, "model.json"))
    img = ctx.train_pair(0, "val", root=ctx.shared.data()["root"])[0]
    return infer_run(ctx, img, export)


@case("infer_missing_deploy_yaml", "cli", 0, user_error("nowhere.yaml"))
def _infer_no_yaml(ctx: Ctx) -> Run:
    """tools/infer.py --config that does not exist: one line naming it."""
    img = ctx.train_pair(0, "val", root=ctx.shared.data()["root"])[0]
    return Run(["tools/infer.py", "--config", ctx.path("nowhere.yaml"), "--image_path", img,
                "--save_dir", ctx.path("pred")])


@case("export_onnx_missing_deploy_yaml", "cli", 0, user_error(("nowhere.yaml", "paddle2onnx")))
def _onnx_no_yaml(ctx: Ctx) -> Run:
    """tools/export_onnx.py --deploy_config that does not exist (or paddle2onnx absent): one
    line."""
    return Run(["tools/export_onnx.py", "--deploy_config", ctx.path("nowhere.yaml"),
                "--save_file", ctx.path("m.onnx")])


# ----- 12. bad downloads are not cached

def _html_site(ctx: Ctx, rel: str) -> str:
    page = "<!DOCTYPE html><html><body>Sign in to continue</body></html>\n"
    path = ctx.write(f"site/{rel}", page)
    return "file://" + path


@case("download_html_not_cached", "download", 12,
      user_error("{url}", "{cache}", post=(absent("{cached}"),)))
def _download_html(ctx: Ctx) -> Run:
    """pretrained: a URL returning an HTML page: the error names the URL and the cache path, and the
    download is removed from the cache."""
    url = _html_site(ctx, "fake_backbone/model.pdparams")
    cache = os.path.join(ctx.path("home"), "pretrained", "fake_backbone")
    ctx.vars.update(url=url, cache=cache, cached=os.path.join(cache, "model.pdparams"))
    return Run(train_argv(ctx.path("run"), ctx.shared.data()["root"], "--iters", "1",
                          opts=(f"model.backbone.pretrained={url}",)))


@case("download_html_archive_not_cached", "download", 12,
      user_error("{url}", post=(absent("{cache}"),)))
def _download_html_archive(ctx: Ctx) -> Run:
    """pretrained: a .tar.gz URL returning HTML: one line naming the URL, nothing left in the
    cache."""
    url = _html_site(ctx, "fake_weights.tar.gz")
    ctx.vars.update(url=url, cache=os.path.join(ctx.path("home"), "pretrained", "fake_weights"))
    return Run(train_argv(ctx.path("run"), ctx.shared.data()["root"], "--iters", "1",
                          opts=(f"model.backbone.pretrained={url}",)))


@case("download_unreachable", "download", 12, user_error("127.0.0.1:9"))
def _download_unreachable(ctx: Ctx) -> Run:
    """pretrained: a URL nothing answers (port 9 on localhost): one line naming the URL, what to
    do."""
    return Run(train_argv(ctx.path("run"), ctx.shared.data()["root"], "--iters", "1",
                          opts=("model.backbone.pretrained=http://127.0.0.1:9/w/model.pdparams",)))
