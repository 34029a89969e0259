"""CLI conventions (issue 13, items 6 and 7): fast --help without Paddle, one set of runtime flags,
old spellings kept as aliases, no sys.path edits in the code."""
import glob
import os
import re
import subprocess
import sys
import time

import pytest

from paddleseg.utils.cli import RUNTIME_FLAGS

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SCRIPTS = ["train.py", "val.py", "export.py"] + sorted(
    os.path.relpath(p, REPO) for pattern in ("tools/*.py", "benchmarks/*.py")
    for p in glob.glob(os.path.join(REPO, pattern)) if not p.endswith("__init__.py"))
# Scripts that run a model: they all take the shared runtime flags.
MODEL_SCRIPTS = ["train.py", "val.py", "export.py", "tools/predict.py", "tools/infer.py",
                 "benchmarks/deploy_accuracy.py", "benchmarks/deploy_speed.py",
                 "benchmarks/encoding_bench.py", "benchmarks/model_speed.py", "benchmarks/train_benchmark.py",
                 "benchmarks/train_speed.py", "benchmarks/val_speed.py"]
RUNTIME_HEADER = "runtime (the same on every script):"


def _help(script: str) -> subprocess.CompletedProcess:
    # -X importtime lists every module imported, on stderr; a fixed width makes help texts comparable.
    env = dict(os.environ, COLUMNS="100")
    return subprocess.run([sys.executable, "-X", "importtime", script, "--help"], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=60)


@pytest.mark.timeout(300)
@pytest.mark.parametrize("script", SCRIPTS)
def test_help_is_fast_and_does_not_import_paddle(script):
    start = time.perf_counter()
    run = _help(script)
    seconds = time.perf_counter() - start
    assert run.returncode == 0, run.stderr[-2000:]
    assert "usage:" in run.stdout
    if script != "benchmarks/fault_catalogue.py":  # a test harness, not a user's script
        assert "--debug" in run.stdout
    paddle_modules = re.findall(r"\|\s+(paddle(?:\.\S+)?)\s*$", run.stderr, flags=re.M)
    assert not paddle_modules, f"{script} --help imported {paddle_modules[:5]}"
    assert seconds < 3, f"{script} --help took {seconds:.1f} s"


def _runtime_section(help_text: str) -> str:
    section = help_text.split(RUNTIME_HEADER, 1)[1]
    return section.split("\n\n", 1)[0].strip()


def test_runtime_flags_are_the_same_on_every_model_script():
    sections = {script: _runtime_section(_help(script).stdout) for script in MODEL_SCRIPTS}
    first = sections["train.py"]
    for flag in RUNTIME_FLAGS + ("--cpu_threads", "--threads", "(default: auto)"):
        assert flag in first
    different = [script for script, text in sections.items() if text != first]
    assert not different, f"runtime flags differ from train.py's on {different}"


def test_no_sys_path_edits_in_the_code():
    edits = ("sys.path." + "insert", "sys.path." + "append")  # spelled apart so this file passes too
    found = []
    for folder in ("paddleseg", "tools", "benchmarks", "tests"):
        for path in glob.glob(os.path.join(REPO, folder, "**", "*.py"), recursive=True):
            with open(path, encoding="utf-8") as f:
                text = f.read()
            found += [f"{os.path.relpath(path, REPO)}: {edit}" for edit in edits if edit in text]
    assert not found


def test_tipc_and_old_spellings_are_aliases():
    from tools.infer import parse_args as infer_args
    args = infer_args(["--config", "d.yaml", "--image_path", "x.png", "--cpu_threads", "2", "--enable_mkldnn", "False",
                       "--save_log_path", "log.json", "--benchmark", "True"])
    assert (args.num_threads, args.onednn, args.out, args.benchmark, args.device) == (2, False, "log.json", True, "auto")
    args = infer_args(["--deploy_config", "d.yaml", "--image_path", "x.png", "--no_onednn", "--threads", "3"])
    assert (args.config, args.onednn, args.num_threads) == ("d.yaml", False, 3)
    assert infer_args(["--config", "d.yaml", "--image_path", "x.png"]).onednn is True

    import val
    args = val.parse_args(["--config", "c.yml", "--model_path", "m", "--save_metrics", "m.json", "--cpu_threads", "1"])
    assert (args.out, args.num_threads, args.num_workers) == ("m.json", 1, 0)


def test_export_has_no_num_workers(capsys):
    import export
    with pytest.raises(SystemExit) as exit_info:
        export.parse_args(["--config", "c.yml", "--num_workers", "2"])
    assert exit_info.value.code == 2
    assert "unrecognized arguments: --num_workers" in capsys.readouterr().err


def test_every_flag_is_documented_with_its_default():
    # In a subprocess: capture each script's parser(s) instead of parsing, then list undocumented flags.
    code = r'''
import argparse, json, runpy, sys
from paddleseg.utils.cli import HelpFormatter
parsers = []
def capture(self, args=None, namespace=None):
    parsers.append(self)
    raise SystemExit(0)
argparse.ArgumentParser.parse_args = capture
sys.argv = [sys.argv[1]]
try:
    runpy.run_path(sys.argv[0], run_name="__main__")
except SystemExit:
    pass
bad = []
for p in parsers:
    fmt = p._get_formatter()
    if not isinstance(fmt, HelpFormatter):
        bad.append(f"{p.prog}: formatter {type(fmt).__name__}")
    for a in p._actions:
        if not a.option_strings or a.help == argparse.SUPPRESS or a.dest == "help":
            continue
        text = fmt._get_help_string(a) if isinstance(fmt, HelpFormatter) else (a.help or "")
        if not a.required and "default" not in text.lower():
            bad.append(f"{a.option_strings[0]}: {text!r}")
print(json.dumps({"parsers": len(parsers), "bad": bad}))
'''
    import json
    for script in SCRIPTS:
        env = dict(os.environ, PYTHONPATH=os.pathsep.join([REPO, os.path.join(REPO, os.path.dirname(script))]))
        run = subprocess.run([sys.executable, "-c", code, script], cwd=REPO, env=env, capture_output=True,
                             text=True, timeout=60)
        assert run.returncode == 0, run.stderr[-2000:]
        result = json.loads(run.stdout.strip().splitlines()[-1])
        assert result["parsers"] >= 1, script
        assert not result["bad"], f"{script}: {result['bad']}"
