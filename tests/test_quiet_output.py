"""What a user sees around the results (issue 14): Paddle's known-harmless noise is gone from real
script runs, a real warning still shows, progress is plain lines (no carriage returns) when
redirected, the logger writes no colour codes to a file, and training says what it prepares before
the first step."""
import io
import os
import re
import subprocess
import sys
import warnings

import pytest

from paddleseg.utils import logger, progress, quiet

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
QUICKSTART = os.path.join(REPO, "configs", "quickstart", "encnet_resnet18_synthetic.yml")
BN_WARNING = "When training, we now always track global mean and variance."
# Known-harmless output measured in real runs before the fix (issue 14).
KNOWN_NOISE = ("When training, we now always track", "eager_utils.cc", "New Executor is Running",
               "pir interpreter is running", "Skip loading for", "No ccache found")


def _run(args, timeout=300, env=None, merged=False):
    """Run a script the way a user redirecting its output to a file does: no terminal anywhere
    (``merged``: stderr into stdout, in the order written, as ``script > log 2>&1``)."""
    unset = ("GLOG_minloglevel", "GLOG_v", quiet.SHOW_ALL_ENV)
    run_env = {k: v for k, v in os.environ.items() if k not in unset}
    run_env.update(env or {})
    err = subprocess.STDOUT if merged else subprocess.PIPE
    return subprocess.run([sys.executable, *args], cwd=REPO, stdout=subprocess.PIPE, stderr=err,
                          text=True, timeout=timeout, env=run_env, stdin=subprocess.DEVNULL)


def _assert_no_noise(text):
    for noise in KNOWN_NOISE:
        assert noise not in text, f"{noise!r} still printed:\n{text[-3000:]}"


@pytest.mark.timeout(300)
def test_train_run_is_quiet_says_what_it_prepares_and_logs_eval_progress_plainly(
        synthetic_cityscapes, tmp_path):
    run = _run(["train.py", "--config", QUICKSTART, "--save_dir", str(tmp_path / "out"),
                "--iters", "2",
                "--batch_size", "2", "--save_interval", "2", "--do_eval", "--num_workers", "0",
                "--num_threads", "1", "--device", "cpu", "--seed", "0", "--opts",
                f"train_dataset.dataset_root={synthetic_cityscapes}",
                f"val_dataset.dataset_root={synthetic_cityscapes}",
                "train_dataset.transforms.1.crop_size=[32,32]"])
    assert run.returncode == 0, run.stderr[-3000:]
    _assert_no_noise(run.stdout + run.stderr)
    assert run.stderr.strip() == "", run.stderr
    out = run.stdout
    assert "\r" not in out and "\x1b" not in out
    lines = out.splitlines()
    assert "Preparing training from" in lines[0]                # before Paddle is even imported
    assert any("Checking up to 100 training image/label pairs" in line for line in lines)
    assert any("Iteration 1 done in" in line for line in lines)  # long before a [TRAIN] line
    eval_lines = [line for line in lines if "] eval: " in line or "]\teval: " in line]
    assert eval_lines and "3/3 img (100%)" in eval_lines[-1], out
    report = [line for line in lines if "[EVAL] #Images" in line]
    assert len(report) == 1 and report[0].startswith("20"), report   # its own line, timestamp first


@pytest.mark.timeout(300)
def test_export_run_has_no_glog_noise(encnet_checkpoint, synthetic_cityscapes, tmp_path):
    run = _run(["export.py", "--config", QUICKSTART, "--model_path",
                os.path.join(encnet_checkpoint, "iter_2", "model.pdparams"),
                "--save_dir", str(tmp_path / "exp"),
                "--verify_shapes", "32", "64", "--num_threads", "1", "--device", "cpu", "--opts",
                f"val_dataset.dataset_root={synthetic_cityscapes}"])
    assert run.returncode == 0, run.stderr[-3000:]
    _assert_no_noise(run.stdout + run.stderr)
    assert run.stderr.strip() == "", run.stderr
    assert "Export check passed" in run.stdout


# Each script with a config that does not exist: it fails fast with a one-line error, after the
# line that must come before its slow imports.
_MISSING = ["--config", "missing/config.yml", "--num_threads", "1", "--device", "cpu"]
PREPARING_RUNS = [
    ("val.py", ["--model_path", "missing/model.pdparams"], "Preparing evaluation of"),
    ("export.py", ["--model_path", "missing/model.pdparams"], "Preparing export of"),
    ("tools/predict.py", ["--model_path", "missing/model.pdparams", "--image_path", "README.md"],
     "Preparing prediction of"),
    ("tools/infer.py", ["--image_path", "README.md"], "Preparing inference of"),
]


@pytest.mark.timeout(120)
@pytest.mark.parametrize("script, args, expected", PREPARING_RUNS,
                         ids=[run[0] for run in PREPARING_RUNS])
def test_a_redirected_script_says_what_it_prepares_before_importing_paddle(script, args, expected):
    # -X importtime writes a stderr line as each module finishes importing: merged with the log
    # (stdout, flushed at each line), it shows what ran before the "Preparing" line.
    run = _run(["-X", "importtime", script, *_MISSING, *args], timeout=120, merged=True)
    lines = run.stdout.splitlines()
    said = [i for i, line in enumerate(lines) if not line.startswith("import time:")]
    assert said and expected in lines[said[0]], run.stdout[-3000:]   # the script's first line
    imported = {i: line.rsplit("|", 1)[-1].strip() for i, line in enumerate(lines)
                if line.startswith("import time:")}
    slow = [i for i, name in imported.items() if name in ("paddle", "cv2")]
    assert slow and min(slow) > said[0], "Paddle or OpenCV imported before the first log line"
    assert "error: " in lines[said[-1]] and run.returncode in (1, 2), run.stdout[-3000:]


REAL_WARNINGS_SCRIPT = """
import warnings
from paddleseg.utils.cli import run_cli

def main(argv=None):
    import paddle
    bn = paddle.nn.BatchNorm2D(2)
    bn.train()
    bn(paddle.ones([2, 2, 2, 2]))                                      # Paddle's harmless warning
    warnings.warn("our real warning: check your labels")               # ours: must show
    warnings.warn_explicit("a Paddle warning not on the list", UserWarning, "paddle/x.py", 1,
                           module="paddle.x")                 # Paddle's, not listed: must show

run_cli(main)
"""


@pytest.mark.timeout(120)
def test_real_warnings_still_show_through_the_entry_point():
    run = _run(["-c", REAL_WARNINGS_SCRIPT], timeout=120)
    assert run.returncode == 0, run.stderr
    assert "our real warning: check your labels" in run.stderr
    assert "a Paddle warning not on the list" in run.stderr
    assert "always track global mean" not in run.stderr
    # and everything shows when asked for
    loud = _run(["-c", REAL_WARNINGS_SCRIPT], timeout=120, env={quiet.SHOW_ALL_ENV: "1"})
    assert "always track global mean" in loud.stderr and "our real warning" in loud.stderr


TO_STATIC_SCRIPT = """
import sys, warnings
from paddleseg.utils.cli import run_cli

def main(argv=None):
    import paddle
    from tiny_training import TinyData, TinyNet, build_trainer
    from paddleseg.models.losses import CrossEntropyLoss, MultiOutputLoss

    class Net(TinyNet):
        def forward(self, x):
            x = paddle.add(x, paddle.zeros_like(x))   # traced: Paddle's eager_utils.cc WARNING
            x.place                                    # traced: Paddle's 'place' UserWarning
            warnings.warn("the user's model warns while it is traced")    # ours: must show
            return super().forward(x)

    paddle.set_device("cpu")
    paddle.seed(0)
    model = Net()
    opt = paddle.optimizer.SGD(learning_rate=0.1, parameters=model.parameters())
    build_trainer(model, TinyData(n=4), opt, MultiOutputLoss([CrossEntropyLoss()], [1.0]),
                  sys.argv[1], iters=3, batch_size=2, log_iters=1, seed=0, to_static=True).run()

run_cli(main)
"""


@pytest.mark.timeout(180)
def test_to_static_training_hides_only_the_known_tracing_noise(tmp_path):
    listed = ([re.compile(pattern) for pattern, _ in quiet.HARMLESS_NATIVE]
              + [re.compile(message) for _, message, _ in quiet.HARMLESS_WHILE_TRACING])
    # tests/ on the path for tiny_training
    env = {"PYTHONPATH": os.pathsep.join([os.path.join(REPO, "tests"), REPO])}
    args = ["-c", TO_STATIC_SCRIPT, str(tmp_path / "quiet")]
    run = _run(args, timeout=180, env=env)
    assert run.returncode == 0, run.stderr[-3000:]
    assert [p.pattern for p in listed if p.search(run.stderr)] == [], run.stderr
    assert "the user's model warns while it is traced" in run.stderr
    assert "iter: 3/3" in run.stdout
    # the model does trigger Paddle's lines: they show when everything is asked for
    args[2] = str(tmp_path / "loud")
    loud = _run(args, timeout=180, env={**env, quiet.SHOW_ALL_ENV: "1"})
    assert "eager_utils.cc" in loud.stderr and "'place' interface" in loud.stderr, loud.stderr


def test_harmless_filters_are_precise():
    with warnings.catch_warnings(record=True) as seen:
        warnings.resetwarnings()
        warnings.simplefilter("always")
        quiet.ignore_harmless_warnings()
        warnings.warn(BN_WARNING, UserWarning)
        warnings.warn("No ccache found. Please be aware ...", UserWarning)
        warnings.warn("When training, the learning rate is NaN", UserWarning)  # same start
        warnings.warn(BN_WARNING, RuntimeWarning)                               # other kind
    assert [(w.category, str(w.message)) for w in seen] == [
        (UserWarning, "When training, the learning rate is NaN"), (RuntimeWarning, BN_WARNING)]


def test_native_stderr_filter_drops_only_listed_lines(capfd):
    harmless = ("W1202 00:31:00.208858 32477 eager_utils.cc:3584] Paddle static graph(PIR) not "
                "support input out tensor for now!!!!!\n")
    real = "W1202 00:31:00.300000 32477 some_op.cc:12] a real native warning\n"
    with quiet.filter_native_stderr():
        os.write(2, harmless.encode())
        os.write(2, real.encode())
    with pytest.raises(ValueError):
        with quiet.filter_native_stderr():
            os.write(2, b"written before a failure\n")
            raise ValueError("boom")
    err = capfd.readouterr().err
    assert "eager_utils" not in err
    assert real in err and "written before a failure" in err


@pytest.mark.timeout(60)
def test_native_stderr_filter_passes_lines_on_at_once_so_a_crash_keeps_them():
    # The lines before a native crash (an abort in C++) must reach stderr while the block runs, not
    # when it ends: the process never gets there. The child aborts only once the parent saw the line.
    code = ("import os, sys\nfrom paddleseg.utils import quiet\nwith quiet.filter_native_stderr():\n"
            "    os.write(2, b'last words before the crash\\n')\n    sys.stdin.readline()\n"
            "    os.abort()\n")
    child = subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.PIPE,
                             stderr=subprocess.PIPE)
    try:
        assert child.stderr.readline() == b"last words before the crash\n"
        child.stdin.write(b"go\n")
        child.stdin.flush()
        assert child.wait(timeout=30) != 0
    finally:
        child.kill()
        child.wait()


def test_glog_info_level_set_only_when_the_user_did_not(monkeypatch):
    monkeypatch.delenv("GLOG_minloglevel", raising=False)
    monkeypatch.delenv("GLOG_v", raising=False)
    quiet.quiet_native_info()
    assert os.environ["GLOG_minloglevel"] == "1"    # INFO off; WARNING and above still print
    monkeypatch.setenv("GLOG_minloglevel", "0")
    quiet.quiet_native_info()
    assert os.environ["GLOG_minloglevel"] == "0"


def test_progress_without_a_terminal_prints_plain_lines(monkeypatch, capsys):
    monkeypatch.setattr(sys, "stderr", io.StringIO())   # not a TTY
    bar = progress.progress(100, "eval")
    assert isinstance(bar, progress.PlainProgress)
    for _ in range(100):
        bar.update()
    bar.close()
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert len(lines) == 10 and "\r" not in out
    assert "eval: 10/100 img (10%)" in lines[0] and "img/s" in lines[0] and "ETA" in lines[0]
    assert "eval: 100/100 img (100%)" in lines[-1] and "done in" in lines[-1]
    assert list(progress.track(["a", "b"], "predict")) == ["a", "b"]
    assert "predict: 2/2 img (100%)" in capsys.readouterr().out


def test_progress_on_a_terminal_is_a_bar_and_can_be_off(monkeypatch, capsys):
    class Tty(io.StringIO):
        def isatty(self):
            return True

    monkeypatch.setattr(sys, "stderr", Tty())
    bar = progress.progress(3, "eval")
    assert type(bar).__name__ == "tqdm"
    bar.close()
    silent = progress.progress(3, "eval", enabled=False)
    silent.update(3)
    silent.close()
    assert capsys.readouterr().out == ""


def test_logger_writes_no_colour_codes_to_a_file(tmp_path, monkeypatch):
    path = tmp_path / "log.txt"
    with open(path, "w") as f:
        monkeypatch.setattr(sys, "stdout", f)
        monkeypatch.setattr(sys, "stderr", f)
        logger.info("an info line")
        logger.warning("a warning line")
        logger.error("an error line")
    text = path.read_text()
    assert "a warning line" in text and "\x1b" not in text
