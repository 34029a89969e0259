"""Shared test set-up: the subprocess import path, session fixtures and the process-state guard.

Session fixtures (read-only for the tests that use them; copy before damaging):
- ``synthetic_cityscapes``: one generated Cityscapes-layout dataset (4 train, 3 val, 64x32, seed 0).
- ``encnet_checkpoint``: the quickstart ENCNet (ResNet18_vd, 19 classes) after 2 training
  iterations on ``synthetic_cityscapes``: ``<dir>/iter_2/model.pdparams`` stands in for trained weights.
- ``tipc_checkout``: a folder under tmp that mirrors the repository through symlinks but has its
  own ``test_tipc/`` (by default the TIPC scripts write ``test_tipc/output`` and ``test_tipc/data``
  relative to the working directory; TIPC_OUTPUT_DIR / TIPC_DATA_DIR move them), so TIPC runs never
  write into the checkout.
"""
import os
import random

import pytest

from paddleseg.utils.quiet import HARMLESS_WARNINGS, HARMLESS_WHILE_TRACING

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# Scripts run by path (python tools/x.py) put their own folder first on sys.path, so a subprocess would
# import whichever paddleseg is installed; this makes tests' subprocesses use this checkout's package.
os.environ["PYTHONPATH"] = os.pathsep.join(p for p in (REPO, os.environ.get("PYTHONPATH")) if p)

def pytest_configure(config):
    """Paddle's known-harmless warnings, from the scripts' own list (paddleseg/utils/quiet.py), as
    pytest filters (filters set at import would be reset around collection): the test run ends
    with its summary, not with pages of them."""
    for category, message, _ in HARMLESS_WARNINGS + HARMLESS_WHILE_TRACING:
        config.addinivalue_line("filterwarnings", f"ignore:{message}:{category.__name__}")


# The one small size every test that just needs "a dataset" uses.
SYNTHETIC_SIZE = (64, 32)
SYNTHETIC_TRAIN, SYNTHETIC_VAL = 4, 3


@pytest.fixture(scope="session")
def synthetic_cityscapes(tmp_path_factory) -> str:
    """A generated Cityscapes-layout dataset shared by the whole session; do not modify it."""
    from paddleseg.datasets.synthetic import generate
    root = str(tmp_path_factory.mktemp("synthetic_cityscapes"))
    generate(root, num_train=SYNTHETIC_TRAIN, num_val=SYNTHETIC_VAL, size=SYNTHETIC_SIZE, seed=0)
    return root


QUICKSTART = os.path.join(REPO, "configs", "quickstart", "encnet_resnet18_synthetic.yml")


def _baseline_threads() -> int:
    # Paddle has no getter: the baseline is what `import paddle` leaves (it pins OMP_NUM_THREADS).
    return int(os.environ.get("OMP_NUM_THREADS") or 1)


@pytest.fixture(scope="session")
def encnet_checkpoint(synthetic_cityscapes, tmp_path_factory) -> str:
    """A save_dir holding iter_2/ of the quickstart ENCNet trained for 2 iterations (read only)."""
    import paddle

    import train as train_cli
    save_dir = str(tmp_path_factory.mktemp("encnet_checkpoint"))
    train_cli.main(["--config", QUICKSTART, "--save_dir", save_dir, "--iters", "2", "--batch_size", "2",
                    "--save_interval", "2", "--num_workers", "0", "--num_threads", "1", "--seed", "0",
                    "--device", "cpu", "--opts", f"train_dataset.dataset_root={synthetic_cityscapes}",
                    f"val_dataset.dataset_root={synthetic_cityscapes}", "train_dataset.transforms.1.crop_size=[32,32]"])
    paddle.base.core.set_num_threads(_baseline_threads())   # session set-up runs outside the per-test guard
    return save_dir


@pytest.fixture(scope="session")
def tipc_checkout(tmp_path_factory) -> str:
    """A symlinked mirror of the repository whose test_tipc/output and test_tipc/data live under tmp."""
    root = tmp_path_factory.mktemp("tipc_checkout")
    for name in os.listdir(REPO):
        if name not in ("test_tipc", ".git") and not name.startswith("."):
            os.symlink(os.path.join(REPO, name), root / name)
    (root / "test_tipc").mkdir()
    for name in os.listdir(os.path.join(REPO, "test_tipc")):
        if name not in ("output", "data", "__pycache__"):
            os.symlink(os.path.join(REPO, "test_tipc", name), root / "test_tipc" / name)
    return str(root)


@pytest.fixture(autouse=True)
def _restore_process_state():
    """Undo what an in-process train.main/val.main changes for the whole process: the CPU math
    thread count and the Paddle/NumPy/random generators (a later test must not see an earlier
    test's seed or threads; e.g. the huge-lr fault test hit Inf one iteration later after one)."""
    import numpy as np
    import paddle
    threads = _baseline_threads()
    paddle_rng = paddle.get_rng_state()
    np_rng, py_rng = np.random.get_state(), random.getstate()
    yield
    paddle.base.core.set_num_threads(threads)
    paddle.set_rng_state(paddle_rng)
    np.random.set_state(np_rng)
    random.setstate(py_rng)
