"""tools/predict.py: folders, lists, single images, palettes, bad images, aug/slide options."""
import os

import cv2
import numpy as np
import paddle
import pytest

from paddleseg.cvlibs import Config, SegBuilder
from paddleseg.datasets.cityscapes_labels import palette_array
from paddleseg.utils.errors import UsageError, UserError
from paddleseg.utils.visualize import colorize, default_palette
from tools import predict
from paddleseg.datasets.synthetic import generate

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CONFIG = os.path.join(REPO, "configs", "icnet", "icnet_resnet18_vd_synthetic_quickstart.yml")


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    root = tmp_path_factory.mktemp("pred")
    info = generate(str(root / "data"), num_train=2, num_val=3, size=(96, 64), seed=5)
    paddle.seed(0)
    model = SegBuilder(Config(CONFIG)).model
    path = str(root / "model.pdparams")
    paddle.save(model.state_dict(), path)
    return root, info, path


def _run(setup, image_path, save_dir, *extra):
    root, _, model_path = setup
    return predict.main(["--config", CONFIG, "--model_path", model_path, "--image_path", image_path,
                         "--save_dir", str(save_dir), "--num_threads", "2", *extra])


def test_folder_writes_colour_overlay_and_ids_with_the_cityscapes_palette(setup, tmp_path):
    root, info, _ = setup
    written = _run(setup, str(root / "data" / "leftImg8bit" / "val"), tmp_path)
    assert len(written) == 3
    for colour_path in written:
        rel = os.path.relpath(colour_path, tmp_path / "pseudo_color_prediction")
        ids = cv2.imread(str(tmp_path / "label_prediction" / rel), cv2.IMREAD_UNCHANGED)
        colour = cv2.cvtColor(cv2.imread(colour_path), cv2.COLOR_BGR2RGB)
        assert ids.shape == (64, 96) and ids.max() < 19
        np.testing.assert_array_equal(colour, palette_array()[ids])
        assert os.path.isfile(str(tmp_path / "added_prediction" / rel[:-4]) + ".jpg")
        assert os.sep in rel  # city sub-folder kept


def test_list_file_single_image_and_bad_image(setup, tmp_path):
    root, info, _ = setup
    images = [str(root / "data" / img) for img, _ in info["val"]]
    bad = tmp_path / "broken.png"
    bad.write_bytes(b"not an image")
    listing = tmp_path / "list.txt"
    listing.write_text("\n".join([os.path.relpath(images[0], tmp_path) + " some/label.png", str(bad)]) + "\n")
    with pytest.raises(UserError, match="1 image.*could not be read.*broken.png") as e:
        _run(setup, str(listing), tmp_path / "out")
    assert e.value.exit_code == 1
    # the readable image is still predicted, named by its path relative to the list images' common folder
    common = os.path.commonpath([os.path.dirname(images[0]), str(tmp_path)])
    written = [os.path.relpath(os.path.join(r, n), tmp_path / "out" / "label_prediction")
               for r, _, names in os.walk(tmp_path / "out" / "label_prediction") for n in names]
    assert written == [os.path.relpath(images[0], common)]
    single = _run(setup, images[1], tmp_path / "one")
    assert len(single) == 1 and os.path.basename(single[0]) == os.path.basename(images[1])


def test_slide_with_whole_image_window_and_flip_options(setup, tmp_path):
    root, info, _ = setup
    image = str(root / "data" / info["val"][0][0])
    whole = _run(setup, image, tmp_path / "whole")[0]
    slide = _run(setup, image, tmp_path / "slide", "--is_slide", "--crop_size", "96", "64", "--stride", "64", "64")[0]
    np.testing.assert_array_equal(cv2.imread(whole), cv2.imread(slide))
    flip = _run(setup, image, tmp_path / "flip", "--aug_pred", "--flip_horizontal")
    assert os.path.isfile(flip[0])
    with pytest.raises(UsageError, match="missing.png does not exist"):
        _run(setup, str(tmp_path / "missing.png"), tmp_path / "x")


def test_default_palette_is_the_voc_colour_map():
    table = default_palette(256)
    assert table[:4].tolist() == [[0, 0, 0], [128, 0, 0], [0, 128, 0], [128, 128, 0]]
    assert len({tuple(c) for c in table}) == 256
    np.testing.assert_array_equal(colorize(np.array([[1, 3]]), table), [[[128, 0, 0], [128, 128, 0]]])


def test_engine_inference_writes_the_dygraph_masks(setup, tmp_path, monkeypatch):
    from paddleseg.deploy.engine import PredictorModel
    calls = []
    original = PredictorModel.__call__
    monkeypatch.setattr(PredictorModel, "__call__", lambda self, x: calls.append(x.shape) or original(self, x))
    root, _, _ = setup
    folder = str(root / "data" / "leftImg8bit" / "val")
    dygraph = _run(setup, folder, tmp_path / "dygraph", "--is_slide", "--crop_size", "64", "64",
                   "--stride", "48", "48")
    engine = _run(setup, folder, tmp_path / "engine", "--is_slide", "--crop_size", "64", "64",
                  "--stride", "48", "48", "--engine", "inference")
    assert len(engine) == len(dygraph) == 3
    assert len(calls) == 3 and all(shape[0] == 2 for shape in calls)   # 2 slide windows per image, batched
    moved = total = 0
    for a, b in zip(sorted(dygraph), sorted(engine)):
        ids_a = cv2.imread(a.replace("pseudo_color_prediction", "label_prediction"), cv2.IMREAD_UNCHANGED)
        ids_b = cv2.imread(b.replace("pseudo_color_prediction", "label_prediction"), cv2.IMREAD_UNCHANGED)
        moved, total = moved + int((ids_a != ids_b).sum()), total + ids_a.size
    assert moved <= 1e-3 * total     # the same model; only float summation order differs


def test_a_latin1_image_list_is_an_error_naming_the_list_and_line(tmp_path):
    from paddleseg.utils.visualize import collect_images
    from paddleseg.utils.errors import UsageError
    listing = tmp_path / "images.txt"
    listing.write_bytes("a.png\ncaf\xe9.png\n".encode("latin-1"))
    with pytest.raises(UsageError, match=r"--image_path .*images.txt:2: not UTF-8 \(byte 0xe9 at column 4\)"):
        collect_images(str(listing))
