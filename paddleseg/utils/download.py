"""Fetch pretrained weights into a local cache (standard library only).

Cache layout: ``$PADDLESEG_HOME/pretrained/<name>/model.pdparams`` where PADDLESEG_HOME
defaults to ``~/.cache/paddleseg`` and ``<name>`` is the archive name without its extension
(``.../resnet101_vd_ssld.tar.gz`` -> ``resnet101_vd_ssld``) or, for a URL that points at a
weight file directly, the name of its parent folder in the URL (``.../encnet_x/model.pdparams``
-> ``encnet_x``). A file placed there by hand is used without any network access.

Nothing unusable stays cached: a response that is a web page (HTML/JSON) or empty, or an archive
that does not unpack, is refused before it enters the cache; a cached file that ``paddle.load``
then cannot read is removed (:func:`discard_download`, called by ``pretrained.read_state_dict``),
so the next run downloads it again. The errors name the URL, the cache path and what to do.
"""
from __future__ import annotations

import os
import shutil
import tarfile
import tempfile
import urllib.parse
import urllib.request
import zipfile
from typing import Tuple

from paddleseg.utils import logger
from paddleseg.utils.errors import CheckpointError

URL_SCHEMES = ("http", "https", "ftp", "file")
ARCHIVE_SUFFIXES = (".tar.gz", ".tgz", ".tar", ".zip")
WEIGHTS_NAME = "model.pdparams"


class DownloadError(CheckpointError):
    """A pretrained-weights URL could not be fetched, unpacked or read (a RuntimeError, exit 1)."""


def is_url(path: str) -> bool:
    """True when ``path`` is a URL this module can fetch (http(s), ftp, file)."""
    return urllib.parse.urlparse(path).scheme.lower() in URL_SCHEMES


def cache_root() -> str:
    """Folder holding downloaded weights: ``$PADDLESEG_HOME/pretrained`` (default ~/.cache/paddleseg)."""
    home = os.environ.get("PADDLESEG_HOME") or os.path.join(os.path.expanduser("~"), ".cache", "paddleseg")
    return os.path.join(home, "pretrained")


def _archive_suffix(filename: str) -> str:
    for suffix in ARCHIVE_SUFFIXES:
        if filename.lower().endswith(suffix):
            return suffix
    return ""


def cache_location(url: str) -> Tuple[str, str]:
    """Return ``(cache_dir, weights_file_name)`` where the weights of ``url`` are kept."""
    parts = [p for p in urllib.parse.unquote(urllib.parse.urlparse(url).path).split("/") if p]
    if not parts:
        raise DownloadError(f"Pretrained URL {url!r} has no file name in its path")
    filename = parts[-1]
    suffix = _archive_suffix(filename)
    if suffix:
        return os.path.join(cache_root(), filename[: -len(suffix)]), WEIGHTS_NAME
    name = parts[-2] if len(parts) > 1 else os.path.splitext(filename)[0]
    return os.path.join(cache_root(), name), filename


def _fetch(url: str, dst: str) -> None:
    """Stream ``url`` into the file ``dst`` (tests monkeypatch this to stay offline)."""
    with urllib.request.urlopen(url, timeout=60) as response, open(dst, "wb") as out:
        shutil.copyfileobj(response, out, length=1 << 20)


def discard_download(url: str) -> str:
    """Remove what the cache holds for ``url`` (a download that turned out unreadable); returns the
    path removed. Only the file of a direct URL goes, the whole folder of an archive."""
    cache_dir, filename = cache_location(url)
    if _archive_suffix(url):
        shutil.rmtree(cache_dir, ignore_errors=True)
        return cache_dir
    target = os.path.join(cache_dir, filename)
    if os.path.isfile(target):
        os.remove(target)
    return target


# A weights file is a pickle (paddle.save) or a zip; servers answering with an error or login
# page send HTML with status 200. Checked before the download enters the cache.
_MARKUP_STARTS = (b"<!doctype", b"<html", b"<?xml", b"<head", b"<body", b"{")


def _looks_like_markup(path: str) -> bool:
    with open(path, "rb") as f:
        head = f.read(512).lstrip().lower()
    return not head or head.startswith(_MARKUP_STARTS)


def _find_weights(folder: str) -> str:
    """The single ``model.pdparams`` under ``folder`` (archives often wrap it in a subfolder)."""
    hits = [os.path.join(root, WEIGHTS_NAME) for root, _, files in os.walk(folder) if WEIGHTS_NAME in files]
    if not hits:
        raise DownloadError(f"No {WEIGHTS_NAME} found in the archive unpacked at {folder}")
    return min(hits, key=len)


def _unpack(archive: str, dst_dir: str) -> None:
    if zipfile.is_zipfile(archive):
        with zipfile.ZipFile(archive) as zf:
            zf.extractall(dst_dir)  # zipfile strips absolute paths and '..' itself
        return
    with tarfile.open(archive) as tf:
        if hasattr(tarfile, "data_filter"):
            tf.extractall(dst_dir, filter="data")  # refuses links/paths escaping dst_dir
        else:
            root = os.path.realpath(dst_dir)
            for member in tf.getmembers():
                if not os.path.realpath(os.path.join(dst_dir, member.name)).startswith(root + os.sep):
                    raise DownloadError(f"Archive member {member.name!r} escapes {dst_dir}")
            tf.extractall(dst_dir)


def _manual_hint(url: str, target: str) -> str:
    return (f"Download {url} yourself and place the weights at {target}"
            f"{' (unpack the archive there)' if _archive_suffix(url) else ''}, point `pretrained` at a "
            f"local file, or set `pretrained: null` to train from scratch.")


def download_pretrained(url: str) -> str:
    """Return the local path of the weights behind ``url``, downloading them once.

    Downloads go to a temporary name in the cache folder and are renamed into place only when
    complete, so an interrupted download never leaves a truncated file that looks valid.

    Raises:
        DownloadError: the fetch or the unpacking failed; the message says where to put the
            file by hand.
    """
    cache_dir, filename = cache_location(url)
    target = os.path.join(cache_dir, filename)
    if os.path.isfile(target):
        return target
    if _archive_suffix(url) and os.path.isdir(cache_dir):
        try:
            return _find_weights(cache_dir)
        except DownloadError:
            pass  # an unrelated or partial folder: download again
    os.makedirs(cache_root(), exist_ok=True)
    logger.info(f"Downloading {url} to {cache_dir}")
    with tempfile.TemporaryDirectory(prefix=".download-", dir=cache_root()) as tmp:
        part = os.path.join(tmp, "payload")
        try:
            _fetch(url, part)
        except Exception as err:  # noqa: BLE001 - any network/IO failure gets the same advice
            raise DownloadError(f"Could not download pretrained weights from {url}: {err}. "
                                f"{_manual_hint(url, target)}") from err
        if _archive_suffix(url):
            unpacked = os.path.join(tmp, "unpacked")
            try:
                _unpack(part, unpacked)
                _find_weights(unpacked)
            except (tarfile.TarError, zipfile.BadZipFile, OSError, EOFError, DownloadError) as err:
                raise DownloadError(f"Could not unpack {url}: {err}. {_manual_hint(url, target)}") from err
            if os.path.isdir(cache_dir):
                shutil.rmtree(cache_dir)
            os.replace(unpacked, cache_dir)
            return _find_weights(cache_dir)
        if _looks_like_markup(part):
            raise DownloadError(f"{url} returned an empty file or a web page (HTML/JSON), not weights; nothing "
                                f"was cached. Check the URL. {_manual_hint(url, target)}")
        os.makedirs(cache_dir, exist_ok=True)
        os.replace(part, target)
    return target
