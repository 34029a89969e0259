"""docs/architecture.md's worked example (a model, a loss, a dataset and a hook) runs as written."""
import os
import re

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DOC = os.path.join(REPO, "docs", "architecture.md")


def python_blocks(path: str) -> list:
    with open(path, encoding="utf-8") as f:
        return re.findall(r"```python\n(.*?)```", f.read(), flags=re.S)


@pytest.mark.timeout(300)
def test_the_worked_example_trains_evaluates_and_checkpoints(tmp_path, monkeypatch):
    blocks = python_blocks(DOC)
    assert len(blocks) == 5      # model, loss, dataset, config, hook
    monkeypatch.chdir(tmp_path)
    namespace = {"__name__": "architecture_doc"}
    for block in blocks:
        exec(compile(block, DOC, "exec"), namespace)
    history, summary = namespace["history"], namespace["summary"]
    assert len(history.losses) == 6 and history.losses[-1] < history.losses[0]   # the hook saw every step
    assert summary["iter"] == 6 and summary["best_miou"] > 0
    assert (tmp_path / "doc_run" / "iter_6" / "model.pdparams").is_file()
    assert (tmp_path / "doc_run" / "best_model" / "model.pdparams").is_file()
