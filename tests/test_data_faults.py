"""Bad data fails fast and names its files (issue 12, items 1, 9 and 10).

A sample that cannot be loaded (label size differs from its image, truncated PNG) stops training
and evaluation within seconds with one DataError naming image and label, for 0 or N loader workers
and for several ranks; the pre-flight scan finds it before step 1; any file name can be read; a file
list that is not UTF-8 names its line; lossy (JPEG) labels are refused by name and by content.
Without the fix the loader hangs (0 workers), or dies with "Blocking queue is killed" (workers).
"""
import glob
import os
import subprocess
import sys
import time

import cv2
import numpy as np
import paddle
import pytest

import paddleseg.transforms as T
from paddleseg.core.data import SampleLoadError, build_train_loader
from paddleseg.core.val import evaluate
from paddleseg.datasets import Cityscapes, Dataset
from paddleseg.transforms.io import read_image, read_label
from paddleseg.utils.errors import DataError
from paddleseg.datasets.synthetic import generate

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
QUICKSTART = os.path.join(REPO, "configs", "quickstart", "encnet_resnet18_synthetic.yml")


def _make_data(root, num_train=4, num_val=2):
    generate(str(root), num_train=num_train, num_val=num_val, size=(64, 32), seed=4)
    return str(root)


def _pair(root, split, index=0):
    """(image, label) paths of the index-th sample of a split, in the dataset's order."""
    labels = sorted(glob.glob(os.path.join(root, "gtFine", split, "*", "*_gtFine_labelTrainIds.png")))
    label = labels[index]
    city, name = label.split(os.sep)[-2], os.path.basename(label)[: -len("_gtFine_labelTrainIds.png")]
    return os.path.join(root, "leftImg8bit", split, city, name + "_leftImg8bit.png"), label


def _shrink_label(label_path):
    label = cv2.imread(label_path, cv2.IMREAD_UNCHANGED)
    cv2.imwrite(label_path, cv2.resize(label, (20, 10), interpolation=cv2.INTER_NEAREST))


def _truncate(path, size=300):
    with open(path, "r+b") as f:
        f.truncate(size)


def _assert_names_pair(message, img, label):
    assert img in message and label in message, message
    assert "<array>" not in message


FAULTS = {
    "label_size": lambda img, label: _shrink_label(label),
    "truncated_png": lambda img, label: _truncate(img),
}
PROBLEM = {"label_size": "20x10 vs image", "truncated_png": "truncated"}


@pytest.fixture
def data(tmp_path):
    return _make_data(tmp_path / "data")


# ----------------------------------------------------------------- loaders, in-process
# A regression blocks inside Paddle's C++ queue, where pytest-timeout's SIGALRM cannot interrupt it:
# these tests use the thread method, which ends the test session instead of hanging CI.


@pytest.mark.timeout(120, method="thread")
@pytest.mark.parametrize("num_workers", [0, 2])
@pytest.mark.parametrize("fault", sorted(FAULTS))
def test_train_loader_raises_the_sample_error(data, fault, num_workers):
    img, label = _pair(data, "train", 2)
    FAULTS[fault](img, label)
    ds = Cityscapes([T.RandomPaddingCrop([32, 32]), T.Normalize()], data, mode="train")
    loader = build_train_loader(ds, batch_size=2, seed=0, num_workers=num_workers)
    start = time.time()
    with pytest.raises(DataError) as err:
        for _ in zip(range(8), loader):   # two epochs: the bad sample is drawn
            pass
    assert time.time() - start < 60
    _assert_names_pair(str(err.value), img, label)
    assert PROBLEM[fault] in str(err.value)


class _Logits(paddle.nn.Layer):
    def __init__(self):
        super().__init__()
        self.conv = paddle.nn.Conv2D(3, 19, 1)

    def forward(self, x):
        return [self.conv(x)]


@pytest.mark.timeout(120, method="thread")
@pytest.mark.parametrize("num_workers", [0, 2])
@pytest.mark.parametrize("fault", sorted(FAULTS))
def test_evaluate_raises_the_sample_error(data, fault, num_workers):
    img, label = _pair(data, "val", 1)
    FAULTS[fault](img, label)
    ds = Cityscapes([T.Normalize()], data, mode="val")
    with pytest.raises(DataError) as err:
        evaluate(_Logits(), ds, num_workers=num_workers, progress=False, print_detail=False)
    _assert_names_pair(str(err.value), img, label)
    assert PROBLEM[fault] in str(err.value)


class _Buggy(paddle.io.Dataset):
    """A bug (not bad data) in __getitem__: it must surface with its traceback, not as a DataError."""
    num_classes = 2

    def __len__(self):
        return 4

    def __getitem__(self, i):
        return {}["img"]


@pytest.mark.timeout(120, method="thread")
@pytest.mark.parametrize("num_workers", [0, 2])
def test_a_bug_in_loading_surfaces_with_its_traceback(num_workers):
    loader = build_train_loader(_Buggy(), batch_size=2, seed=0, num_workers=num_workers)
    with pytest.raises(SampleLoadError) as err:
        next(iter(loader))
    assert not isinstance(err.value, DataError)
    assert "KeyError: 'img'" in str(err.value) and "Traceback" in str(err.value) and "__getitem__" in str(err.value)


# ----------------------------------------------------------------- the CLIs, in subprocesses


def _env():
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PADDLE_", "FLAGS_"))}
    env.pop("PADDLESEG_DEBUG", None)
    return env


def _opts(root):
    return ["--opts", f"train_dataset.dataset_root={root}", f"val_dataset.dataset_root={root}",
            "train_dataset.transforms.1.crop_size=[32,32]"]


def _run(args, timeout=150):
    start = time.time()
    run = subprocess.run([sys.executable, *args], cwd=REPO, env=_env(), capture_output=True, text=True,
                         timeout=timeout)
    return run, time.time() - start


@pytest.mark.timeout(200)
@pytest.mark.parametrize("num_workers", ["0", "2"])
def test_train_cli_stops_on_a_bad_label_with_one_line(data, tmp_path, num_workers):
    img, label = _pair(data, "train", 1)
    _shrink_label(label)
    run, _ = _run(["train.py", "--config", QUICKSTART, "--save_dir", str(tmp_path / "run"), "--iters", "4",
                   "--batch_size", "2", "--num_threads", "1", "--num_workers", num_workers, "--check_labels", "0",
                   *_opts(data)])
    assert run.returncode == 1, run.stderr[-3000:]
    assert "Traceback" not in run.stderr and "Blocking queue" not in run.stderr, run.stderr[-3000:]
    error = [line for line in run.stderr.splitlines() if line.startswith("train.py: error:")]
    assert len(error) == 1, run.stderr[-3000:]
    _assert_names_pair(error[0], img, label)
    assert "label" in error[0] and "20x10 vs image" in error[0] and "64x32" in error[0]
    assert not (tmp_path / "run" / "iter_4").exists()


@pytest.mark.timeout(200)
def test_val_cli_stops_on_a_truncated_image(data, tmp_path):
    from paddleseg.cvlibs import Config, SegBuilder
    model_path = str(tmp_path / "model.pdparams")
    paddle.save(SegBuilder(Config(QUICKSTART, opts=_opts(data)[1:])).model.state_dict(), model_path)
    img, label = _pair(data, "val", 1)
    _truncate(img)
    run, _ = _run(["val.py", "--config", QUICKSTART, "--model_path", model_path, "--num_threads", "1",
                   "--num_workers", "2", "--save_metrics", str(tmp_path / "m.json"), *_opts(data)])
    assert run.returncode == 1, run.stderr[-3000:]
    assert "Traceback" not in run.stderr, run.stderr[-3000:]
    error = [line for line in run.stderr.splitlines() if "val.py: error:" in line]
    assert len(error) == 1, run.stderr[-3000:]
    _assert_names_pair(error[0], img, label)
    assert "truncated" in error[0]
    assert not (tmp_path / "m.json").exists()


@pytest.mark.timeout(300)
def test_two_ranks_both_stop_on_a_bad_sample(data, tmp_path):
    img, label = _pair(data, "train", 3)
    _shrink_label(label)
    log = tmp_path / "log"
    run, elapsed = _run(["-m", "paddle.distributed.launch", "--nproc_per_node", "2", "--log_dir", str(log),
                         "train.py", "--config", QUICKSTART, "--save_dir", str(tmp_path / "run"), "--iters", "6",
                         "--batch_size", "1", "--num_threads", "1", "--check_labels", "0", *_opts(data)],
                        timeout=240)
    logs = "".join(open(log / f, errors="replace").read() for f in sorted(os.listdir(log)) if f.startswith("worker"))
    assert run.returncode != 0, logs[-3000:]
    errors = [line for line in logs.splitlines() if "train.py: error:" in line]
    assert errors, logs[-3000:]
    _assert_names_pair(errors[0], img, label)
    assert not (tmp_path / "run" / "iter_6").exists()


# ----------------------------------------------------------------- pre-flight scan


@pytest.mark.timeout(60)
def test_check_labels_decodes_images_and_compares_sizes(data):
    truncated_img, truncated_label = _pair(data, "train", 0)
    small_img, small_label = _pair(data, "train", 3)
    _truncate(truncated_img)
    _shrink_label(small_label)
    ds = Cityscapes([T.Normalize()], data, mode="train")
    with pytest.raises(DataError) as err:
        ds.check_labels()
    msg = str(err.value)
    assert "2 of 4" in msg
    _assert_names_pair(msg, truncated_img, truncated_label)
    _assert_names_pair(msg, small_img, small_label)
    assert "truncated" in msg and "20x10 vs image" in msg


@pytest.mark.timeout(200)
def test_train_cli_finds_a_truncated_image_before_step_one(data, tmp_path):
    img, _ = _pair(data, "train", 2)
    _truncate(img)
    # One iteration of batch 1 need not draw the bad image; the pre-flight scan must find it anyway.
    run, _ = _run(["train.py", "--config", QUICKSTART, "--save_dir", str(tmp_path / "run"), "--iters", "1",
                   "--batch_size", "1", "--num_threads", "1", *_opts(data)])
    assert run.returncode == 1, run.stderr[-3000:]
    assert "Traceback" not in run.stderr and img in run.stderr and "truncated" in run.stderr
    assert "Start training" not in run.stderr + run.stdout


# ----------------------------------------------------------------- file names and encodings


@pytest.mark.timeout(120)
def test_non_utf8_file_names_are_read(tmp_path):
    # cv2.imread segfaults on such names: read in a child process so a regression cannot take pytest down.
    root = _make_data(tmp_path / "data")
    img, label = _pair(root, "val", 0)
    suffix_img, suffix_label = "_leftImg8bit.png", "_gtFine_labelTrainIds.png"
    odd = b"caf\xe9_000000_000009"   # Latin-1 e-acute: not valid UTF-8
    new_img = os.path.join(os.fsencode(os.path.dirname(img)), odd + suffix_img.encode())
    new_label = os.path.join(os.fsencode(os.path.dirname(label)), odd + suffix_label.encode())
    os.rename(img, new_img)
    os.rename(label, new_label)
    code = ("import os, paddleseg.transforms as T\n"
            "from paddleseg.datasets import Cityscapes\n"
            f"ds = Cityscapes([T.Normalize()], {root!r}, mode='val')\n"
            "hits = [i for i, (p, _) in enumerate(ds.file_list) if b'caf\\xe9' in os.fsencode(p)]\n"
            "assert len(hits) == 1, ds.file_list\n"
            "s = ds[hits[0]]\n"
            "assert s['img'].shape == (3, 32, 64) and s['label'].shape == (32, 64)\n"
            "assert ds.check_labels() == 2\n"
            "print('ok')\n")
    run = subprocess.run([sys.executable, "-c", code], env=_env(), capture_output=True, text=True, timeout=100)
    assert run.returncode == 0 and "ok" in run.stdout, (run.returncode, run.stderr[-3000:])
    # Errors show such a name readably (\xe9), not as a crash while printing it.
    os.remove(new_img)
    with pytest.raises(FileNotFoundError, match=r"caf\\xe9"):
        read_image(os.fsdecode(new_img))


@pytest.mark.timeout(60)
def test_read_errors_name_the_file_and_the_problem(tmp_path):
    png = tmp_path / "trunc.png"
    cv2.imwrite(str(png), np.random.RandomState(0).randint(0, 255, (32, 64, 3)).astype(np.uint8))
    _truncate(str(png))
    with pytest.raises(ValueError, match=r"trunc\.png.*PNG data is truncated"):
        read_image(str(png))
    with pytest.raises(ValueError, match=r"trunc\.png.*PNG data is truncated"):
        read_label(str(png))
    empty = tmp_path / "empty.png"
    empty.write_bytes(b"")
    with pytest.raises(ValueError, match=r"empty\.png is empty"):
        read_image(str(empty))       # OpenCV itself raises a cv2.error without the file name here
    text = tmp_path / "notes.png"
    text.write_text("not an image")
    with pytest.raises(ValueError, match=r"notes\.png.*not an image"):
        read_image(str(text))
    with pytest.raises(OSError, match=str(tmp_path)):
        read_image(str(tmp_path))    # a directory


@pytest.mark.timeout(60)
def test_latin1_file_list_names_the_file_and_line(data, tmp_path):
    img, label = _pair(data, "train", 0)
    listing = tmp_path / "train_list.txt"
    listing.write_bytes(f"{img} {label}\n".encode() + "caf\u00e9.png caf\u00e9_label.png\n".encode("latin-1"))
    with pytest.raises(ValueError) as err:
        Dataset("train", data, [], 19, train_path=str(listing))
    msg = str(err.value)
    assert f"{listing}:2" in msg and "UTF-8" in msg, msg


# ----------------------------------------------------------------- lossy labels


@pytest.mark.timeout(60)
def test_jpeg_labels_are_refused_by_extension_and_by_content(data, tmp_path):
    img, label = _pair(data, "train", 0)
    jpg_label = tmp_path / "label.jpg"
    cv2.imwrite(str(jpg_label), cv2.imread(label, cv2.IMREAD_UNCHANGED))
    listing = tmp_path / "list.txt"
    listing.write_text(f"{img} {jpg_label}\n")
    with pytest.raises(ValueError) as err:    # at construction, before any training
        Dataset("train", data, [], 19, train_path=str(listing))
    assert str(jpg_label) in str(err.value) and "PNG, BMP or TIFF" in str(err.value)

    disguised = tmp_path / "label.png"        # JPEG bytes behind a .png name
    disguised.write_bytes(jpg_label.read_bytes())
    with pytest.raises(ValueError, match=r"label\.png is a JPEG file; label files must be PNG, BMP or TIFF"):
        read_label(str(disguised))
    listing.write_text(f"{img} {disguised}\n")
    ds = Dataset("train", data, [], 19, train_path=str(listing))
    with pytest.raises(DataError, match="JPEG") as err:
        ds[0]
    _assert_names_pair(str(err.value), img, str(disguised))
    with pytest.raises(DataError, match="JPEG"):
        ds.check_labels()
    # Lossless labels in other formats still read.
    for ext in (".bmp", ".tif"):
        path = str(tmp_path / f"label{ext}")
        cv2.imwrite(path, cv2.imread(label, cv2.IMREAD_UNCHANGED))
        np.testing.assert_array_equal(read_label(path), cv2.imread(label, cv2.IMREAD_UNCHANGED))
