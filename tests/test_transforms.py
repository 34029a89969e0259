"""Tests for paddleseg.transforms: maths, label handling, alignment, trans_info, errors."""
import inspect

import cv2
import numpy as np
import pytest

import paddleseg.transforms as T  # noqa: E402
from paddleseg.cvlibs import manager  # noqa: E402
from paddleseg.transforms import functional as F  # noqa: E402


def _sample(h=32, w=48, seed=0):
    rng = np.random.default_rng(seed)
    img = rng.uniform(0, 255, (h, w, 3)).astype(np.float32)
    label = rng.integers(0, 5, (h, w)).astype(np.uint8)
    return {"img": img, "label": label, "gt_fields": ["label"], "trans_info": []}


def _blocky_pair(h=48, w=64, seed=0):
    """An image whose channel 0 is 10 * label on 8x8 blocks, so alignment is checkable."""
    rng = np.random.default_rng(seed)
    label = np.kron(rng.integers(0, 19, (h // 8, w // 8)), np.ones((8, 8))).astype(np.uint8)
    img = np.repeat((label.astype(np.float32) * 10)[..., None], 3, axis=2)
    return img, label


def test_all_transforms_registered_with_typed_arguments():
    names = ["Compose", "Resize", "ResizeStepScaling", "RandomPaddingCrop", "RandomHorizontalFlip",
             "RandomVerticalFlip", "RandomDistort", "Normalize", "Padding", "LimitLong",
             "ResizeByShort", "ResizeByLong"]
    for name in names:
        cls = manager.TRANSFORMS[name]
        params = list(inspect.signature(cls.__init__).parameters.values())[1:]
        missing = [p.name for p in params if p.annotation is inspect.Parameter.empty]
        assert not missing, f"{name} lacks type hints on {missing}"


def test_paddleseg_argument_names_and_defaults():
    sig = inspect.signature(T.RandomPaddingCrop.__init__).parameters
    assert [sig[k].default for k in ("crop_size", "im_padding_value", "label_padding_value",
                                     "category_max_ratio", "ignore_index", "loop_times")] == \
        [(512, 512), 127.5, 255, 1.0, 255, 10]
    sig = inspect.signature(T.RandomDistort.__init__).parameters
    assert sig["hue_range"].default == 18 and sig["sharpness_prob"].default == 0
    assert inspect.signature(T.ResizeStepScaling.__init__).parameters["min_scale_factor"].default == 0.75


def test_normalize_divides_by_255_then_standardises():
    img = np.array([[[0, 127.5, 255]]], np.float32)
    out = T.Normalize(mean=[0.5, 0.4, 0.3], std=[0.5, 0.2, 0.1])({"img": img})["img"]
    expected = (img / 255.0 - np.array([0.5, 0.4, 0.3])) / np.array([0.5, 0.2, 0.1])
    np.testing.assert_allclose(out, expected, rtol=1e-6)
    assert out.dtype == np.float32
    single = T.Normalize()({"img": img.copy()})["img"]  # (0.5,) broadcasts to every channel
    np.testing.assert_allclose(single, [[[-1.0, 0.0, 1.0]]], atol=1e-6)


def test_normalize_rejects_bad_arguments():
    with pytest.raises(ValueError, match="std"):
        T.Normalize(mean=[0.5], std=[0.0])
    with pytest.raises(ValueError, match="channels"):
        T.Normalize(mean=[0.5, 0.5, 0.5], std=[0.5, 0.5, 0.5])({"img": np.zeros((4, 4, 1), np.float32)})


def test_resize_records_trans_info_and_uses_nearest_for_labels():
    data = T.Resize(target_size=[20, 10])(_sample(32, 48))
    assert data["img"].shape == (10, 20, 3) and data["label"].shape == (10, 20)
    assert data["trans_info"] == [("resize", (32, 48))]
    assert set(np.unique(data["label"])) <= set(range(5))  # nearest: no blended label values


def test_resize_keep_ratio_and_size_divisor():
    data = T.Resize(target_size=[64, 64], keep_ratio=True, size_divisor=5)(_sample(32, 48))
    assert data["img"].shape[:2] == (45, 65)  # 43x64 rounded up to multiples of 5
    with pytest.raises(ValueError, match="interp"):
        T.Resize(interp="BOGUS")


def test_padding_fills_and_records():
    data = T.Padding(target_size=[50, 40], im_padding_value=7.0)(_sample(32, 48))
    assert data["img"].shape == (40, 50, 3) and data["label"].shape == (40, 50)
    assert (data["img"][32:] == 7.0).all() and (data["label"][:, 48:] == 255).all()
    assert data["trans_info"] == [("padding", (32, 48))]
    with pytest.raises(ValueError, match="larger than target_size"):
        T.Padding(target_size=[10, 10])(_sample(32, 48))


def test_random_padding_crop_pads_label_with_255_and_image_with_value():
    np.random.seed(0)
    data = T.RandomPaddingCrop(crop_size=[64, 40])(_sample(32, 48))
    assert data["img"].shape == (40, 64, 3) and data["label"].shape == (40, 64)
    assert (data["label"][32:] == 255).all() and (data["label"][:, 48:] == 255).all()
    assert (data["img"][32:] == 127.5).all()
    assert (data["label"][:32, :48] < 5).all()
    assert data["trans_info"] == []  # random op: nothing to undo at evaluation


def test_random_padding_crop_category_max_ratio_balances_crops():
    label = np.zeros((64, 64), np.uint8)
    label[:, 56:] = 1  # class 1 only in a thin strip: most crops hold class 0 alone
    np.random.seed(3)
    for _ in range(5):
        img = np.repeat(label[..., None].astype(np.float32), 3, axis=2)
        data = T.RandomPaddingCrop([16, 16], category_max_ratio=0.9, loop_times=50)(
            {"img": img, "label": label.copy(), "gt_fields": ["label"]})
        assert set(np.unique(data["label"])) == {0, 1}
        np.testing.assert_array_equal(data["img"][..., 0], data["label"])


def test_flips_move_image_and_label_together():
    data = _sample()
    img, label = data["img"].copy(), data["label"].copy()
    data = T.RandomHorizontalFlip(prob=1.0)(data)
    np.testing.assert_array_equal(data["img"], img[:, ::-1])
    np.testing.assert_array_equal(data["label"], label[:, ::-1])
    data = T.RandomVerticalFlip(prob=1.0)(data)
    np.testing.assert_array_equal(data["label"], label[::-1, ::-1])
    data = T.RandomHorizontalFlip(prob=0.0)(data)
    np.testing.assert_array_equal(data["label"], label[::-1, ::-1])


@pytest.mark.parametrize("seed", range(4))
def test_train_pipeline_keeps_image_and_label_aligned(seed):
    np.random.seed(seed)
    img, label = _blocky_pair()
    pipeline = T.Compose([T.ResizeStepScaling(0.5, 2.0, 0.25), T.RandomPaddingCrop([56, 40]),
                          T.RandomHorizontalFlip(), T.RandomVerticalFlip(prob=0.5)])
    out = pipeline({"img": img, "label": label, "gt_fields": ["label"], "trans_info": []})
    im0, lab = out["img"][0], out["label"]
    assert out["img"].shape == (3, 40, 56) and lab.shape == (40, 56)
    # Compare where the label is locally constant (bilinear image edges blur by a pixel).
    pad = np.pad(lab, 1, mode="edge")
    uniform = np.all([pad[1 + dy:41 + dy, 1 + dx:57 + dx] == lab
                      for dy in (-1, 0, 1) for dx in (-1, 0, 1)], axis=0) & (lab != 255)
    assert uniform.sum() > 200
    np.testing.assert_allclose(im0[uniform], lab[uniform] * 10.0, atol=1e-3)
    assert (im0[lab == 255] == 127.5).all()  # padded pixels carry the image padding value


def test_random_distort_changes_image_only_and_stays_in_range():
    np.random.seed(1)
    data = _sample()
    label = data["label"].copy()
    out = T.RandomDistort(brightness_prob=1, contrast_prob=1, saturation_prob=1, hue_prob=1,
                          sharpness_prob=1)(data)
    assert out["img"].dtype == np.float32 and out["img"].min() >= 0 and out["img"].max() <= 255
    np.testing.assert_array_equal(out["label"], label)
    same = _sample()
    untouched = T.RandomDistort(brightness_prob=0, contrast_prob=0, saturation_prob=0,
                                hue_prob=0, sharpness_prob=0)(_sample())
    np.testing.assert_array_equal(untouched["img"], same["img"])


def test_photometric_ops_match_pil_imageenhance():
    Image = pytest.importorskip("PIL.Image")
    ImageEnhance = pytest.importorskip("PIL.ImageEnhance")
    rng = np.random.default_rng(0)
    arr = rng.integers(0, 256, (20, 24, 3)).astype(np.uint8)
    pil = Image.fromarray(arr)
    pairs = [(ImageEnhance.Brightness, F.brightness), (ImageEnhance.Contrast, F.contrast),
             (ImageEnhance.Color, F.saturation), (ImageEnhance.Sharpness, F.sharpness)]
    for enhancer, ours in pairs:
        for factor in (0.6, 1.4):
            ref = np.asarray(enhancer(pil).enhance(factor)).astype(np.float32)
            assert np.abs(ours(arr.astype(np.float32), factor) - ref).max() <= 1.5, enhancer.__name__
    hsv = np.array(pil.convert("HSV"))
    hsv[..., 0] = (hsv[..., 0].astype(int) + 10) % 256
    ref = np.asarray(Image.fromarray(hsv, mode="HSV").convert("RGB")).astype(np.float32)
    assert np.abs(F.hue(arr.astype(np.float32), 10) - ref).mean() < 1.5


def test_mask_to_binary_edge_matches_brute_force_definition():
    rng = np.random.default_rng(0)
    label = np.kron(rng.integers(0, 3, (4, 5)), np.ones((4, 4))).astype(np.uint8)
    edge = F.mask_to_binary_edge(label, radius=2)
    h, w = label.shape
    padded = np.full((h + 4, w + 4), 255, np.uint8)
    padded[2:-2, 2:-2] = label
    expected = np.zeros((h, w), bool)
    for dy in range(-2, 3):
        for dx in range(-2, 3):
            if dy * dy + dx * dx <= 4:
                expected |= padded[2 + dy:2 + dy + h, 2 + dx:2 + dx + w] != label
    assert edge.shape == (1, h, w) and edge.dtype == np.uint8
    np.testing.assert_array_equal(edge[0].astype(bool), expected)


def test_compose_reads_files_converts_and_returns_contiguous(tmp_path):
    bgr = np.zeros((6, 8, 3), np.uint8)
    bgr[..., 0] = 200  # blue in OpenCV's BGR order
    cv2.imwrite(str(tmp_path / "a.png"), bgr)
    cv2.imwrite(str(tmp_path / "a_label.png"), np.full((6, 8), 3, np.uint8))
    out = T.Compose([T.RandomHorizontalFlip(prob=1.0)])(
        {"img": str(tmp_path / "a.png"), "label": str(tmp_path / "a_label.png"), "gt_fields": ["label"]})
    assert out["img"].shape == (3, 6, 8) and out["img"].dtype == np.float32
    assert out["img"].flags["C_CONTIGUOUS"] and out["label"].flags["C_CONTIGUOUS"]
    assert out["label"].dtype == np.int64 and (out["label"] == 3).all()
    assert (out["img"][2] == 200).all() and (out["img"][0] == 0).all()  # now RGB
    assert out["trans_info"] == []


def test_compose_errors_name_the_file(tmp_path):
    corrupt = tmp_path / "broken.png"
    corrupt.write_bytes(b"not a png at all")
    with pytest.raises(ValueError, match="broken.png"):
        T.Compose([])({"img": str(corrupt)})
    with pytest.raises(FileNotFoundError, match="nothere.png"):
        T.Compose([])({"img": str(tmp_path / "nothere.png")})
    cv2.imwrite(str(tmp_path / "img.png"), np.zeros((6, 8, 3), np.uint8))
    cv2.imwrite(str(tmp_path / "small.png"), np.zeros((3, 4), np.uint8))
    with pytest.raises(ValueError, match="small.png"):
        T.Compose([])({"img": str(tmp_path / "img.png"), "label": str(tmp_path / "small.png")})
    with pytest.raises(TypeError, match=r"transforms\[0\]"):
        T.Compose([{"type": "Resize"}])


def test_read_label_rejects_colour_labels_and_reads_palette_indices(tmp_path):
    colour = np.zeros((4, 4, 3), np.uint8)
    colour[..., 2] = 255
    cv2.imwrite(str(tmp_path / "colour.png"), colour)
    with pytest.raises(ValueError, match="colour.png"):
        T.read_label(str(tmp_path / "colour.png"))
    image_mod = pytest.importorskip("PIL.Image")
    indices = np.arange(16, dtype=np.uint8).reshape(4, 4)
    pal = image_mod.fromarray(indices, mode="P")
    pal.putpalette([v for i in range(256) for v in (i, 255 - i, 7)])
    pal.save(str(tmp_path / "pal.png"))
    np.testing.assert_array_equal(T.read_label(str(tmp_path / "pal.png")), indices)
