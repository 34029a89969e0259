"""Pretrained weights: local paths, URLs (offline), archives, load summary, errors."""
import os
import tarfile
import zipfile

import numpy as np
import paddle
import paddle.nn as nn
import pytest

from paddleseg.utils import download
from paddleseg.utils.download import DownloadError, cache_location, download_pretrained
from paddleseg.utils.pretrained import apply_state_dict, load_entire_model, load_pretrained_model


class Tiny(nn.Layer):
    def __init__(self, out_channels: int = 4) -> None:
        super().__init__()
        self.conv = nn.Conv2D(3, out_channels, 3)
        self.bn = nn.BatchNorm2D(out_channels)


def saved_weights(tmp_path, name="model.pdparams", **kwargs):
    model = Tiny(**kwargs)
    path = tmp_path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    paddle.save(model.state_dict(), str(path))
    return model, path


def assert_same_weights(a, b):
    for (k, v), (k2, v2) in zip(a.state_dict().items(), b.state_dict().items()):
        assert k == k2
        np.testing.assert_array_equal(v.numpy(), v2.numpy())


@pytest.fixture(autouse=True)
def cache_home(tmp_path, monkeypatch):
    home = tmp_path / "home"
    monkeypatch.setenv("PADDLESEG_HOME", str(home))
    return home


def test_local_file_and_folder(tmp_path):
    source, path = saved_weights(tmp_path / "ckpt")
    for target in (str(path), str(path.parent)):
        model = Tiny()
        load_pretrained_model(model, target)
        assert_same_weights(model, source)


def test_none_is_a_no_op():
    model = Tiny()
    before = model.conv.weight.numpy().copy()
    load_pretrained_model(model, None)
    np.testing.assert_array_equal(model.conv.weight.numpy(), before)


def test_missing_local_path_names_it(tmp_path):
    missing = str(tmp_path / "nope" / "weights.pdparams")
    with pytest.raises(FileNotFoundError, match="nope"):
        load_pretrained_model(Tiny(), missing)


def test_summary_lists_missing_unexpected_and_mismatched(tmp_path, capsys):
    state = Tiny(out_channels=5).state_dict()       # every tensor has the wrong shape...
    del state["bn._variance"]                         # ...one is missing...
    for i in range(12):                               # ...and many are unknown
        state[f"extra.{i}"] = paddle.zeros([1])
    report = apply_state_dict(Tiny(), state)
    assert report.loaded == [] and report.missing == ["bn._variance"]
    assert len(report.unexpected) == 12 and len(report.mismatched) == 5
    path = tmp_path / "bad.pdparams"
    paddle.save(state, str(path))
    load_pretrained_model(Tiny(), str(path))
    err = capsys.readouterr().err
    assert "Loaded 0/6 tensors into Tiny" in err
    assert "missing in checkpoint (1" in err and "bn._variance" in err
    assert "unused from checkpoint (12)" in err and "(+4 more)" in err  # truncated list
    assert "shape mismatch, skipped (5)" in err and "conv.weight (checkpoint [5, 3, 3, 3] vs model [4, 3, 3, 3])" in err
    assert err.count("[WARNING]") == 1  # one block, not a wall of warnings


def test_load_entire_model(tmp_path, capsys):
    source, path = saved_weights(tmp_path)
    model = Tiny()
    load_entire_model(model, str(path))
    assert_same_weights(model, source)
    assert "Loaded 6/6 tensors into Tiny" in capsys.readouterr().out
    paddle.save({"other.weight": paddle.zeros([2])}, str(tmp_path / "other.pdparams"))
    with pytest.raises(ValueError, match="None of the tensors"):
        load_entire_model(Tiny(), str(tmp_path / "other.pdparams"))
    load_entire_model(Tiny(), None)
    assert "No weights given for Tiny" in capsys.readouterr().err


def test_file_url_is_downloaded_once_into_the_cache(tmp_path, cache_home, monkeypatch):
    source, path = saved_weights(tmp_path / "served" / "tiny_model")
    url = path.as_uri()  # file:///.../served/tiny_model/model.pdparams
    model = Tiny()
    load_pretrained_model(model, url)
    assert_same_weights(model, source)
    cached = cache_home / "pretrained" / "tiny_model" / "model.pdparams"
    assert cached.is_file()
    assert sorted(os.listdir(cache_home / "pretrained")) == ["tiny_model"]  # no temp leftovers

    def no_network(url, dst):
        raise AssertionError("cached weights must not be fetched again")
    monkeypatch.setattr(download, "_fetch", no_network)
    assert download_pretrained(url) == str(cached)


@pytest.mark.parametrize("suffix", [".tar.gz", ".tgz", ".zip"])
def test_archive_url_is_unpacked(tmp_path, cache_home, suffix):
    source, path = saved_weights(tmp_path / "src" / "inner")
    archive = tmp_path / f"resnet_tiny{suffix}"
    if suffix == ".zip":
        with zipfile.ZipFile(archive, "w") as zf:
            zf.write(path, "inner/model.pdparams")
    else:
        with tarfile.open(archive, "w:gz") as tf:
            tf.add(path, "inner/model.pdparams")
    model = Tiny()
    load_pretrained_model(model, archive.as_uri())
    assert_same_weights(model, source)
    assert (cache_home / "pretrained" / "resnet_tiny" / "inner" / "model.pdparams").is_file()


def test_archive_without_weights_is_an_error(tmp_path):
    other = tmp_path / "readme.txt"
    other.write_text("no weights here")
    archive = tmp_path / "empty.tar.gz"
    with tarfile.open(archive, "w:gz") as tf:
        tf.add(other, "readme.txt")
    with pytest.raises(DownloadError, match="No model.pdparams"):
        download_pretrained(archive.as_uri())


def test_failed_download_says_what_to_do(cache_home, monkeypatch):
    def offline(url, dst):
        with open(dst, "wb") as f:
            f.write(b"partial")
        raise OSError("network is unreachable")
    monkeypatch.setattr(download, "_fetch", offline)
    url = "https://example.com/weights/resnet101_vd_ssld.tar.gz"
    with pytest.raises(DownloadError) as info:
        load_pretrained_model(Tiny(), url)
    message = str(info.value)
    cache_dir = str(cache_home / "pretrained" / "resnet101_vd_ssld")
    assert url in message and cache_dir in message and "pretrained: null" in message
    assert "network is unreachable" in message
    assert os.listdir(cache_home / "pretrained") == []  # the partial file was not kept


def test_cache_location_names():
    home = os.environ["PADDLESEG_HOME"]
    assert cache_location("https://h/x/resnet101_vd_ssld.tar.gz") == \
        (os.path.join(home, "pretrained", "resnet101_vd_ssld"), "model.pdparams")
    assert cache_location("https://h/dygraph/encnet_r101/model.pdparams") == \
        (os.path.join(home, "pretrained", "encnet_r101"), "model.pdparams")


def test_default_cache_root(monkeypatch, tmp_path):
    monkeypatch.delenv("PADDLESEG_HOME")
    monkeypatch.setenv("HOME", str(tmp_path))
    assert download.cache_root() == os.path.join(str(tmp_path), ".cache", "paddleseg", "pretrained")


def test_lenient_load_warns_once_in_summary_and_lists_all_at_debug(tmp_path, capsys, monkeypatch):
    import warnings

    from paddleseg.utils import logger
    state = Tiny().state_dict()
    del state["bn._variance"]
    for i in range(12):
        state[f"extra.{i}"] = paddle.zeros([1])
    path = tmp_path / "partial.pdparams"
    paddle.save(state, str(path))
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        load_pretrained_model(Tiny(), str(path))
    assert not [w for w in seen if "Skip loading" in str(w.message)]   # no line per tensor
    captured = capsys.readouterr()
    assert "extra.11" not in captured.out + captured.err                # the summary names a few
    monkeypatch.setattr(logger, "log_level", 0)
    load_pretrained_model(Tiny(), str(path))
    out = capsys.readouterr().out
    assert "[DEBUG]" in out and "unused from checkpoint: extra.11" in out
    assert "missing in checkpoint: bn._variance" in out
