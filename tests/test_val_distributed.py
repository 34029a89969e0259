"""val.py under paddle.distributed.launch: two CPU ranks (gloo) share the images and sum their
confusion matrices; the result equals a single-process evaluation."""
import json
import os
import subprocess
import sys

import numpy as np
import paddle
import pytest

import val as val_cli
from paddleseg.cvlibs import Config, SegBuilder
from paddleseg.datasets.synthetic import generate

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CONFIG = os.path.join(REPO, "configs", "icnet", "icnet_resnet18_vd_synthetic_quickstart.yml")


def test_two_ranks_match_one_process(tmp_path):
    data = tmp_path / "data"
    generate(str(data), num_train=1, num_val=5, size=(96, 64), seed=11)   # 5 images: ranks get 3 and 2
    opts = ["--opts", f"train_dataset.dataset_root={data}", f"val_dataset.dataset_root={data}"]
    paddle.seed(0)
    model_path = str(tmp_path / "model.pdparams")
    paddle.save(SegBuilder(Config(CONFIG)).model.state_dict(), model_path)

    single = val_cli.main(["--config", CONFIG, "--model_path", model_path, "--save_metrics",
                           str(tmp_path / "single.json"), *opts])
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PADDLE_", "FLAGS_"))}
    cmd = [sys.executable, "-m", "paddle.distributed.launch", "--nproc_per_node", "2", "--log_dir",
           str(tmp_path / "log"), os.path.join(REPO, "val.py"), "--config", CONFIG, "--model_path", model_path,
           "--num_threads", "1", "--save_metrics", str(tmp_path / "dist.json"), *opts]
    run = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    logs = "".join(open(os.path.join(tmp_path / "log", f)).read() for f in sorted(os.listdir(tmp_path / "log")))
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-2000:] + logs[-3000:]
    dist = json.load(open(tmp_path / "dist.json"))
    np.testing.assert_array_equal(np.asarray(dist["confusion_matrix"]), np.asarray(single["confusion_matrix"]))
    assert dist["mIoU"] == pytest.approx(single["mIoU"])
