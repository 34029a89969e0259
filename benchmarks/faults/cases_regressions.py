"""Failures handled before issue 12 that must stay handled (config, cli, output)."""
from __future__ import annotations


from .checks import absent
from .context import Ctx, Run
from .registry import case, predict_run, usage, user_error, val_run
from .shared import train_argv


# ----- handled before issue 12; must stay handled (config, cli, output)

@case("config_typo_did_you_mean", "config", 0, usage("num_code", "did you mean", "num_codes"))
def _typo(ctx: Ctx) -> Run:
    """model.num_code (typo): did you mean 'num_codes'?"""
    return Run(train_argv(ctx.path("run"), ctx.shared.data()["root"], opts=("model.num_code=16",)))


@case("config_base_cycle", "config", 0, usage("a.yml", "b.yml"))
def _cycle(ctx: Ctx) -> Run:
    """a.yml -> b.yml -> a.yml through _base_: one line naming the files."""
    ctx.write("a.yml", "_base_: b.yml\nbatch_size: 2\n")
    ctx.write("b.yml", "_base_: a.yml\niters: 2\n")
    return Run(["train.py", "--config", ctx.path("a.yml"), "--save_dir", ctx.path("run"),
                "--num_threads", "1"])


@case("config_missing_file", "config", 0, usage("nowhere.yml"))
def _missing_cfg(ctx: Ctx) -> Run:
    """--config that does not exist."""
    return Run(["train.py", "--config", ctx.path("nowhere.yml"), "--save_dir", ctx.path("run")])


@case("config_missing_dataset_root", "config", 0, usage("no_such_data", "dataset_root"))
def _missing_root(ctx: Ctx) -> Run:
    """train_dataset.dataset_root that does not exist: named, with how to get the data."""
    return Run(train_argv(ctx.path("run"), ctx.path("no_such_data"), "--iters", "1"))


@case("config_unsafe_yaml_tag", "config", 0, usage("cfg.yml", post=(absent("{marker}"),)))
def _unsafe_cfg(ctx: Ctx) -> Run:
    """A python/object tag in a config: refused in one line, nothing executed."""
    ctx.vars["marker"] = ctx.path("MARKER")
    cfg = ctx.derived_config(
        f"evil: !!python/object/apply:os.system ['touch {ctx.vars['marker']}']\n")
    return Run(train_argv(ctx.path("run"), ctx.shared.data()["root"], "--iters", "1", config=cfg))


@case("config_yaml_syntax_error", "config", 0, usage("cfg.yml", "line"))
def _yaml_syntax(ctx: Ctx) -> Run:
    """An unclosed bracket in a config: the file and line."""
    cfg = ctx.derived_config("model:\n  num_codes: [16\n")
    return Run(train_argv(ctx.path("run"), ctx.shared.data()["root"], "--iters", "1", config=cfg))


@case("cli_opts_without_equals", "cli", 0, usage("model.num_codes"))
def _opts_syntax(ctx: Ctx) -> Run:
    """--opts model.num_codes 16 (no '='): one line showing the expected KEY=VALUE."""
    return Run(train_argv(ctx.path("run"), ctx.shared.data()["root"],
                          opts=("model.num_codes", "16")))


@case("cli_unknown_model_type", "config", 0, usage("ENCNett", "ENCNet"))
def _unknown_type(ctx: Ctx) -> Run:
    """model.type=ENCNett: unknown, with the close registered name."""
    return Run(train_argv(ctx.path("run"), ctx.shared.data()["root"], opts=("model.type=ENCNett",)))


@case("cli_negative_batch_size", "cli", 0, usage("batch_size", "-1"))
def _neg_batch(ctx: Ctx) -> Run:
    """train.py --batch_size -1."""
    return Run(train_argv(ctx.path("run"), ctx.shared.data()["root"], "--batch_size", "-1"))


@case("cli_val_batch_size_zero", "cli", 0, usage("--batch_size", "0"))
def _val_batch(ctx: Ctx) -> Run:
    """val.py --batch_size 0."""
    return Run(val_run(ctx, ctx.shared.model()).argv + ["--batch_size", "0"])


@case("cli_device_gpu_on_cpu_build", "cli", 0, usage("--device gpu"))
def _gpu(ctx: Ctx) -> Run:
    """--device gpu on a CPU-only Paddle build: one line saying so and what to install."""
    return Run(train_argv(ctx.path("run"), ctx.shared.data()["root"], "--device", "gpu"))


@case("cli_unknown_flag", "cli", 0, usage("--itres"))
def _unknown_flag(ctx: Ctx) -> Run:
    """A misspelt flag (--itres): argparse's usage error."""
    return Run(train_argv(ctx.path("run"), ctx.shared.data()["root"], "--itres", "2"))


@case("cli_num_threads_negative", "cli", 0, usage("--num_threads"))
def _threads(ctx: Ctx) -> Run:
    """--num_threads -1."""
    args = train_argv(ctx.path("run"), ctx.shared.data()["root"])
    args[args.index("--num_threads") + 1] = "-1"
    return Run(args)


@case("save_dir_not_writable", "output", 0, user_error("blocker"))
def _save_dir_blocked(ctx: Ctx) -> Run:
    """A save_dir that cannot be created (a file stands in its parent's place; chmod cannot stop
    root, who runs these cases): one line naming the path."""
    ctx.write("blocker", "a file, not a directory\n")
    return Run(train_argv(ctx.path("blocker", "run"), ctx.shared.data()["root"], "--iters", "1"))


@case("predict_missing_image_path", "cli", 0, user_error("no_such_images"))
def _predict_missing(ctx: Ctx) -> Run:
    """tools/predict.py --image_path that does not exist: one line naming it."""
    return predict_run(ctx, ctx.path("no_such_images"))
