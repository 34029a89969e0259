"""Tests for paddleseg.datasets: pairing, errors, label validation, val/train semantics."""
import os
import shutil

import cv2
import numpy as np
import pytest

import paddle  # noqa: E402

import paddleseg.transforms as T  # noqa: E402
from paddleseg.cvlibs import manager  # noqa: E402
from paddleseg.utils.errors import DataError  # noqa: E402
from paddleseg.datasets import ADE20K, Cityscapes, Dataset  # noqa: E402


@pytest.fixture
def synth_master(synthetic_cityscapes):
    """The session's generated dataset (4 train, 3 val, 64x32): read only."""
    return synthetic_cityscapes


@pytest.fixture
def synth(synth_master, tmp_path):
    """A private copy tests may damage."""
    root = str(tmp_path / "cityscapes")
    shutil.copytree(synth_master, root)
    return root


def _val_label_path(root, stem="frankfurt_000000_000000"):
    return os.path.join(root, "gtFine", "val", "frankfurt", stem + "_gtFine_labelTrainIds.png")


def test_registered_with_typed_arguments_and_class_info():
    import inspect
    for name in ("Dataset", "Cityscapes", "ADE20K"):
        params = list(inspect.signature(manager.DATASETS[name].__init__).parameters.values())[1:]
        assert all(p.annotation is not inspect.Parameter.empty for p in params), name
    assert list(inspect.signature(Dataset.__init__).parameters)[1:6] == \
        ["mode", "dataset_root", "transforms", "num_classes", "img_channels"]
    assert Cityscapes.NUM_CLASSES == 19 and Cityscapes.IGNORE_INDEX == 255
    assert len(Cityscapes.NAMES) == 19 and Cityscapes.NAMES[13] == "car"
    assert len(Cityscapes.PALETTE) == 19 and tuple(Cityscapes.PALETTE[0]) == (128, 64, 128)


def test_cityscapes_pairs_by_name(synth_master):
    ds = Cityscapes([T.Normalize()], synth_master, mode="train")
    assert len(ds) == 4 and ds.num_classes == 19 and ds.ignore_index == 255 and ds.mode == "train"
    for img, lab in ds.file_list:
        assert os.path.basename(img)[: -len("_leftImg8bit.png")] == \
            os.path.basename(lab)[: -len("_gtFine_labelTrainIds.png")]
        assert img.split(os.sep)[-2] == lab.split(os.sep)[-2]  # same city


def test_cityscapes_missing_label_names_the_image(synth):
    os.remove(_val_label_path(synth))
    with pytest.raises(FileNotFoundError, match="frankfurt_000000_000000_leftImg8bit.png") as err:
        Cityscapes([], synth, mode="val")
    assert "no label" in str(err.value)


def test_cityscapes_extra_labels_are_named_and_counted(synth):
    src = _val_label_path(synth)
    for i in range(7):
        shutil.copy(src, src.replace("000000_000000", f"000000_00009{i}"))
    with pytest.raises(FileNotFoundError) as err:
        Cityscapes([], synth, mode="val")
    msg = str(err.value)
    assert "7 label(s) have no image" in msg and "frankfurt_000000_000090_gtFine_labelTrainIds.png" in msg
    assert "and 2 more" in msg


def test_cityscapes_missing_root_and_split_explain_how_to_get_data(tmp_path, synth):
    with pytest.raises(FileNotFoundError) as err:
        Cityscapes([], str(tmp_path / "nowhere"))
    assert "generate_synthetic_cityscapes.py" in str(err.value) and "convert_cityscapes.py" in str(err.value)
    with pytest.raises(FileNotFoundError, match=r"leftImg8bit.test"):
        Cityscapes([], synth, mode="test")
    with pytest.raises(ValueError, match="mode"):
        Cityscapes([], synth, mode="training")


def test_cityscapes_unconverted_labels_point_to_converter(synth):
    for city in ("frankfurt", "lindau"):
        for name in os.listdir(os.path.join(synth, "gtFine", "val", city)):
            if name.endswith("_labelTrainIds.png"):
                os.remove(os.path.join(synth, "gtFine", "val", city, name))
    with pytest.raises(FileNotFoundError, match="convert_cityscapes.py"):
        Cityscapes([], synth, mode="val")


def test_val_mode_leaves_label_untransformed(synth_master):
    ds = Cityscapes([T.Resize([32, 16]), T.Normalize()], synth_master, mode="val")
    sample = ds[0]
    assert sample["img"].shape == (3, 16, 32) and sample["img"].dtype == np.float32
    assert sample["label"].shape == (32, 64) and sample["label"].dtype == np.int64
    raw = cv2.imread(sample["label_path"], cv2.IMREAD_UNCHANGED)
    np.testing.assert_array_equal(sample["label"], raw)
    assert sample["trans_info"] == [("resize", (32, 64))]
    assert sample["img_path"].endswith("_leftImg8bit.png")


def test_train_mode_transforms_label_with_image(synth_master):
    ds = Cityscapes([T.Resize([32, 16]), T.Normalize()], synth_master, mode="train", edge=True)
    sample = ds[1]
    assert sample["img"].shape == (3, 16, 32) and sample["label"].shape == (16, 32)
    raw = cv2.imread(sample["label_path"], cv2.IMREAD_UNCHANGED)
    np.testing.assert_array_equal(sample["label"], cv2.resize(raw, (32, 16), interpolation=cv2.INTER_NEAREST))
    assert sample["edge"].shape == (1, 16, 32) and sample["edge"].any()


def test_bad_label_value_raises_in_getitem_and_check_labels(synth):
    path = _val_label_path(synth)
    label = cv2.imread(path, cv2.IMREAD_UNCHANGED)
    label[0, :3] = 40
    label[1, 0] = 255  # ignore pixels are fine
    cv2.imwrite(path, label)
    ds = Cityscapes([T.Normalize()], synth, mode="val")
    idx = [i for i, (_, lab) in enumerate(ds.file_list) if lab == path][0]
    with pytest.raises(DataError) as err:   # a user error: one line, exit 1 under the CLIs
        ds[idx]
    msg = str(err.value)
    assert path in msg and "40" in msg and "num_classes=19" in msg
    with pytest.raises(DataError) as err:
        ds.check_labels()
    assert "1 of 3" in str(err.value) and path in str(err.value) and "40" in str(err.value)


def test_ignore_pixels_pass_and_check_labels_samples(synth_master):
    ds = Cityscapes([T.Normalize()], synth_master, mode="train")
    assert ds.check_labels() == 4
    assert ds.check_labels(max_files=2) == 2
    labels = np.concatenate([ds[i]["label"].ravel() for i in range(len(ds))])
    assert (labels == 255).any() and labels[labels != 255].max() < 19


def test_generic_dataset_file_lists(synth_master, tmp_path):
    ds = Dataset(mode="val", dataset_root=synth_master, transforms=[T.Normalize()], num_classes=19,
                 val_path="val.txt")  # relative to dataset_root is accepted
    assert len(ds) == 3 and ds[0]["label"].shape == (32, 64)
    test_list = tmp_path / "test.txt"
    test_list.write_text("leftImg8bit/val/lindau/lindau_000000_000001_leftImg8bit.png\n\n")
    ds = Dataset("test", synth_master, [T.Normalize()], 19, test_path=str(test_list))
    sample = ds[0]
    assert "label" not in sample and sample["label_path"] == "" and sample["img"].shape == (3, 32, 64)
    bad = tmp_path / "bad.txt"
    bad.write_text("a.png b.png c.png\n")
    with pytest.raises(ValueError, match="bad.txt:1"):
        Dataset("train", synth_master, [], 19, train_path=str(bad))
    missing = tmp_path / "missing.txt"
    missing.write_text("x.png y.png\n")
    with pytest.raises(FileNotFoundError, match="x.png"):
        Dataset("train", synth_master, [], 19, train_path=str(missing))
    with pytest.raises(ValueError, match="train_path"):
        Dataset("train", synth_master, [], 19)


def test_dataloader_collates_train_batches(synth_master):
    np.random.seed(0)
    ds = Cityscapes([T.ResizeStepScaling(0.75, 1.25, 0.25), T.RandomPaddingCrop([48, 24]),
                     T.RandomHorizontalFlip(), T.RandomDistort(), T.Normalize()], synth_master)
    loader = paddle.io.DataLoader(ds, batch_size=2, shuffle=False, num_workers=0, drop_last=True)
    batch = next(iter(loader))
    assert batch["img"].shape == [2, 3, 24, 48] and batch["label"].shape == [2, 24, 48]
    assert str(batch["label"].dtype).endswith("int64")


def _make_ade(root, labels):
    for split in ("training", "validation"):
        os.makedirs(os.path.join(root, "images", split))
        os.makedirs(os.path.join(root, "annotations", split))
    for i, lab in enumerate(labels):
        name = f"ADE_train_{i:08d}"
        cv2.imwrite(os.path.join(root, "images", "training", name + ".jpg"),
                    np.full(lab.shape + (3,), 100, np.uint8))
        cv2.imwrite(os.path.join(root, "annotations", "training", name + ".png"), lab)


def test_ade20k_shifts_labels_and_validates(tmp_path):
    root = str(tmp_path / "ADEChallengeData2016")
    lab = np.array([[0, 1, 150, 7]], np.uint8).repeat(4, axis=0)
    _make_ade(root, [lab])
    ds = ADE20K([T.Normalize()], root, mode="train")
    assert ds.num_classes == 150 and len(ds) == 1
    np.testing.assert_array_equal(ds[0]["label"][0], [255, 0, 149, 6])
    assert ds.check_labels() == 1
    with pytest.raises(FileNotFoundError, match="ADEChallengeData2016.zip"):
        ADE20K([], str(tmp_path / "missing"))
    with pytest.raises(ValueError, match="mode"):
        ADE20K([], root, mode="test")


def test_ade20k_out_of_range_label(tmp_path):
    root = str(tmp_path / "ade")
    _make_ade(root, [np.full((4, 4), 151, np.uint8)])  # 151 - 1 = 150 >= num_classes
    ds = ADE20K([], root)
    with pytest.raises(DataError, match=r"\[150\]"):
        ds[0]


def test_cityscapes_pairing_does_not_rely_on_sorted_order(tmp_path):
    # "x_leftImg8bit" sorts after "x_h_leftImg8bit" but "x_gtFine" sorts before "x_h_gtFine":
    # zipping the two sorted lists would cross the pairs.
    root = tmp_path / "cs"
    for split_dir in ("leftImg8bit/train/x", "gtFine/train/x"):
        (root / split_dir).mkdir(parents=True)
    for stem, value in (("x", 1), ("x_h", 2)):
        cv2.imwrite(str(root / "leftImg8bit/train/x" / f"{stem}_leftImg8bit.png"), np.full((4, 4, 3), value, np.uint8))
        cv2.imwrite(str(root / "gtFine/train/x" / f"{stem}_gtFine_labelTrainIds.png"), np.full((4, 4), value, np.uint8))
    ds = Cityscapes([], str(root))
    for i in range(len(ds)):
        sample = ds[i]
        assert (sample["img"] == sample["label"]).all()


def test_dataset_facts_one_accessor_for_classes_instances_and_configs(synth_master):
    """Class constants (Cityscapes), instance attributes (the generic Dataset) and a dataset config
    (before building) are read by one function; export, prediction and VisualDL images use it."""
    from paddleseg.datasets import dataset_facts
    from paddleseg.utils.visualize import palette_for
    city = dataset_facts(Cityscapes)
    assert (city.num_classes, city.ignore_index, city.class_names[13], tuple(city.palette[0])) == \
        (19, 255, "car", (128, 64, 128))
    generic = dataset_facts(Dataset(mode="val", dataset_root=synth_master, transforms=[T.Normalize()],
                                    num_classes=19, val_path=os.path.join(synth_master, "val.txt"), ignore_index=7))
    assert (generic.num_classes, generic.ignore_index, generic.img_channels, generic.palette) == (19, 7, 3, None)
    from_cfg = dataset_facts(Dataset, {"type": "Dataset", "num_classes": 4, "ignore_index": 0})
    assert (from_cfg.num_classes, from_cfg.ignore_index, from_cfg.class_names) == (4, 0, None)
    assert dataset_facts(None).num_classes is None
    assert tuple(palette_for(city.palette, 19)[0]) == (128, 64, 128)
    assert tuple(palette_for(None, 19)[0]) == (0, 0, 0)                   # the default colour map
