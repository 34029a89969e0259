"""The README's "after the quickstart" commands run as written, on the quickstart's paths."""
import os
import re
import shutil
import subprocess
import sys

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MARKER = "Then, with the quickstart's own paths"


def followup_block() -> str:
    with open(os.path.join(REPO, "README.md"), encoding="utf-8") as f:
        text = f.read()
    assert MARKER in text, "the README lost its follow-up commands"
    return re.search(r"```bash\n(.*?)```", text[text.index(MARKER):], flags=re.S).group(1)


@pytest.mark.e2e
@pytest.mark.timeout(600)
def test_readme_followup_commands_run_on_the_quickstart_paths(tmp_path, synthetic_cityscapes, encnet_checkpoint):
    for name in os.listdir(REPO):            # a checkout whose data/ and output/ are this test's own
        if not name.startswith(".") and name not in ("data", "output"):
            os.symlink(os.path.join(REPO, name), tmp_path / name)
    (tmp_path / "data").mkdir()
    os.symlink(synthetic_cityscapes, tmp_path / "data" / "synthetic_cityscapes")
    run = tmp_path / "output" / "quickstart"
    (run / "best_model").mkdir(parents=True)
    shutil.copy(os.path.join(encnet_checkpoint, "iter_2", "model.pdparams"), run / "best_model")
    shutil.copy(os.path.join(encnet_checkpoint, "train_log.jsonl"), run)

    bin_dir = os.path.dirname(sys.executable)     # `python` in the block is this interpreter
    env = dict(os.environ, PATH=bin_dir + os.pathsep + os.environ["PATH"], CPU_NUM="1", OMP_NUM_THREADS="1")
    done = subprocess.run(["bash", "-euo", "pipefail", "-c", followup_block()], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=540)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert (run / "predict" / "pseudo_color_prediction" / "frankfurt_000000_000000_leftImg8bit.png").is_file()
    assert (run / "export" / "deploy.yaml").is_file()
    assert len(list((run / "infer").rglob("*.png"))) >= 3
    assert (run / "curves.png").is_file()
