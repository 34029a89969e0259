"""Tests for paddleseg.datasets.synthetic, paddleseg.datasets.cityscapes_convert and their tools/ CLIs."""
import glob
import os
import re

import cv2
import numpy as np
import pytest

from paddleseg.datasets import synthetic as gen
from paddleseg.datasets import cityscapes_convert as conv
from tools import convert_cityscapes as conv_cli
from tools import generate_synthetic_cityscapes as gen_cli


@pytest.fixture(scope="module")
def synth(tmp_path_factory):
    root = str(tmp_path_factory.mktemp("synth"))
    info = gen.generate(root, num_train=6, num_val=5, size=(96, 48), seed=1)
    return root, info


def test_generator_writes_cityscapes_layout(synth):
    root, info = synth
    for split, count, cities in (("train", 6, {"aachen", "bochum"}), ("val", 5, {"frankfurt", "lindau"})):
        imgs = sorted(glob.glob(os.path.join(root, "leftImg8bit", split, "*", "*_leftImg8bit.png")))
        assert len(imgs) == count == len(info[split])
        assert {p.split(os.sep)[-2] for p in imgs} == cities
        for img in imgs:
            city, name = img.split(os.sep)[-2:]
            assert re.fullmatch(rf"{city}_\d{{6}}_\d{{6}}_leftImg8bit\.png", name)
            stem = os.path.join(root, "gtFine", split, city, name[: -len("_leftImg8bit.png")])
            assert os.path.isfile(stem + "_gtFine_labelTrainIds.png")
            assert os.path.isfile(stem + "_gtFine_labelIds.png")
            assert cv2.imread(img).shape == (48, 96, 3)
        with open(os.path.join(root, f"{split}.txt")) as f:
            lines = f.read().splitlines()
        assert len(lines) == count and all(os.path.isfile(os.path.join(root, p)) for p in lines[0].split(" "))


def test_generator_labels_in_range_with_all_classes_and_ignore(synth):
    root, info = synth
    for split in ("train", "val"):
        values = np.concatenate([cv2.imread(os.path.join(root, lab), cv2.IMREAD_UNCHANGED).ravel()
                                 for _, lab in info[split]])
        assert set(np.unique(values)) <= set(range(19)) | {255}
        assert (values == 255).any()
        assert (info["class_pixels"][split] > 0).all(), f"{split} misses a class"
        first = cv2.imread(os.path.join(root, info[split][0][1]), cv2.IMREAD_UNCHANGED)
        assert 6 <= len(set(np.unique(first)) - {255}) <= 8


def test_generator_is_seeded(tmp_path):
    a = gen.generate(str(tmp_path / "a"), 2, 1, (64, 32), seed=5)
    b = gen.generate(str(tmp_path / "b"), 2, 1, (64, 32), seed=5)
    c = gen.generate(str(tmp_path / "c"), 2, 1, (64, 32), seed=6)
    read = lambda root, rel: open(os.path.join(root, rel), "rb").read()  # noqa: E731
    assert read(a["root"], a["train"][0][0]) == read(b["root"], b["train"][0][0])
    assert read(a["root"], a["train"][0][1]) != read(c["root"], c["train"][0][1])


def test_lut_maps_official_ids():
    lut = conv.LUT
    assert lut.shape == (256,) and lut.dtype == np.uint8
    assert lut[7] == 0 and lut[8] == 1 and lut[26] == 13 and lut[33] == 18 and lut[23] == 10
    assert lut[0] == 255 and lut[1] == 255 and lut[9] == 255 and lut[34] == 255 and lut[255] == 255
    assert sorted(set(lut.tolist()) - {255}) == list(range(19))
    wide = np.array([[7, 26, 300, -1]], np.int32)
    np.testing.assert_array_equal(conv.id_to_train_id(wide), [[0, 13, 255, 255]])


def test_converter_round_trips_generator_label_ids(synth):
    root, info = synth
    for _, lab in info["train"] + info["val"]:
        ids_path = os.path.join(root, lab).replace("_labelTrainIds.png", "_labelIds.png")
        expected = cv2.imread(os.path.join(root, lab), cv2.IMREAD_UNCHANGED)
        np.testing.assert_array_equal(conv.convert_label(ids_path), expected)


def test_convert_all_skips_overwrites_and_writes_lists(tmp_path):
    root = str(tmp_path / "cs")
    info = gen.generate(root, 3, 2, (64, 32), seed=2)
    targets = sorted(glob.glob(os.path.join(root, "gtFine", "*", "*", "*_labelTrainIds.png")))
    originals = {p: open(p, "rb").read() for p in targets}
    for p in targets:
        os.remove(p)
    counts = conv.convert_all(root, num_workers=2, show_progress=False)
    assert counts == {"found": 5, "written": 5, "skipped": 0}
    for p in targets:
        np.testing.assert_array_equal(cv2.imread(p, cv2.IMREAD_UNCHANGED),
                                      cv2.imdecode(np.frombuffer(originals[p], np.uint8), cv2.IMREAD_UNCHANGED))
    assert conv.convert_all(root, num_workers=1, show_progress=False)["skipped"] == 5
    assert conv.convert_all(root, num_workers=1, overwrite=True, show_progress=False)["written"] == 5
    os.remove(os.path.join(root, "train.txt"))
    lists = conv.write_file_lists(root)
    assert set(lists) == {"train", "val"}
    with open(lists["train"]) as f:
        assert f.read().splitlines() == [f"{a} {b}" for a, b in info["train"]]


def test_converter_errors_and_help(tmp_path, capsys):
    with pytest.raises(FileNotFoundError, match="gtFine"):
        conv.convert_all(str(tmp_path), show_progress=False)
    bad = tmp_path / "x_gtFine_labelIds.png"
    cv2.imwrite(str(bad), np.zeros((4, 4, 3), np.uint8) + np.array([1, 2, 3], np.uint8))
    with pytest.raises(ValueError, match="x_gtFine_labelIds.png"):
        conv.convert_label(str(bad))
    for module in (conv_cli, gen_cli):
        with pytest.raises(SystemExit) as exit_info:
            module.main(["--help"])
        assert exit_info.value.code == 0
    assert "--cityscapes_root" in capsys.readouterr().out


def test_generator_cli(tmp_path, capsys):
    gen_cli.main(["--out", str(tmp_path / "cli"), "--train", "2", "--val", "1", "--size", "64", "32"])
    out = capsys.readouterr().out
    assert "train: 2 images" in out and "val: 1 images" in out
    assert len(glob.glob(str(tmp_path / "cli" / "leftImg8bit" / "val" / "*" / "*.png"))) == 1
