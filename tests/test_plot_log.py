"""tools/plot_log.py reads the trainer's JSON-lines log and draws the curves; the confusion matrix
picture. Both are figure objects (paddleseg.utils.figure) whose labels the tests read back."""
import json
import os
import shutil

import cv2
import numpy as np
import pytest

from paddleseg.utils.confusion_report import confusion_figure, render_confusion_png
from paddleseg.utils.errors import UsageError, UserError
from paddleseg.utils.figure_render import heatmap_layout
from tools import plot_log

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
QUICKSTART = os.path.join(REPO, "configs", "quickstart", "encnet_resnet18_synthetic.yml")
BASE = os.path.join(REPO, "configs", "_base_")


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


def _write_log(path, iters, evals=()):
    entries = [{"iter": i, "loss": 3.0 / i, "losses": [2.0 / i, 0.6 / i, 0.4 / i]} for i in iters]
    entries += [{"iter": i, "eval_mIoU": 0.5} for i in evals]
    path.write_text("\n".join(json.dumps(e) for e in entries) + "\n")
    return str(path)


def test_figures_name_losses_from_the_config_and_fix_the_axes(tmp_path):
    log = _write_log(tmp_path / "train_log.jsonl", range(10, 301, 10), evals=[300])
    loss, miou = plot_log.figures(plot_log.read_log(log), config=QUICKSTART)
    assert loss.legend == ["total loss", "CrossEntropyLoss x1.0", "CrossEntropyLoss x0.4",
                           "SECrossEntropyLoss x0.2"]
    assert (loss.title, loss.x.label, loss.y.label) == ("Training loss", "iteration", "loss")
    assert (miou.title, miou.x.label, miou.y.label) == ("Evaluation mIoU", "iteration", "mIoU")
    assert miou.legend == ["val mIoU"] and miou.y.limits == (0.0, 1.0)
    assert miou.y.tick_labels[0] == "0.0" and miou.y.tick_labels[-1] == "1.0"
    assert miou.series[0].markers and miou.series[0].points == [(300, 0.5)]
    assert loss.x == miou.x                          # one iteration axis for both charts
    lo, hi = loss.y.limits
    assert lo <= 0.01 and hi >= 0.3 and all(lo <= v <= hi for v, _ in loss.y.ticks)
    # without a config: numbered, as before
    assert plot_log.figures(plot_log.read_log(log))[0].legend[1:] == ["loss_0", "loss_1", "loss_2"]


@pytest.mark.parametrize("iters", [[300], [1], [1, 2], list(range(1, 1001)),
                                   list(range(79000, 80001, 50))])
def test_iteration_ticks_are_distinct_integers_around_the_points(tmp_path, iters):
    log = _write_log(tmp_path / "train_log.jsonl", iters, evals=[iters[-1]])
    for fig in plot_log.figures(plot_log.read_log(log)):
        values = [v for v, _ in fig.x.ticks]
        labels = fig.x.tick_labels
        assert 2 <= len(labels) <= 8 and len(set(labels)) == len(labels), labels
        assert all(v == int(v) and str(int(v)) == text for v, text in fig.x.ticks)
        lo, hi = fig.x.limits
        assert lo < min(iters) and max(iters) < hi and lo <= values[0] and values[-1] <= hi


def test_config_saved_with_the_run_names_the_losses_and_png_has_the_size(tmp_path):
    log = _write_log(tmp_path / "train_log.jsonl", [1, 2, 3], evals=[3])
    shutil.copy(QUICKSTART, tmp_path / "config.yml")
    saved = tmp_path / "config.yml"
    saved.write_text(saved.read_text().replace("../_base_/", BASE + "/"))
    assert plot_log.find_config(log, None) == str(tmp_path / "config.yml")
    out = plot_log.main([log, "--out", str(tmp_path / "curves.png")])
    assert cv2.imread(out).shape == (720, 640, 3)
    loss = plot_log.figures(plot_log.read_log(log), plot_log.find_config(log, None))[0]
    assert loss.legend[1] == "CrossEntropyLoss x1.0"
    two = tmp_path / "two.yml"
    two.write_text(f"_base_: {QUICKSTART}\n"
                   "loss: {types: [{type: CrossEntropyLoss}], coef: [1]}\n")
    with pytest.raises(UsageError, match=r"two.yml defines 1 losses .* log has 3 per-output"):
        plot_log.main([log, "--config", str(two)])


def test_confusion_matrix_picture_explains_itself(tmp_path):
    names = ["road", "sidewalk", "traffic light"]
    cm = np.array([[8, 2, 0], [1, 3, 0], [0, 0, 0]])
    fig = confusion_figure(cm, names)
    assert fig.title.startswith("Confusion matrix")
    assert (fig.y.label, fig.x.label) == ("Ground truth class", "Predicted class")
    assert fig.x.tick_labels == fig.y.tick_labels == names
    assert fig.colorbar.limits == (0.0, 1.0)
    assert fig.colorbar.tick_labels == ["0.0", "0.2", "0.4", "0.6", "0.8", "1.0"]
    assert fig.legend == ["Share of the row's pixels"]
    np.testing.assert_allclose(fig.values[0], [0.8, 0.2, 0.0])
    assert fig.annotations == {(0, 0): "80", (1, 1): "75"}          # no text for the absent class
    path = render_confusion_png(cm, names, str(tmp_path / "cm.png"))
    layout = heatmap_layout(fig)
    assert cv2.imread(path).shape == (layout["height"], layout["width"], 3)
    assert layout["width"] > layout["grid_x"] + layout["grid_w"] + 30      # room for the colour bar


def test_a_log_ending_in_a_nan_loss_still_draws(tmp_path):
    log = tmp_path / "train_log.jsonl"
    log.write_text('{"iter": 1, "loss": 2.0}\n{"iter": 2, "loss": NaN}\n')
    loss = plot_log.figures(plot_log.read_log(str(log)))[0]
    assert loss.y.limits[0] <= 2.0 <= loss.y.limits[1]
    out = plot_log.main([str(log), "--out", str(tmp_path / "c.png")])
    assert cv2.imread(out).shape == (360, 640, 3)


def test_loss_names_read_paddleseg_shorthand_one_type_for_several_outputs(tmp_path):
    # One loss type with several coefficients is valid PaddleSeg (the builder expands it).
    cfg = tmp_path / "shorthand.yml"
    cfg.write_text("loss:\n  types:\n    - type: CrossEntropyLoss\n  coef: [1, 0.4, 0.4]\n")
    assert plot_log.loss_names(str(cfg), 3) == [
        "CrossEntropyLoss x1.0", "CrossEntropyLoss x0.4 (output 1)", "CrossEntropyLoss x0.4 (output 2)"]
    with pytest.raises(UsageError, match="3 losses.*the log has 2"):
        plot_log.loss_names(str(cfg), 2)
