"""docs/custom_dataset.md runs as written (issue 14, item 6): its commands are read out of the
markdown and run on generated data laid out like a real custom dataset (tests/custom_data.py), in
order: make lists -> convert colour masks -> check labels -> train 2 iterations -> val. The
outputs and error messages the guide quotes are produced again and must appear in it verbatim."""
import os
import re
import shlex
import shutil
import subprocess
import sys

import cv2
import numpy as np
import pytest

from custom_data import CONFIG, make_custom_dataset
from paddleseg.utils.errors import UserError

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DOC = os.path.join(REPO, "docs", "custom_dataset.md")
CFG = "configs/custom/encnet_resnet18_custom.yml"   # as the guide spells it (cwd: the workspace)
OFFLINE = ["--opts", "model.backbone.pretrained=null"]   # the test machine has no network
# What the test adds to the guide's commands: a short run on one thread, offline.
SHORT = {"train.py": ["--iters", "2", "--batch_size", "2", "--save_interval", "2",
                      "--num_threads", "1", *OFFLINE,
                      "train_dataset.transforms.1.crop_size=[64,64]"],
         "val.py": ["--num_threads", "1", *OFFLINE]}


def doc_text() -> str:
    with open(DOC, encoding="utf-8") as f:
        return f.read()


def doc_blocks() -> list:
    """(language, text) of every fenced block, in order."""
    return re.findall(r"```(\w+)\n(.*?)```", doc_text(), flags=re.S)


def commands(block: str) -> list:
    """The command lines of a bash block (continuations joined, comments dropped) as argv lists."""
    lines = block.replace("\\\n", " ").splitlines()
    return [shlex.split(line) for line in lines
            if line.strip() and not line.lstrip().startswith("#")]


def make_workspace(root) -> str:
    """A folder with the repository's scripts and configs (symlinks) and the generated datasets."""
    for name in ("train.py", "val.py", "tools", "configs"):
        os.symlink(os.path.join(REPO, name), os.path.join(root, name))
    make_custom_dataset(os.path.join(root, "data", "my_dataset"))
    make_custom_dataset(os.path.join(root, "data", "my_rgb_dataset"), colour=True)
    return str(root)


def run_command(argv: list, cwd: str) -> subprocess.CompletedProcess:
    assert argv[0] == "python", argv
    full = [sys.executable, *argv[1:], *SHORT.get(argv[1], [])]
    run = subprocess.run(full, cwd=cwd, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, \
        f"{shlex.join(argv)} failed:\n{run.stdout[-2000:]}\n{run.stderr[-3000:]}"
    return run


def run_the_guide(work: str, monkeypatch) -> dict:
    """Every bash command (in a subprocess) and python block (here), in the guide's order;
    returns script -> output of its last run."""
    text, outputs = doc_text(), {}
    for lang, block in doc_blocks():
        if lang == "python":
            monkeypatch.chdir(work)
            exec(compile(block, DOC, "exec"), {"__name__": "custom_dataset_doc"})
        for argv in commands(block) if lang == "bash" else []:
            run = run_command(argv, work)
            outputs[argv[1]] = run.stdout + run.stderr
            if argv[1].startswith("tools/"):   # the guide shows what these print: the real lines
                for line in (run.stdout + run.stderr).splitlines():
                    assert line in text, f"{argv[1]} printed a line the guide lacks: {line!r}"
    return outputs


@pytest.mark.e2e
@pytest.mark.timeout(900)
def test_the_guide_runs_as_written(tmp_path, monkeypatch):
    work = make_workspace(tmp_path)
    assert [lang for lang, _ in doc_blocks() if lang in ("bash", "python")] == \
        ["bash", "bash", "python", "bash"]
    outputs = run_the_guide(work, monkeypatch)
    # The evaluation reports the config's class names; void (11) is no class of its own.
    assert "mIoU" in outputs["val.py"] and re.search(r"^sky\s", outputs["val.py"], flags=re.M)
    data = os.path.join(work, "data")
    # The colour-coded variant converts back to exactly the class ids (void 11 included).
    for site, index in (("site_a", 0), ("site_b", 7)):
        ids = cv2.imread(os.path.join(data, "my_dataset", "masks", site, f"{index:04d}_mask.png"),
                         cv2.IMREAD_UNCHANGED)
        converted = cv2.imread(os.path.join(data, "my_rgb_dataset", "masks", site,
                                            f"{index:04d}_label.png"), cv2.IMREAD_UNCHANGED)
        assert converted.dtype == np.uint8 and np.array_equal(ids, converted) and 11 in ids
    with open(os.path.join(data, "my_dataset", "train.txt"), encoding="utf-8") as f:
        lines = f.read().splitlines()
    pattern = r"images/site_\w/\d{4}\.jpg masks/site_\w/\d{4}_mask\.png"
    assert len(lines) == 6 and all(re.fullmatch(pattern, line) for line in lines)
    best = os.path.join(work, "output", "my_dataset", "best_model")
    assert os.path.isfile(os.path.join(best, "model.pdparams"))
    assert os.path.isfile(os.path.join(best, "metrics.json"))


def test_the_guide_shows_the_configs_dataset_section():
    yaml_blocks = [block for lang, block in doc_blocks() if lang == "yaml"]
    with open(CONFIG, encoding="utf-8") as f:
        config = f.read()
    assert len(yaml_blocks) == 1 and yaml_blocks[0] in config


# ---------------------------------------------------------------------------------- quoted errors
def error_line(main, script: str, argv: list) -> tuple:
    """(message as run_cli prints it, exit code) of ``main(argv)``, which must raise a UserError."""
    with pytest.raises(UserError) as info:
        main(argv)
    return f"{script}: error: {str(info.value).strip()}", info.value.exit_code


def _lists(*extra) -> tuple:
    import make_dataset_lists
    return error_line(make_dataset_lists.main, "make_dataset_lists.py",
                      ["--dataset_root", "data/my_dataset", "--images", "images",
                       "--masks", "masks", *extra])


def _train_check(list_lines=None, *opts) -> tuple:
    """train.py's start (build, label check) on data/my_dataset, with another train.txt if given."""
    import train
    if list_lines is not None:
        with open("data/my_dataset/train.txt", "w", encoding="utf-8") as f:
            f.write("\n".join(list_lines) + "\n")
    return error_line(train.main, "train.py", ["--config", CFG, "--check_labels", "-1", "--iters",
                                               "1", "--num_threads", "1", *OFFLINE, *opts])


def _colour_without_void() -> tuple:
    import convert_color_masks
    return error_line(convert_color_masks.main, "convert_color_masks.py",
                      ["--src", "data/my_rgb_dataset/masks_rgb",
                       "--dst", "data/my_rgb_dataset/masks",
                       "--palette", "data/my_rgb_dataset/palette.txt", "--ignore_index", "11"])


def _label_errors(lines: list) -> dict:
    """The label mistakes of the guide, each made on a copy of the first training pair."""
    first_mask = "data/my_dataset/" + lines[0].split()[1]
    mask = cv2.imread(first_mask, cv2.IMREAD_UNCHANGED)
    cv2.imwrite(first_mask, np.where(mask == 11, 255, mask).astype(np.uint8))   # void as 255
    found = {"values": _train_check(),
             "padding": _train_check(None, "train_dataset.transforms.1.label_padding_value=255")}
    cv2.imwrite(first_mask, mask)
    shutil.copytree("data/my_rgb_dataset/masks_rgb", "data/my_dataset/masks_rgb")
    colour_mask = lines[0].replace("masks/", "masks_rgb/").replace("_mask", "_label")
    found["channels"] = _train_check([colour_mask] + lines[1:])
    found["jpeg"] = _train_check([lines[0].replace("_mask.png", "_mask.jpg")] + lines[1:])
    found["missing"] = _train_check([lines[0].replace("0", "9")] + lines[1:])
    return found


@pytest.mark.timeout(120)
def test_the_quoted_errors_are_the_real_ones(tmp_path, monkeypatch):
    monkeypatch.chdir(make_workspace(tmp_path))
    monkeypatch.syspath_prepend(os.path.join(REPO, "tools"))
    import make_dataset_lists
    make_dataset_lists.main(["--dataset_root", "data/my_dataset", "--mask_suffix", "_mask",
                             "--val_ratio", "0.25"])
    found = {"exists": _lists("--mask_suffix", "_mask"), "no match": _lists(),
             "colour": _colour_without_void()}
    with open("data/my_dataset/train.txt", encoding="utf-8") as f:
        found.update(_label_errors(f.read().splitlines()))
    assert {name: code for name, (_, code) in found.items()} == {
        "exists": 2, "no match": 1, "colour": 1, "values": 1, "padding": 2, "channels": 1,
        "jpeg": 2, "missing": 2}
    text = doc_text()
    missing = {name: message for name, (message, _) in found.items() if message not in text}
    assert not missing, "the guide does not quote these errors as they are:\n" + "\n\n".join(
        f"{name}:\n{message}" for name, message in missing.items())
