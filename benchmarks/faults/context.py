"""A case's declaration (Case, Expect, Run), its context (Ctx) and the catalogue's constants."""
from __future__ import annotations

import os
import re
import shutil
import sys
from typing import Callable, Dict, List, Optional, Sequence, Tuple, Union
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from .proc import Proc, base_env

if TYPE_CHECKING:
    from .shared import Shared


REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
QUICKSTART = os.path.join(REPO, "configs", "quickstart", "encnet_resnet18_synthetic.yml")
ICNET_CONFIG = os.path.join(REPO, "configs", "icnet", "icnet_resnet18_vd_synthetic_quickstart.yml")
PY = sys.executable
TRAIN_LINE = r"\[TRAIN\]"             # the trainer's per-iteration log line
# run_cli's one-line error; tqdm's progress bars end in '\r', not a newline, so the line may follow
# one.
ERROR_LINE = re.compile(r"(?:^|\r)\S+: error: ", re.M)
TEMP_CHECKPOINT = re.compile(r"^\..+\.(tmp|old)-\d+$")  # checkpoint.py's temporary directories
DEFAULT_FORBIDS = ("Traceback", "<array>")

Mention = Union[str, Tuple[str, ...]]  # a string that must appear, or a tuple: any one of them


@dataclass
class Expect:
    """What "handled clearly" means for one case."""

    # accepted exit statuses
    exit: Tuple[int, ...]
    # must appear in stdout+stderr (case-insensitive; {var} filled in)
    mentions: Tuple[Mention, ...] = ()
    # regexes that must match stdout+stderr ({var} filled in, escaped)
    patterns: Tuple[str, ...] = ()
    # must not appear (case-sensitive)
    forbids: Tuple[str, ...] = DEFAULT_FORBIDS
    # seconds; longer is a hang
    timeout: float = 90.0
    # checks on disk; each returns a failure reason or None
    post: Tuple[Callable[["Ctx"], Optional[str]], ...] = ()


@dataclass
class Run:
    """The command whose outcome is judged; ``during`` acts on it while it runs."""

    argv: List[str]  # script (relative to the repo) and its arguments, or ['-c', code]
    env: Dict[str, str] = field(default_factory=dict)
    during: Optional[Callable[["Ctx", Proc], None]] = None


@dataclass
class Case:
    name: str
    kind: str
    # issue 12's numbered failure; 0 = its closing rule (one line, exit 2 / 1, no traceback) and
    # what was handled before
    item: int
    setup: Callable[["Ctx"], Run]
    expect: Expect
    doc: str = ""


class Ctx:
    """One case's temporary directory, the shared inputs and the values its expectations quote."""

    def __init__(self, case: Case, shared: Shared, tmp: str) -> None:
        self.case, self.shared, self.tmp = case, shared, tmp
        self.vars: Dict[str, str] = {"tmp": tmp}
        self.env = base_env(os.path.join(tmp, "home"))
        self.background: List[Proc] = []
        self.proc: Optional[Proc] = None

    def path(self, *parts: str) -> str:
        return os.path.join(self.tmp, *parts)

    def data_copy(self) -> str:
        dst = self.path("data")
        shutil.copytree(self.shared.data()["root"], dst)
        return dst

    def train_pair(self, i: int, split: str = "train",
                   root: Optional[str] = None) -> Tuple[str, str]:
        img, lab = self.shared.data()[split][i]
        root = root or self.path("data")
        return os.path.join(root, img), os.path.join(root, lab)

    def copy_run(self, iters: Sequence[int] = (1, 2)) -> str:
        """A save_dir holding copies of the shared run's checkpoints."""
        save = self.path("run")
        os.makedirs(save)
        for i in iters:
            shutil.copytree(os.path.join(self.shared.trained(), f"iter_{i}"),
                            os.path.join(save, f"iter_{i}"))
        return save

    def write(self, rel: str, text: Union[str, bytes]) -> str:
        path = self.path(rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as f:
            f.write(text.encode("utf-8") if isinstance(text, str) else text)
        return path

    def derived_config(self, yaml_text: str, name: str = "cfg.yml", base: str = QUICKSTART) -> str:
        """A config file inheriting from ``base`` with ``yaml_text`` on top."""
        return self.write(name, f"_base_: {base}\n{yaml_text}")

    def spawn(self, argv: Sequence[str]) -> Proc:
        proc = Proc([PY, *argv], REPO, self.env)
        self.background.append(proc)
        return proc

    def run_sync(self, argv: Sequence[str], timeout: float = 120) -> Tuple[Optional[int], str]:
        proc = self.spawn(argv)
        code = proc.wait(timeout)
        return code, proc.stdout + proc.stderr

    def cleanup(self) -> None:
        for proc in self.background:
            if proc.popen.poll() is None:
                proc.kill_group()
                proc.popen.wait()


class SetupError(Exception):
    """A case could not build its inputs (a preliminary step went wrong)."""


def need(ok: bool, what: str) -> None:
    if not ok:
        raise SetupError(what)
