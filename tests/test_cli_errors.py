"""run_cli: expected errors are one line with exit 2 (usage) or 1 (runtime); bugs keep their traceback."""
import os
import signal
import subprocess
import sys

import pytest

from paddleseg.utils.cli import debug_requested, run_cli
from paddleseg.utils.errors import DataError, UsageError

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _exit(main, capsys, argv=None):
    with pytest.raises(SystemExit) as e:
        run_cli(main, argv or [])
    return e.value.code, capsys.readouterr().err


def test_usage_error_is_one_line_exit_2(capsys, monkeypatch):
    monkeypatch.delenv("PADDLESEG_DEBUG", raising=False)

    def main(argv):
        raise UsageError("--batch_size must be >= 1, got 0")
    code, err = _exit(main, capsys)
    assert code == 2
    assert err.strip().endswith("error: --batch_size must be >= 1, got 0")
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1


def test_runtime_user_error_exit_1(capsys, monkeypatch):
    monkeypatch.delenv("PADDLESEG_DEBUG", raising=False)

    def main(argv):
        raise DataError("a.png: truncated")
    code, err = _exit(main, capsys)
    assert code == 1 and "a.png: truncated" in err and "Traceback" not in err


def test_debug_shows_the_traceback(monkeypatch):
    def main(argv):
        raise UsageError("bad")
    with pytest.raises(UsageError):
        run_cli(main, ["--debug"])
    monkeypatch.setenv("PADDLESEG_DEBUG", "1")
    assert debug_requested([])
    with pytest.raises(UsageError):
        run_cli(main, [])
    monkeypatch.setenv("PADDLESEG_DEBUG", "0")
    assert not debug_requested([])


def test_internal_error_keeps_its_traceback(monkeypatch):
    monkeypatch.delenv("PADDLESEG_DEBUG", raising=False)

    def main(argv):
        raise KeyError("bug")
    with pytest.raises(KeyError):
        run_cli(main, [])


def test_config_error_from_train_py_is_one_line(tmp_path):
    cfg = tmp_path / "bad.yml"
    cfg.write_text("model: {type: ENCNet, num_code: 3, backbone: {type: ResNet18_vd}}\n")
    run = subprocess.run([sys.executable, "train.py", "--config", str(cfg)], capture_output=True, text=True,
                         timeout=120, cwd=REPO)
    assert run.returncode == 2, run.stderr
    assert "Traceback" not in run.stderr
    assert "error:" in run.stderr and str(cfg) in run.stderr


@pytest.mark.timeout(120)
def test_sigterm_outside_training_is_one_line_and_exit_143():
    # Paddle installs a C handler that prints a stack dump on SIGTERM; setup_runtime replaces it.
    script = ("import time\n"
              "from paddleseg.utils.cli import run_cli\n"
              "def main(argv):\n"
              "    from paddleseg.utils.runtime import setup_runtime\n"
              "    setup_runtime('cpu', 1)\n"
              "    print('ready', flush=True)\n"
              "    time.sleep(60)\n"
              "run_cli(main)\n")
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, cwd=REPO)
    while "ready" not in proc.stdout.readline():
        pass
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 143, err
    assert "terminated (SIGTERM)" in err
    assert "Traceback" not in err and "Termination signal" not in err


def test_missing_or_non_utf8_config_is_a_config_error(tmp_path):
    from paddleseg.cvlibs import Config, ConfigError
    with pytest.raises(ConfigError, match="nope.yml does not exist") as e:
        Config(str(tmp_path / "nope.yml"))
    assert isinstance(e.value, FileNotFoundError)       # what PaddleSeg-era callers catch
    cfg = tmp_path / "latin1.yml"
    cfg.write_bytes("batch_size: 2\n# caf\xe9\n".encode("latin-1"))
    with pytest.raises(ConfigError, match=r"latin1.yml:2: not UTF-8 \(byte 0xe9 at column 6\); save the config as UTF-8"):
        Config(str(cfg))


def test_a_runtime_failure_inside_a_constructor_keeps_its_exit_status():
    from paddleseg.cvlibs import ComponentBuildError
    from paddleseg.cvlibs.builder import SegBuilder
    from paddleseg.utils.errors import CheckpointError

    class Builder(SegBuilder):
        def __init__(self):
            pass

        def load_component_class(self, type_name, key_path):
            def failing(**kwargs):
                raise CheckpointError("download of https://x/y.pdparams failed")
            return failing

        def source_of(self, key_path):
            return "cfg.yml"

    with pytest.raises(ComponentBuildError) as e:
        Builder().build_component({"type": "Failing"}, "model")
    assert e.value.exit_code == 1 and "https://x/y.pdparams" in str(e.value)
