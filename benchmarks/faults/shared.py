"""Inputs several cases read but never modify: tiny data, a trained model, its export."""
from __future__ import annotations

import json
import os
import subprocess
import threading
from typing import Callable, Dict, List, Sequence

from .context import ICNET_CONFIG, PY, QUICKSTART, REPO
from .proc import base_env, check_run


def quick_opts(data: str, *extra: str) -> List[str]:
    """``--opts`` for the quickstart config on tiny data (32x32 crops)."""
    return ["--opts", f"train_dataset.dataset_root={data}", f"val_dataset.dataset_root={data}",
            "train_dataset.transforms.1.crop_size=[32,32]", *extra]


def train_argv(save_dir: str, data: str, *flags: str, opts: Sequence[str] = (),
               config: str = QUICKSTART) -> List[str]:
    """train.py on tiny data: batch 2, 2 iterations, one CPU thread, a log line per iteration;
    ``flags`` come later and win (argparse keeps the last value)."""
    return ["train.py", "--config", config, "--save_dir", save_dir, "--num_threads", "1",
            "--log_iters", "1", "--batch_size", "2", "--iters", "2", *flags,
            *quick_opts(data, *opts)]


class Shared:
    """Inputs several cases read but never modify, built once per catalogue run on first use."""

    def __init__(self, root: str) -> None:
        self.root = root
        self.env = base_env(os.path.join(root, "home"))
        self._locks: Dict[str, threading.Lock] = {}
        self._values: Dict[str, object] = {}
        self._guard = threading.Lock()

    def _once(self, key: str, build: Callable[[], object]) -> object:
        with self._guard:
            lock = self._locks.setdefault(key, threading.Lock())
        with lock:
            if key not in self._values:
                self._values[key] = build()
            return self._values[key]

    def run(self, argv: Sequence[str], what: str, timeout: float = 300) -> None:
        check_run(subprocess.run([PY, *argv], cwd=REPO, env=self.env, capture_output=True,
                                 text=True, timeout=timeout), what)

    def data(self) -> Dict[str, object]:
        """Tiny dataset: ``{'root', 'train': [(img_rel, label_rel)], 'val': [...]}``."""
        def build() -> Dict[str, object]:
            root = os.path.join(self.root, "data")
            # A subprocess keeps Paddle (imported by paddleseg) out of the catalogue's own process.
            self.run(["-c", "import json, sys; from paddleseg.datasets.synthetic import generate; "
                            "r = generate(sys.argv[1], 4, 2, (64, 32), 0); "
                            "json.dump({'train': r['train'], 'val': r['val']}, "
                            "open(sys.argv[2], 'w'))",
                      root, os.path.join(self.root, "data.json")], "generating the data")
            info = json.load(open(os.path.join(self.root, "data.json")))
            return {"root": root, "train": [tuple(p) for p in info["train"]],
                    "val": [tuple(p) for p in info["val"]]}
        return self._once("data", build)

    def trained(self) -> str:
        """save_dir of a 2-iteration run with iter_1/ and iter_2/ (seed 0)."""
        def build() -> str:
            save = os.path.join(self.root, "trained")
            self.run(train_argv(save, self.data()["root"], "--iters", "2", "--save_interval", "1",
                                "--seed", "0"), "training the shared model")
            return save
        return self._once("trained", build)

    def model(self) -> str:
        return os.path.join(self.trained(), "iter_2", "model.pdparams")

    def exported(self) -> str:
        """export.py's folder for the shared model."""
        def build() -> str:
            out = os.path.join(self.root, "export")
            self.run(["export.py", "--config", QUICKSTART, "--model_path", self.model(),
                      "--save_dir", out, "--num_threads", "1", *quick_opts(self.data()["root"])],
                     "exporting the shared model")
            return out
        return self._once("exported", build)

    def foreign_weights(self) -> Dict[str, str]:
        """State dicts that do not fit the quickstart ENCNet: an ICNet, and an ENCNet with 5
        classes."""
        def build() -> Dict[str, str]:
            out = {"icnet": os.path.join(self.root, "foreign", "icnet", "model.pdparams"),
                   "encnet5": os.path.join(self.root, "foreign", "encnet5", "model.pdparams")}
            data = self.data()["root"]
            # The 5-class ENCNet is built directly: the config ties num_classes to Cityscapes' 19.
            code = ("import os, sys, paddle\n"
                    "from paddleseg.cvlibs import Config, SegBuilder\n"
                    "from paddleseg.models import ENCNet\n"
                    "from paddleseg.models.backbones import ResNet18_vd\n"
                    "def save(model, path):\n"
                    "    os.makedirs(os.path.dirname(path), exist_ok=True)\n"
                    "    paddle.save(model.state_dict(), path)\n"
                    f"roots = ['train_dataset.dataset_root={data}', "
                    f"'val_dataset.dataset_root={data}']\n"
                    f"save(SegBuilder(Config({ICNET_CONFIG!r}, opts=roots)).model, "
                    f"{out['icnet']!r})\n"
                    "save(ENCNet(5, ResNet18_vd(output_stride=16), backbone_indices=[1, 2, 3], "
                    "num_codes=16, mid_channels=64, use_se_loss=True, add_lateral=True), "
                    f"{out['encnet5']!r})\n")
            self.run(["-c", code], "writing foreign weights")
            return out
        return self._once("foreign", build)
