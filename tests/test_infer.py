"""Inference paths (whole, slide, flip, multi-scale), size restoration, batched evaluation."""
import csv
import os

import numpy as np
import paddle
import paddle.nn as nn
import paddle.nn.functional as F
import pytest

from paddleseg.core.infer import InferOptions, inference, merge_windows, reverse_transform, slide_windows
from paddleseg.core.val import evaluate
from paddleseg.utils.confusion_report import save_confusion_report


class Pointwise(nn.Layer):
    """1x1 conv: equivariant to flips and translations, so every inference path must agree."""

    def __init__(self, classes=4):
        super().__init__()
        self.conv = nn.Conv2D(3, classes, 1)

    def forward(self, x):
        return [self.conv(x), self.conv(x) * 0]  # a second (training-style) output is ignored


class Padded3x3(nn.Layer):
    """A 3x3 conv with zero padding: window borders differ from the whole image."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2D(3, 4, 3, padding=1)

    def forward(self, x):
        return [self.conv(x)]


@pytest.fixture
def img():
    paddle.seed(0)
    return paddle.randn([2, 3, 37, 53])


def test_flip_of_flip_equivariant_model_equals_whole_image(img):
    model = Pointwise()
    whole = inference(model, img)
    for flips in ({"flip_horizontal": True}, {"flip_vertical": True},
                  {"flip_horizontal": True, "flip_vertical": True}):
        aug = inference(model, img, options=InferOptions(aug=True, fuse="prob", **flips))
        np.testing.assert_allclose(aug.numpy(), F.softmax(whole, axis=1).numpy(), atol=1e-6)
        logit = inference(model, img, options=InferOptions(aug=True, **flips))   # default: logits
        np.testing.assert_allclose(logit.numpy(), whole.numpy(), atol=1e-5)


def test_flip_actually_flips():
    # A model that is not flip-equivariant: output depends on the column index.
    class Ramp(nn.Layer):
        def forward(self, x):
            w = x.shape[3]
            ramp = paddle.arange(w, dtype="float32").reshape([1, 1, 1, w])
            return [paddle.concat([ramp.expand([x.shape[0], 1, x.shape[2], w]),
                                   paddle.zeros([x.shape[0], 1, x.shape[2], w])], axis=1)]
    x = paddle.zeros([1, 3, 4, 5])
    out = inference(Ramp(), x, options=InferOptions(aug=True, flip_horizontal=True, fuse="logit"))
    # mean of the ramp and the flipped-back ramp of a flipped input (the same ramp reversed): constant
    np.testing.assert_allclose(out.numpy()[0, 0], np.full((4, 5), 2.0), atol=1e-6)


def test_slide_with_crop_equal_to_image_is_whole_image(img):
    model = Padded3x3()
    whole = inference(model, img)
    slide = inference(model, img, options=InferOptions(is_slide=True, crop_size=(53, 37), stride=(20, 20)))
    np.testing.assert_allclose(slide.numpy(), whole.numpy(), atol=1e-6)


@pytest.mark.parametrize("crops_per_batch", [1, 3, 16])
def test_overlapping_slide_of_pointwise_model_equals_whole_image(img, crops_per_batch):
    model = Pointwise()
    options = InferOptions(is_slide=True, crop_size=(16, 12), stride=(10, 7), crops_per_batch=crops_per_batch)
    np.testing.assert_allclose(inference(model, img, options=options).numpy(), inference(model, img).numpy(),
                               atol=1e-5)


def test_slide_averages_overlaps():
    class Ones(nn.Layer):
        def forward(self, x):
            return [paddle.ones([x.shape[0], 2, x.shape[2], x.shape[3]])]
    out = inference(Ones(), paddle.zeros([1, 3, 10, 10]),
                    options=InferOptions(is_slide=True, crop_size=(6, 6), stride=(3, 3)))
    np.testing.assert_allclose(out.numpy(), np.ones((1, 2, 10, 10)), atol=1e-6)


@pytest.mark.parametrize("size,crop,stride", [((37, 53), (16, 12), (10, 7)), ((30, 40), (40, 30), (20, 20)),
                                              ((10, 8), (16, 16), (8, 8)), ((64, 64), (24, 24), (24, 24))])
def test_merge_windows_equals_accumulating_in_numpy(size, crop, stride):
    """The cell-wise merge against the textbook sum-and-count accumulation (PaddleSeg's, in NumPy)."""
    height, width = size
    windows = slide_windows(height, width, crop, stride)
    rng = np.random.default_rng(0)
    parts = [rng.standard_normal((2, 3, y2 - y1, x2 - x1)).astype("float32") for y1, y2, x1, x2 in windows]
    total = np.zeros((2, 3, height, width), np.float32)
    count = np.zeros((height, width), np.float32)
    for part, (y1, y2, x1, x2) in zip(parts, windows):
        total[:, :, y1:y2, x1:x2] += part
        count[y1:y2, x1:x2] += 1
    got = merge_windows([paddle.to_tensor(p) for p in parts], windows, height, width)
    np.testing.assert_allclose(got.numpy(), total / count, rtol=1e-6, atol=1e-6)
    with pytest.raises(ValueError, match="cover"):
        merge_windows([paddle.to_tensor(p) for p in parts], windows, height + 1, width)


def test_slide_windows_cover_the_image_inside_its_bounds():
    windows = slide_windows(37, 53, crop_size=(16, 12), stride=(10, 7))
    cover = np.zeros((37, 53), int)
    for y1, y2, x1, x2 in windows:
        assert 0 <= y1 < y2 <= 37 and 0 <= x1 < x2 <= 53
        assert (y2 - y1, x2 - x1) == (12, 16)
        cover[y1:y2, x1:x2] += 1
    assert cover.min() >= 1
    assert slide_windows(10, 8, (16, 16), (8, 8)) == [(0, 10, 0, 8)]   # smaller than the crop


def test_multi_scale_averages_resized_probabilities(img):
    model = Pointwise()
    opts = InferOptions(aug=True, scales=[0.5, 1.0], fuse="prob")
    out = inference(model, img, options=opts)
    small = F.interpolate(img, size=[int(37 * 0.5 + 0.5), int(53 * 0.5 + 0.5)], mode="bilinear")
    half = F.interpolate(model(small)[0], size=[37, 53], mode="bilinear")
    expected = (F.softmax(half, axis=1) + F.softmax(model(img)[0], axis=1)) / 2
    np.testing.assert_allclose(out.numpy(), expected.numpy(), atol=1e-5)


def test_original_size_restoration():
    logits = paddle.arange(2 * 6 * 8, dtype="float32").reshape([1, 2, 6, 8])
    # padded from 5x7 (cropped back), after a resize from 10x14 (interpolated back)
    restored = reverse_transform(logits, [("resize", (10, 14)), ("padding", (5, 7))])
    assert list(restored.shape) == [1, 2, 10, 14]
    expected = F.interpolate(logits[:, :, :5, :7], size=[10, 14], mode="bilinear")
    np.testing.assert_allclose(restored.numpy(), expected.numpy())
    out = inference(Pointwise(), paddle.randn([1, 3, 6, 8]), trans_info=[("padding", (5, 7))], ori_shape=(10, 14))
    assert list(out.shape) == [1, 4, 10, 14]


def test_options_from_test_config_and_cli():
    opts = InferOptions.from_test_config({"aug_eval": True, "scales": 0.75, "flip_horizontal": True},
                                         {"scales": [1.0, 1.25], "is_slide": None})
    assert opts.aug and opts.scales == (1.0, 1.25) and opts.flip_horizontal and not opts.is_slide
    slide = InferOptions.from_test_config({"is_slide": True, "crop_size": [64, 32], "stride": [48, 24]})
    assert slide.crop_size == (64, 32) and slide.stride == (48, 24)
    with pytest.raises(ValueError, match="unknown test_config key 'flip' in x.yml"):
        InferOptions.from_test_config({"flip": True}, source="x.yml")
    with pytest.raises(ValueError, match="crop_size"):
        InferOptions(is_slide=True, stride=(4, 4))
    with pytest.raises(ValueError, match="aug_eval"):
        InferOptions(flip_horizontal=True)
    with pytest.raises(ValueError, match="fuse"):
        InferOptions(fuse="max")


class SizesDataset(paddle.io.Dataset):
    """Images of two sizes with fixed labels; class 2 never appears; some ignore pixels."""
    num_classes = 3
    ignore_index = 255
    CLASS_NAMES = ["a", "b", "c"]

    def __init__(self):
        rng = np.random.RandomState(0)
        self.items = []
        for i, (h, w) in enumerate([(12, 16), (12, 16), (9, 11), (12, 16), (9, 11)]):
            label = rng.randint(0, 2, (h, w)).astype("int64")
            label[0, :3] = 255
            self.items.append({"img": rng.standard_normal((3, h, w)).astype("float32"), "label": label,
                               "trans_info": []})

    def __getitem__(self, idx):
        return dict(self.items[idx])

    def __len__(self):
        return len(self.items)


def _numpy_confusion(model, dataset):
    cm = np.zeros((3, 3), np.int64)
    for item in dataset.items:
        pred = model(paddle.to_tensor(item["img"][None]))[0].numpy()[0].argmax(0)
        valid = item["label"] != 255
        np.add.at(cm, (item["label"][valid], pred[valid]), 1)
    return cm


@pytest.mark.parametrize("batch_size", [1, 2, 5])
def test_evaluate_batches_mixed_sizes_like_one_by_one(batch_size, tmp_path):
    paddle.seed(3)
    model = Pointwise(classes=3)
    dataset = SizesDataset()
    result = evaluate(model, dataset, batch_size=batch_size, progress=False)
    expected = _numpy_confusion(model, dataset)
    np.testing.assert_array_equal(np.asarray(result["confusion_matrix"]), expected)
    assert result["num_pixels"] == expected.sum()
    if batch_size == 5:
        paths = save_confusion_report(result, str(tmp_path))
        rows = list(csv.reader(open(paths["csv"])))
        assert rows[0] == ["gt \\ pred", "a", "b", "c"]
        assert [int(v) for v in rows[1][1:]] == expected[0].tolist()
        assert (tmp_path / "confusion_matrix.png").stat().st_size > 0


def test_one_reader_of_trans_info_refuses_an_unknown_op():
    """core/infer.py (scores) and tools/infer.py (class-id maps) undo trans_info through one
    function: an unknown record is an error in both (tools/infer.py used to skip it silently)."""
    from paddleseg.core.infer import undo_steps
    from tools.infer import _restore
    assert undo_steps([("resize", (10, 14)), ("padding", (5, 7))]) == [("padding", 5, 7), ("resize", 10, 14)]
    with pytest.raises(ValueError, match="unknown transform record 'flip'"):
        reverse_transform(paddle.zeros([1, 2, 4, 4]), [("flip", (4, 4))])
    with pytest.raises(ValueError, match="unknown transform record 'flip'"):
        _restore(np.zeros((4, 4), np.int32), [("flip", (4, 4))], (4, 4))
    pred = _restore(np.arange(12, dtype=np.int32).reshape(3, 4), [("resize", (6, 6)), ("padding", (2, 3))], (6, 6))
    assert pred.shape == (6, 6)


def test_options_from_config_is_the_one_way_scripts_make_them(tmp_path):
    """val.py, tools/predict.py and train.py all call InferOptions.from_config: test_config from the
    config, flags winning, aug_pred for predict, errors naming the config file."""
    import argparse

    from paddleseg.cvlibs import Config
    from paddleseg.utils.infer_cli import add_infer_args
    path = tmp_path / "t.yml"
    path.write_text("test_config: {aug_eval: true, scales: [0.75], is_slide: true, crop_size: [8, 8], stride: [4, 4]}\n")
    cfg = Config(str(path))
    parser = argparse.ArgumentParser()
    add_infer_args(parser)
    assert InferOptions.from_config(cfg) == InferOptions.from_test_config(cfg.test_config, source=f"command line / test_config in {path}")
    opts = InferOptions.from_config(cfg, parser.parse_args(["--scales", "1.0", "1.5"]))
    assert opts.aug and opts.is_slide and list(opts.scales) == [1.0, 1.5] and str(path) in opts.source
    path.write_text("test_config: {aug_pred: true, flip: true}\n")
    with pytest.raises(ValueError, match=r"unknown test_config key 'flip' in command line / test_config in .*t.yml.*aug_pred"):
        InferOptions.from_config(Config(str(path)), parser.parse_args([]), aug_key="aug_pred")
    for script in ("val.py", "train.py", os.path.join("tools", "predict.py")):
        with open(os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), script)) as f:
            text = f.read()
        assert "InferOptions.from_config(" in text and "from_test_config" not in text, script


def test_tools_infer_is_made_of_short_steps():
    """tools/infer.py's main was 114 lines; it is now named steps of at most ~50 lines each."""
    import ast
    path = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "tools", "infer.py")
    with open(path) as f:
        tree = ast.parse(f.read())
    lengths = {n.name: n.end_lineno - n.lineno + 1 for n in ast.walk(tree) if isinstance(n, ast.FunctionDef)}
    assert lengths["main"] <= 30 and max(lengths.values()) <= 50, lengths
