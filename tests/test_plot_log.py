"""tools/plot_log.py reads the trainer's JSON-lines log and draws the curves."""
import json

import cv2
import pytest

from paddleseg.utils.errors import UsageError, UserError
from tools import plot_log


def test_reads_series_and_writes_png(tmp_path):
    log = tmp_path / "train_log.jsonl"
    entries = [{"iter": i, "loss": 2.0 / i, "losses": [1.5 / i, 0.5 / i]} for i in range(1, 6)]
    entries.append({"iter": 5, "eval_mIoU": 0.4})
    log.write_text("\n".join(json.dumps(e) for e in entries) + "\n")
    series = plot_log.read_log(str(log))
    assert series["loss"][0] == (1, 2.0) and len(series["loss_1"]) == 5 and series["mIoU"] == [(5, 0.4)]
    out = plot_log.main([str(log), "--out", str(tmp_path / "c.png")])
    img = cv2.imread(out)
    assert img.shape[0] == 720 and (img < 250).any()   # two panels with something drawn


def test_bad_logs_are_named(tmp_path):
    with pytest.raises(UsageError, match="does not exist"):
        plot_log.read_log(str(tmp_path / "missing.jsonl"))
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"iter": 1, "loss": 1.0}\nnot json\n')
    with pytest.raises(UserError, match="bad.jsonl:2"):
        plot_log.read_log(str(bad))


def test_repeated_iterations_keep_the_last_value_in_order(tmp_path):
    log = tmp_path / "train_log.jsonl"
    iters = [1, 2, 3, 4, 2, 3, 4, 5]            # an old log: resumed from iter 1 without trimming
    log.write_text("\n".join(json.dumps({"iter": it, "loss": float(n)}) for n, it in enumerate(iters)) + "\n")
    assert plot_log.read_log(str(log))["loss"] == [(1, 0.0), (2, 4.0), (3, 5.0), (4, 6.0), (5, 7.0)]
