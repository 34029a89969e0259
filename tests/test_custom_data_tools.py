"""File lists from an image folder and a mask folder, and colour-mask conversion (issue 14, item 6):
matching by name (suffixes, extensions, sub-folders), seeded splits, unmatched files reported,
no silent overwrite, a vectorised palette lookup whose errors name the file and the colour."""
import os

import cv2
import numpy as np
import pytest

from paddleseg.datasets import Dataset
from paddleseg.datasets.color_masks import ColorToClass, read_palette_file
from paddleseg.datasets.facts import class_facts, dataset_facts
from paddleseg.datasets.file_lists import match_files, split_pairs, write_lists
from paddleseg.utils.errors import UsageError, UserError
from paddleseg.utils.visualize import palette_for
from tools import convert_color_masks, make_dataset_lists

PALETTE = [(0, 0, 0), (255, 0, 0), (0, 255, 0)]


def _touch(path, image=None):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    image = np.zeros((4, 4), np.uint8) if image is None else image
    ok, data = cv2.imencode(os.path.splitext(path)[1], image)
    assert ok
    data.tofile(path)


@pytest.fixture
def folders(tmp_path):
    root = tmp_path / "ds"
    for rel in ("a/1.jpg", "a/2.jpg", "b/1.jpeg", "b/3.png", "lonely.jpg"):
        _touch(str(root / "images" / rel), np.zeros((4, 4, 3), np.uint8))
    for rel in ("a/1_mask.png", "a/2_mask.bmp", "b/1_mask.png", "b/3.png", "orphan.png"):
        _touch(str(root / "masks" / rel))
    _touch(str(root / "masks/a/9_mask.jpg"), np.zeros((4, 4, 3), np.uint8))
    return str(root)


def _rel(paths, root):
    return [os.path.relpath(p, root) for p in paths]


def test_images_and_masks_match_by_name_not_by_position(folders):
    images, masks = os.path.join(folders, "images"), os.path.join(folders, "masks")
    m = match_files(images, masks, mask_suffix="_mask")
    assert [tuple(_rel(pair, folders)) for pair in m.pairs] == [
        ("images/a/1.jpg", "masks/a/1_mask.png"), ("images/a/2.jpg", "masks/a/2_mask.bmp"),
        ("images/b/1.jpeg", "masks/b/1_mask.png"), ("images/b/3.png", "masks/b/3.png")]
    assert _rel(m.images_without_mask, folders) == ["images/lonely.jpg"]
    assert _rel(m.masks_without_image, folders) == ["masks/orphan.png"]
    assert _rel(m.skipped_masks, folders) == ["masks/a/9_mask.jpg"]   # lossy: never a mask
    flat = match_files(images, masks, "", "_mask", recursive=False)
    assert flat.pairs == [] and _rel(flat.images_without_mask, folders) == ["images/lonely.jpg"]


def test_one_folder_for_images_and_masks(tmp_path):
    for name in ("x.png", "x_label.png", "y.jpg", "y_label.png"):
        _touch(str(tmp_path / name))
    m = match_files(str(tmp_path), str(tmp_path), mask_suffix="_label")
    assert [tuple(map(os.path.basename, p)) for p in m.pairs] == [
        ("x.png", "x_label.png"), ("y.jpg", "y_label.png")]


def test_two_files_with_one_name_are_refused(tmp_path):
    for rel in ("images/1.jpg", "images/1.png", "masks/1.png"):
        _touch(str(tmp_path / rel))
    with pytest.raises(UserError, match=r"Two image files have the name '1': .*1.jpg and .*1.png"):
        match_files(str(tmp_path / "images"), str(tmp_path / "masks"))


def test_split_is_seeded_sized_and_complete():
    pairs = [(f"i{k}", f"m{k}") for k in range(20)]
    a, b = split_pairs(pairs, 0.2, 0.1, seed=3), split_pairs(pairs, 0.2, 0.1, seed=3)
    assert a == b and list(a) == ["train", "val", "test"]
    assert [len(a[s]) for s in a] == [14, 4, 2]
    assert sorted(a["train"] + a["val"] + a["test"]) == sorted(pairs)
    assert split_pairs(pairs, 0.2, seed=4)["val"] != a["val"]
    assert "test" not in split_pairs(pairs, 0.2)
    # a ratio above 0 gets at least one pair
    assert [len(v) for v in split_pairs(pairs[:3], 0.1).values()] == [2, 1]
    with pytest.raises(UsageError, match="leave no pair of the 2 for training"):
        split_pairs(pairs[:2], 0.5, 0.4)
    with pytest.raises(UsageError, match=r"--val_ratio must be in \[0, 1\)"):
        split_pairs(pairs, 1.0)


def test_lists_are_relative_atomic_and_never_silently_replaced(tmp_path):
    root = str(tmp_path)
    splits = {"train": [(f"{root}/images/a b.jpg", f"{root}/masks/a.png")]}
    with pytest.raises(UsageError, match="contains the separator ' '; choose another with --sep"):
        write_lists(root, splits)
    splits = {"train": [(f"{root}/images/1.jpg", f"{root}/masks/1.png")],
              "val": [(f"{root}/2.jpg", f"{root}/2.png")]}
    written = write_lists(root, splits)
    assert open(written["train"], encoding="utf-8").read() == "images/1.jpg masks/1.png\n"
    (tmp_path / "val.txt").unlink()
    with pytest.raises(UsageError, match="train.txt already exists; pass --overwrite"):
        write_lists(root, splits)
    assert not (tmp_path / "val.txt").exists()   # refused before writing anything
    write_lists(root, {"train": splits["val"]}, overwrite=True)
    assert open(written["train"], encoding="utf-8").read() == "2.jpg 2.png\n"
    assert sorted(os.listdir(root)) == ["train.txt"]   # no temporary file left
    with pytest.raises(UsageError, match="is not inside the dataset root"):
        write_lists(root + "/sub", {"train": splits["val"]})
    latin1 = os.fsdecode(b"caf\xe9.jpg")   # a Latin-1 name as os.walk returns it
    with pytest.raises(UsageError, match=r"The file name caf\\xe9.jpg is not UTF-8"):
        write_lists(root, {"test": [(f"{root}/{latin1}", f"{root}/m.png")]}, overwrite=True)


def test_cli_reports_unmatched_files_and_strict_refuses(folders, capsys):
    written = make_dataset_lists.main(["--dataset_root", folders, "--mask_suffix", "_mask",
                                       "--val_ratio", "0.25"])
    out, err = capsys.readouterr()
    assert "matched 4 image/mask pairs" in out and "wrote" in out
    assert "1 image(s) have no mask:\n  " in err and "images/lonely.jpg" in err
    assert "1 mask(s) have no image:" in err and "masks/orphan.png" in err
    assert "or TIFF and were not used" in err and "9_mask.jpg" in err
    assert [len(open(p).read().splitlines()) for p in written.values()] == [3, 1]
    with pytest.raises(UserError, match=r"do not pair up \(--strict\)") as info:
        make_dataset_lists.main(["--dataset_root", folders, "--mask_suffix", "_mask", "--strict",
                                 "--overwrite"])
    assert info.value.exit_code == 1


def test_colour_lookup_is_exact_and_vectorised():
    rng = np.random.default_rng(0)
    ids = rng.integers(0, 4, size=(37, 53))                           # 3 = void
    colours = np.array([*PALETTE, (9, 9, 9)], np.uint8)
    mapper = ColorToClass(PALETTE, ignore_colors=[(9, 9, 9)], ignore_index=11)
    out = mapper(colours[ids])
    assert out.dtype == np.uint8 and np.array_equal(out, np.where(ids == 3, 11, ids))
    wide = ColorToClass(PALETTE, ignore_colors=[(9, 9, 9)], ignore_index=300)
    assert wide(colours[ids]).dtype == np.uint16


def test_unknown_colours_are_named_or_mapped_to_void():
    rgb = np.zeros((4, 5, 3), np.uint8)
    rgb[0, :3] = (1, 2, 3)
    rgb[1, 0] = (255, 0, 1)
    with pytest.raises(ValueError, match=r"Mask m\.png has colours not in the palette: "
                                         r"\[1, 2, 3\] \(3 px\), \[255, 0, 1\] \(1 px\); "
                                         r"add them to the palette"):
        ColorToClass(PALETTE)(rgb, "m.png")
    out = ColorToClass(PALETTE, ignore_index=7, unknown_to_ignore=True)(rgb)
    assert out[0, :3].tolist() == [7, 7, 7] and out[1, 0] == 7 and out[3, 3] == 0


def test_palette_mistakes_are_refused(tmp_path):
    with pytest.raises(ValueError, match=r"entry 2 \[255, 0, 0\] repeats entry 1"):
        ColorToClass([(0, 0, 0), (255, 0, 0), (255, 0, 0)])
    with pytest.raises(ValueError, match="ignore_index 1 is also the id of a palette class"):
        ColorToClass(PALETTE, ignore_index=1)
    path = tmp_path / "palette.txt"
    path.write_text("# r g b name\n0 0 0 background\n\n255,0,0  road  # comment\n0 255 0\n",
                    encoding="utf-8")
    assert read_palette_file(str(path)) == PALETTE
    path.write_text("0 0 0\n255 zero 0 road\n", encoding="utf-8")
    with pytest.raises(UsageError, match=r"palette.txt:2: expected 'R G B \[name\]', got '255 z"):
        read_palette_file(str(path))
    path.write_text("0 0 0\n256 0 0\n", encoding="utf-8")
    with pytest.raises(UsageError, match=r"entry 1 is \(256, 0, 0\); each entry must be \[R, G"):
        read_palette_file(str(path))


def test_converter_takes_the_palette_from_the_config(tmp_path, capsys):
    colours = np.array([*PALETTE, (255, 255, 255)], np.uint8)
    ids = np.array([[0, 1], [2, 3]])
    _touch(str(tmp_path / "rgb/s/a_rgb.png"), cv2.cvtColor(colours[ids], cv2.COLOR_RGB2BGR))
    cfg = tmp_path / "c.yml"
    cfg.write_text("train_dataset:\n  type: Dataset\n  ignore_index: 5\n"
                   "  palette: [[0, 0, 0], [255, 0, 0], [0, 255, 0]]\n", encoding="utf-8")
    argv = ["--src", str(tmp_path / "rgb"), "--dst", str(tmp_path / "ids"), "--config", str(cfg),
            "--suffix", "_rgb"]
    with pytest.raises(UserError, match=r"Mask .*a_rgb.png has colours not in the palette: "
                                        r"\[255, 255, 255\] \(1 px\)"):
        convert_color_masks.main(argv)   # one mask: one line
    assert convert_color_masks.main(argv + ["--ignore_color", "255", "255", "255"]) == 1
    out = cv2.imread(str(tmp_path / "ids/s/a.png"), cv2.IMREAD_UNCHANGED)
    assert out.tolist() == [[0, 1], [2, 5]]
    with pytest.raises(UsageError, match="1 output file.s. exist.*pass --overwrite"):
        convert_color_masks.main(argv + ["--ignore_color", "255", "255", "255"])


def test_dataset_takes_class_names_and_palette(tmp_path):
    _touch(str(tmp_path / "i.png"), np.zeros((4, 4, 3), np.uint8))
    _touch(str(tmp_path / "m.png"))
    (tmp_path / "train.txt").write_text("i.png m.png\n", encoding="utf-8")
    kwargs = dict(mode="train", dataset_root=str(tmp_path), transforms=[], num_classes=3,
                  train_path="train.txt")
    facts = dataset_facts(Dataset(**kwargs, class_names=["a", "b", "c"],
                                  palette=[list(c) for c in PALETTE]))
    assert facts.class_names == ["a", "b", "c"] and facts.palette == PALETTE
    assert palette_for(facts.palette, 3)[:3].tolist() == [list(c) for c in PALETTE]   # predictions
    with pytest.raises(ValueError, match="`palette` has 2 entries but num_classes is 3"):
        Dataset(**kwargs, palette=PALETTE[:2])
    assert class_facts(2) == (None, None)


def test_label_padding_must_be_void_or_a_class(tmp_path):
    import paddleseg.transforms as T
    _touch(str(tmp_path / "i.png"), np.zeros((4, 4, 3), np.uint8))
    _touch(str(tmp_path / "m.png"))
    (tmp_path / "l.txt").write_text("i.png m.png\n", encoding="utf-8")
    kwargs = dict(dataset_root=str(tmp_path), num_classes=3, ignore_index=3,
                  train_path="l.txt", val_path="l.txt")
    crop = T.RandomPaddingCrop(crop_size=[8, 8])   # pads labels with 255 by default
    with pytest.raises(ValueError, match=r"RandomPaddingCrop pads labels with 255, which is neither "
                                         r"a class id \(0-2\) nor ignore_index 3; set its "
                                         r"label_padding_value: 3"):
        Dataset(mode="train", transforms=[crop], **kwargs)
    Dataset(mode="val", transforms=[crop], **kwargs)   # evaluation never pads labels
    for value in (3, 0):
        Dataset(mode="train", transforms=[T.RandomPaddingCrop([8, 8], label_padding_value=value)],
                **kwargs)
