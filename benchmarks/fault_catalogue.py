"""Fault catalogue: bad inputs and faults thrown at the command-line scripts, judged against the
promises of docs/reliability.md (issue 12).

    python benchmarks/fault_catalogue.py                      # every case, one at a time
    python benchmarks/fault_catalogue.py --jobs 2             # two cases at once (2 cores)
    python benchmarks/fault_catalogue.py --only lock --keep   # cases whose name or kind contains 'lock'
    python benchmarks/fault_catalogue.py --list               # names, kinds and issue items only
    python benchmarks/fault_catalogue.py --out out.json       # also write every outcome as JSON

Each case creates its inputs in a fresh temporary directory (tiny generated Cityscapes-layout data,
64x32 images, 4 train / 2 val; the quickstart ENCNet-ResNet18_vd config with 32x32 crops, batch 2,
a few iterations, ``--num_threads 1``), runs one of train.py, val.py, export.py, tools/predict.py,
tools/infer.py or tools/export_onnx.py in a subprocess (its own process group), optionally acts while
it runs (a signal after the first training log line, a second run on the same save_dir), and checks
the case's declared expectations:

* the exit status (2 usage/config error, 1 runtime failure, 130/143 after SIGINT/SIGTERM, 0 for
  inputs that must work);
* no Python ``Traceback`` (nor ``<array>``, nor the other strings a case forbids) in the output;
* a failing run prints the one-line ``<script>: error: ...`` of paddleseg.utils.cli.run_cli;
* the output names what the user needs (file, key, value, PID, ...);
* the run ends within the case's timeout (a hang is killed with its process group and fails);
  a process killed by a signal is reported as a shell does (128 + N: SIGTERM 143, SIGSEGV 139);
* conditions on disk afterwards (no non-finite checkpoint, N predictions for N inputs, no temporary
  checkpoint directory left, the earlier checkpoint intact, no metrics.json after a failed load).

A case is "handled clearly" when all of its expectations hold. One line is printed per case, then
``N/M handled clearly``; the exit status is 0 when every case passed.

Disk full cannot be produced for a real subprocess here without root tricks, so those cases run
the script as ``__main__`` (``runpy``; its own ``run_cli`` entry point) in a subprocess whose
``open()`` (and ``cv2.imwrite`` for image outputs) fail with ``OSError(ENOSPC)`` for paths
containing a given string (see ``ENOSPC_RUNNER``). Bad downloads use ``file://`` URLs, which
paddleseg/utils/download.py fetches through the same path as http(s).
"""
from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Callable, Dict, List, Optional, Sequence, Tuple, Union

from paddleseg.utils.cli import HelpFormatter

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
QUICKSTART = os.path.join(REPO, "configs", "quickstart", "encnet_resnet18_synthetic.yml")
ICNET_CONFIG = os.path.join(REPO, "configs", "icnet", "icnet_resnet18_vd_synthetic_quickstart.yml")
PY = sys.executable
TRAIN_LINE = r"\[TRAIN\]"             # the trainer's per-iteration log line
# run_cli's one-line error; tqdm's progress bars end in '\r', not a newline, so the line may follow one.
ERROR_LINE = re.compile(r"(?:^|\r)\S+: error: ", re.M)
TEMP_CHECKPOINT = re.compile(r"^\..+\.(tmp|old)-\d+$")  # checkpoint.py's temporary directories
DEFAULT_FORBIDS = ("Traceback", "<array>")

Mention = Union[str, Tuple[str, ...]]  # a string that must appear, or a tuple: any one of them


# --------------------------------------------------------------------------- running processes

class Proc:
    """A script in its own process group, its output collected line by line as it comes."""

    def __init__(self, argv: Sequence[str], cwd: str, env: Dict[str, str]) -> None:
        self.argv = list(argv)
        self.start = time.monotonic()
        self.popen = subprocess.Popen(self.argv, cwd=cwd, env=env, stdout=subprocess.PIPE,
                                      stderr=subprocess.PIPE, start_new_session=True)
        self.pid = self.popen.pid
        self.out: List[str] = []
        self.err: List[str] = []
        self._cond = threading.Condition()
        self._readers = [threading.Thread(target=self._read, args=(s, buf), daemon=True)
                         for s, buf in ((self.popen.stdout, self.out), (self.popen.stderr, self.err))]
        for r in self._readers:
            r.start()
        self.hung = False
        self.seconds = 0.0

    def _read(self, stream, buf: List[str]) -> None:
        for raw in iter(stream.readline, b""):
            with self._cond:
                buf.append(raw.decode("utf-8", "replace"))
                self._cond.notify_all()
        stream.close()

    @property
    def stdout(self) -> str:
        return "".join(self.out)

    @property
    def stderr(self) -> str:
        return "".join(self.err)

    def wait_line(self, pattern: str, timeout: float) -> bool:
        """Wait until a line of stdout or stderr matches ``pattern``; False on timeout or exit."""
        rx = re.compile(pattern)
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                if any(rx.search(line) for line in self.out + self.err):
                    return True
                if self.popen.poll() is not None or time.monotonic() > deadline:
                    return any(rx.search(line) for line in self.out + self.err)
                self._cond.wait(0.1)

    def send(self, sig: int, group: bool = False) -> None:
        """Signal the process, or its whole process group (what a scheduler does) with ``group``."""
        if self.popen.poll() is None:
            (os.killpg if group else os.kill)(self.pid, sig)

    def kill_group(self) -> None:
        try:
            os.killpg(self.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass

    def wait(self, timeout: float) -> Optional[int]:
        """Exit status, or None after killing the process group when ``timeout`` passes (a hang)."""
        remaining = max(0.1, timeout - (time.monotonic() - self.start))
        try:
            self.popen.wait(remaining)
        except subprocess.TimeoutExpired:
            self.hung = True
            self.kill_group()
            self.popen.wait()
        self.seconds = time.monotonic() - self.start
        for r in self._readers:
            r.join(5)
        # Loader workers may outlive their parent: clean the whole group in every case.
        self.kill_group()
        if self.hung:
            return None
        code = self.popen.returncode
        # Killed by a signal: report it as a shell does (SIGTERM -> 143, SIGSEGV -> 139).
        return 128 - code if code < 0 else code


def base_env(home: str) -> Dict[str, str]:
    env = dict(os.environ)
    env.pop("PADDLESEG_DEBUG", None)
    env.update(PADDLESEG_HOME=home, PYTHONUNBUFFERED="1", OMP_NUM_THREADS="1", PYTHONIOENCODING="utf-8")
    return env


def _check(run: subprocess.CompletedProcess, what: str) -> None:
    if run.returncode != 0:
        tail = (run.stderr or run.stdout or "").strip().splitlines()[-3:]
        raise RuntimeError(f"{what} failed (exit {run.returncode}): {' | '.join(tail)}")


# --------------------------------------------------------------------------- shared inputs

def quick_opts(data: str, *extra: str) -> List[str]:
    """``--opts`` for the quickstart config on tiny data (32x32 crops)."""
    return ["--opts", f"train_dataset.dataset_root={data}", f"val_dataset.dataset_root={data}",
            "train_dataset.transforms.1.crop_size=[32,32]", *extra]


def train_argv(save_dir: str, data: str, *flags: str, opts: Sequence[str] = (),
               config: str = QUICKSTART) -> List[str]:
    """train.py on tiny data: batch 2, 2 iterations, one CPU thread, a log line per iteration;
    ``flags`` come later and win (argparse keeps the last value)."""
    return ["train.py", "--config", config, "--save_dir", save_dir, "--num_threads", "1", "--log_iters", "1",
            "--batch_size", "2", "--iters", "2", *flags, *quick_opts(data, *opts)]


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
        _check(subprocess.run([PY, *argv], cwd=REPO, env=self.env, capture_output=True, text=True,
                              timeout=timeout), what)

    def data(self) -> Dict[str, object]:
        """Tiny dataset: ``{'root', 'train': [(img_rel, label_rel)], 'val': [...]}``."""
        def build() -> Dict[str, object]:
            root = os.path.join(self.root, "data")
            # A subprocess keeps Paddle (imported by paddleseg) out of the catalogue's own process.
            self.run(["-c", "import json, sys; from paddleseg.datasets.synthetic import generate; "
                            "r = generate(sys.argv[1], 4, 2, (64, 32), 0); "
                            "json.dump({'train': r['train'], 'val': r['val']}, open(sys.argv[2], 'w'))",
                      root, os.path.join(self.root, "data.json")], "generating the data")
            info = json.load(open(os.path.join(self.root, "data.json")))
            return {"root": root, "train": [tuple(p) for p in info["train"]], "val": [tuple(p) for p in info["val"]]}
        return self._once("data", build)

    def trained(self) -> str:
        """save_dir of a 2-iteration run with iter_1/ and iter_2/ (seed 0)."""
        def build() -> str:
            save = os.path.join(self.root, "trained")
            self.run(train_argv(save, self.data()["root"], "--iters", "2", "--save_interval", "1", "--seed", "0"),
                     "training the shared model")
            return save
        return self._once("trained", build)

    def model(self) -> str:
        return os.path.join(self.trained(), "iter_2", "model.pdparams")

    def exported(self) -> str:
        """export.py's folder for the shared model."""
        def build() -> str:
            out = os.path.join(self.root, "export")
            self.run(["export.py", "--config", QUICKSTART, "--model_path", self.model(), "--save_dir", out,
                      "--num_threads", "1", *quick_opts(self.data()["root"])], "exporting the shared model")
            return out
        return self._once("exported", build)

    def foreign_weights(self) -> Dict[str, str]:
        """State dicts that do not fit the quickstart ENCNet: an ICNet, and an ENCNet with 5 classes."""
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
                    f"roots = ['train_dataset.dataset_root={data}', 'val_dataset.dataset_root={data}']\n"
                    f"save(SegBuilder(Config({ICNET_CONFIG!r}, opts=roots)).model, {out['icnet']!r})\n"
                    "save(ENCNet(5, ResNet18_vd(output_stride=16), backbone_indices=[1, 2, 3], num_codes=16, "
                    f"mid_channels=64, use_se_loss=True, add_lateral=True), {out['encnet5']!r})\n")
            self.run(["-c", code], "writing foreign weights")
            return out
        return self._once("foreign", build)


# --------------------------------------------------------------------------- cases

@dataclass
class Expect:
    """What "handled clearly" means for one case."""

    exit: Tuple[int, ...]                      # accepted exit statuses
    mentions: Tuple[Mention, ...] = ()         # must appear in stdout+stderr (case-insensitive; {var} filled in)
    patterns: Tuple[str, ...] = ()             # regexes that must match stdout+stderr ({var} filled in, escaped)
    forbids: Tuple[str, ...] = DEFAULT_FORBIDS  # must not appear (case-sensitive)
    timeout: float = 90.0                      # seconds; longer is a hang
    post: Tuple[Callable[["Ctx"], Optional[str]], ...] = ()  # checks on disk; return a failure reason


@dataclass
class Run:
    """The command whose outcome is judged; ``during`` acts on it while it runs."""

    argv: List[str]                            # script (relative to the repo) and its arguments, or ['-c', code]
    env: Dict[str, str] = field(default_factory=dict)
    during: Optional[Callable[["Ctx", Proc], None]] = None


@dataclass
class Case:
    name: str
    kind: str
    item: int                                  # issue 12's numbered failure; 0 = its closing rule (one line,
                                               # exit 2 / 1, no traceback) and what was handled before
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

    def train_pair(self, i: int, split: str = "train", root: Optional[str] = None) -> Tuple[str, str]:
        img, lab = self.shared.data()[split][i]
        root = root or self.path("data")
        return os.path.join(root, img), os.path.join(root, lab)

    def copy_run(self, iters: Sequence[int] = (1, 2)) -> str:
        """A save_dir holding copies of the shared run's checkpoints."""
        save = self.path("run")
        os.makedirs(save)
        for i in iters:
            shutil.copytree(os.path.join(self.shared.trained(), f"iter_{i}"), os.path.join(save, f"iter_{i}"))
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


# ----- file corruption helpers

def truncate(path: str, keep: float = 0.4) -> None:
    with open(path, "rb") as f:
        data = f.read()
    with open(path, "wb") as f:
        f.write(data[: max(1, int(len(data) * keep))])


def rewrite_image(path: str, transform: Callable, out_path: Optional[str] = None, ext: Optional[str] = None) -> str:
    """Re-encode an image (label) after ``transform(array)``, optionally to another format or name."""
    import cv2
    import numpy as np
    arr = cv2.imdecode(np.fromfile(path, np.uint8), cv2.IMREAD_UNCHANGED)
    arr = transform(arr)
    ok, buf = cv2.imencode(ext or os.path.splitext(out_path or path)[1], arr)
    assert ok
    buf.tofile(out_path or path)
    return out_path or path


def half_size(arr):
    import cv2
    return cv2.resize(arr, (arr.shape[1] // 2, arr.shape[0] // 2), interpolation=cv2.INTER_NEAREST)


# ----- post-condition helpers (each returns None when fine, else the reason)

def no_temp_dirs(rel: str = "run") -> Callable[[Ctx], Optional[str]]:
    def check(ctx: Ctx) -> Optional[str]:
        d = ctx.path(rel)
        left = [n for n in os.listdir(d) if TEMP_CHECKPOINT.match(n)] if os.path.isdir(d) else []
        return f"temporary checkpoint dirs left: {left}" if left else None
    return check


def checkpoints(save_dir: str) -> List[str]:
    if not os.path.isdir(save_dir):
        return []
    found = [n for n in os.listdir(save_dir) if re.match(r"^iter_\d+$", n)
             and os.path.isfile(os.path.join(save_dir, n, "meta.json"))]
    return sorted(found, key=lambda n: int(n.split("_")[1]))


def has_checkpoint(rel: str = "run", name: Optional[str] = None) -> Callable[[Ctx], Optional[str]]:
    def check(ctx: Ctx) -> Optional[str]:
        found = checkpoints(ctx.path(rel))
        want = name.format(**ctx.vars) if name else None
        if want and want not in found:
            return f"checkpoint {want} missing (found {found})"
        return None if found else f"no complete checkpoint in {rel}/"
    return check


FINITE_CHECK = """
import glob, json, os, sys
import numpy as np, paddle
bad = []
for path in sorted(glob.glob(os.path.join(sys.argv[1], '*', 'model.pd*'))):
    state = paddle.load(path)
    flat = []
    def walk(v, k):
        if isinstance(v, dict):
            for kk, vv in v.items(): walk(vv, k + '/' + str(kk))
        elif hasattr(v, 'shape'):
            a = np.asarray(v.numpy() if hasattr(v, 'numpy') else v)
            if a.dtype.kind == 'f' and not np.isfinite(a).all(): flat.append(k)
    walk(state, '')
    if flat: bad.append('%s: %d non-finite' % (os.path.relpath(path, sys.argv[1]), len(flat)))
print(json.dumps(bad))
"""


def all_finite(rel: str = "run") -> Callable[[Ctx], Optional[str]]:
    def check(ctx: Ctx) -> Optional[str]:
        run = subprocess.run([PY, "-c", FINITE_CHECK, ctx.path(rel)], cwd=REPO, env=ctx.env,
                             capture_output=True, text=True, timeout=120)
        if run.returncode != 0:
            return f"could not check checkpoints: {run.stderr.strip().splitlines()[-1:]}"
        bad = json.loads(run.stdout.strip().splitlines()[-1])
        return f"non-finite checkpoint on disk: {bad}" if bad else None
    return check


def absent(template: str) -> Callable[[Ctx], Optional[str]]:
    def check(ctx: Ctx) -> Optional[str]:
        path = template.format(**ctx.vars)
        return f"{os.path.relpath(path, ctx.tmp)} exists" if os.path.lexists(path) else None
    return check


def count_files(template: str, n: int) -> Callable[[Ctx], Optional[str]]:
    def check(ctx: Ctx) -> Optional[str]:
        d = template.format(**ctx.vars)
        found = [os.path.join(r, f) for r, _, fs in os.walk(d) for f in fs] if os.path.isdir(d) else []
        return None if len(found) == n else f"{len(found)} file(s) in {os.path.relpath(d, ctx.tmp)}, expected {n}"
    return check


def unchanged(var: str) -> Callable[[Ctx], Optional[str]]:
    """The directory named by ctx.vars[var] still holds what ctx.vars[var + '_digest'] recorded."""
    def check(ctx: Ctx) -> Optional[str]:
        d = ctx.vars[var]
        return None if digest(d) == ctx.vars[var + "_digest"] else f"{os.path.relpath(d, ctx.tmp)} changed or vanished"
    return check


def digest(d: str) -> str:
    import hashlib
    h = hashlib.sha256()
    if not os.path.isdir(d):
        return "missing"
    for name in sorted(os.listdir(d)):
        h.update(name.encode())
        with open(os.path.join(d, name), "rb") as f:
            h.update(f.read())
    return h.hexdigest()


def no_train_line(ctx: Ctx) -> Optional[str]:
    return "training started before the check failed" if ctx.proc and re.search(TRAIN_LINE, ctx.proc.stdout) else None


def resumed(ctx: Ctx) -> Optional[str]:
    """The judged run continued an earlier one: its first training log line is past iteration 1."""
    m = re.search(r"\[TRAIN\].*?iter: (\d+)/", ctx.proc.stdout) if ctx.proc else None
    if not m:
        return "no training log line"
    return None if int(m.group(1)) > 1 else "started again from iteration 1 instead of resuming"


def background_exit(code: int) -> Callable[[Ctx], Optional[str]]:
    def check(ctx: Ctx) -> Optional[str]:
        other = ctx.background[0]
        got = other.wait(120)
        return None if got == code else f"the other run exited {got}, expected {code}"
    return check


# --------------------------------------------------------------------------- the disk-full runner

ENOSPC_RUNNER = r"""
# Run a script as __main__ with writes to paths containing FULL_MATCH failing as on a full disk.
import builtins, errno, os, runpy, sys
match = os.environ['FULL_MATCH']
real_open = builtins.open

class FullFile:
    def __init__(self, f):
        self._f = f
    def write(self, data):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
    writelines = write
    def __getattr__(self, name):
        return getattr(self._f, name)
    def __enter__(self):
        return self
    def __exit__(self, *exc):
        self._f.close()
    def __iter__(self):
        return iter(self._f)

def full_open(file, mode='r', *args, **kwargs):
    f = real_open(file, mode, *args, **kwargs)
    if isinstance(file, (str, bytes, os.PathLike)) and any(c in mode for c in 'wax+') \
            and match in os.fsdecode(os.fspath(file)):
        return FullFile(f)
    return f

builtins.open = full_open
try:
    import cv2
    real_imwrite = cv2.imwrite
    def full_imwrite(path, *args, **kwargs):
        if match in os.fsdecode(os.fspath(path)):
            return False  # what OpenCV returns when the write fails
        return real_imwrite(path, *args, **kwargs)
    cv2.imwrite = full_imwrite
except ImportError:
    pass
script = sys.argv[1]
sys.argv = sys.argv[1:]
sys.path[0] = os.path.dirname(os.path.abspath(script))  # what `python script.py` sets (-c set '')
runpy.run_path(script, run_name='__main__')
"""


def disk_full(match: str, argv: List[str]) -> Run:
    return Run(["-c", ENOSPC_RUNNER, *argv], env={"FULL_MATCH": match})


# --------------------------------------------------------------------------- signal actions

def signal_after_first_step(*signals: int, gap: float = 0.0, group: bool = False) -> Callable[[Ctx, Proc], None]:
    def act(ctx: Ctx, proc: Proc) -> None:
        if not proc.wait_line(TRAIN_LINE, 120):
            return
        for i, sig in enumerate(signals):
            if i:
                time.sleep(gap)
            proc.send(sig, group=group)
    return act


# --------------------------------------------------------------------------- the catalogue

CASES: List[Case] = []


def case(name: str, kind: str, item: int, expect: Expect, doc: str = ""):
    def register(setup: Callable[[Ctx], Run]) -> Callable[[Ctx], Run]:
        CASES.append(Case(name, kind, item, setup, expect, doc or (setup.__doc__ or "").strip()))
        return setup
    return register


def usage(*mentions: Mention, **kw) -> Expect:
    return Expect(exit=(2,), mentions=mentions, **kw)


def runtime(*mentions: Mention, **kw) -> Expect:
    return Expect(exit=(1,), mentions=mentions, **kw)


def user_error(*mentions: Mention, **kw) -> Expect:
    """A failure either category fits (a named input file that is unusable): exit 1 or 2."""
    return Expect(exit=(1, 2), mentions=mentions, **kw)


NON_FINITE = ("non-finite", "nan", "inf")
DATA_TIMEOUT = 60.0


# ----- 1. data errors stop the run with the files named, in every loader configuration

def _bad_train_sample(ctx: Ctx, corrupt: Callable[[str, str], None], workers: int, check_labels: str) -> Run:
    data = ctx.data_copy()
    img, lab = ctx.train_pair(1, root=data)
    corrupt(img, lab)
    ctx.vars.update(img=os.path.basename(img), lab=os.path.basename(lab))
    return Run(train_argv(ctx.path("run"), data, "--iters", "4", "--num_workers", str(workers),
                          "--check_labels", check_labels, "--seed", "0"))


def _mismatch(img: str, lab: str) -> None:
    rewrite_image(lab, half_size)


def _truncated(img: str, lab: str) -> None:
    truncate(img)


for _workers in (0, 2):
    case(f"train_label_size_mismatch_workers{_workers}", "data", 1,
         runtime("{img}", "{lab}", timeout=DATA_TIMEOUT),
         f"A label half its image's size, found by the loader (--check_labels 0, --num_workers {_workers}).")(
        lambda ctx, w=_workers: _bad_train_sample(ctx, _mismatch, w, "0"))
    case(f"train_truncated_image_workers{_workers}", "data", 1,
         runtime("{img}", timeout=DATA_TIMEOUT),
         f"A truncated PNG image, found by the loader (--check_labels 0, --num_workers {_workers}).")(
        lambda ctx, w=_workers: _bad_train_sample(ctx, _truncated, w, "0"))

case("check_labels_finds_truncated_image", "data", 1,
     runtime("{img}", timeout=DATA_TIMEOUT, post=(no_train_line,)),
     "The pre-flight scan (--check_labels -1) decodes images too: a truncated image fails before step 1.")(
    lambda ctx: _bad_train_sample(ctx, _truncated, 0, "-1"))
case("check_labels_finds_size_mismatch", "data", 1,
     runtime("{img}", "{lab}", timeout=DATA_TIMEOUT, post=(no_train_line,)),
     "The pre-flight scan compares label and image sizes: a mismatch fails before step 1.")(
    lambda ctx: _bad_train_sample(ctx, _mismatch, 0, "-1"))
case("check_labels_finds_corrupt_label", "data", 1,
     runtime("{lab}", timeout=DATA_TIMEOUT, post=(no_train_line,)),
     "A label file of random bytes is found by the default pre-flight scan, with its name.")(
    lambda ctx: _bad_train_sample(ctx, lambda i, l: open(l, "wb").write(os.urandom(300)), 0, "-1"))


def _bad_val_sample(ctx: Ctx, corrupt: Callable[[str, str], None], workers: int) -> Run:
    data = ctx.data_copy()
    img, lab = ctx.train_pair(0, "val", root=data)
    corrupt(img, lab)
    ctx.vars.update(img=os.path.basename(img), lab=os.path.basename(lab), metrics=ctx.path("metrics.json"))
    return Run(["val.py", "--config", QUICKSTART, "--model_path", ctx.shared.model(), "--num_threads", "1",
                "--num_workers", str(workers), "--save_metrics", ctx.path("metrics.json"), *quick_opts(data)])


case("val_label_size_mismatch", "data", 1,
     runtime("{img}", "{lab}", timeout=DATA_TIMEOUT, post=(absent("{metrics}"),)),
     "val.py with a val label half its image's size (--num_workers 0).")(
    lambda ctx: _bad_val_sample(ctx, _mismatch, 0))
case("val_truncated_image_workers2", "data", 1,
     runtime("{img}", timeout=DATA_TIMEOUT, post=(absent("{metrics}"),)),
     "val.py with a truncated val image (--num_workers 2).")(
    lambda ctx: _bad_val_sample(ctx, _truncated, 2))


# ----- 2. no checkpoint with a non-finite tensor, pruning keeps the last good one

NAN_OPTS = ("lr_scheduler.warmup_iters=0",)


@case("nan_weights_never_checkpointed", "checkpoint", 2,
      runtime(NON_FINITE, "iter", timeout=120, post=(all_finite(), no_temp_dirs())))
def _nan_weights(ctx: Ctx) -> Run:
    """--learning_rate 1e6: the weights go non-finite while the loss stays finite; nothing non-finite
    may be saved (model or optimizer), and the run stops with exit 1 and the NaN message."""
    data = ctx.shared.data()["root"]
    return Run(train_argv(ctx.path("run"), data, "--iters", "4", "--save_interval", "1", "--seed", "0",
                          "--learning_rate", "1e6", opts=NAN_OPTS))


@case("nan_pruning_keeps_last_good", "checkpoint", 2,
      runtime(NON_FINITE, timeout=120, post=(all_finite(), has_checkpoint())))
def _nan_prune(ctx: Ctx) -> Run:
    """Same divergence with --keep_checkpoint_max 1: the newest good checkpoint must survive pruning."""
    data = ctx.shared.data()["root"]
    return Run(train_argv(ctx.path("run"), data, "--iters", "4", "--save_interval", "1", "--seed", "0",
                          "--learning_rate", "1e6", "--keep_checkpoint_max", "1", opts=NAN_OPTS))


@case("nan_loss_stops_in_one_line", "checkpoint", 2,
      runtime(NON_FINITE, "iter", timeout=120, post=(all_finite(),)))
def _nan_loss(ctx: Ctx) -> Run:
    """--learning_rate 1e30: the loss itself turns NaN; the NaN guard's message is one line, exit 1."""
    data = ctx.shared.data()["root"]
    return Run(train_argv(ctx.path("run"), data, "--iters", "4", "--save_interval", "1", "--seed", "0",
                          "--learning_rate", "1e30", opts=NAN_OPTS))


# ----- 3. loading a trained model is strict; pretrained: stays lenient

LOAD_PROBLEM = ("missing", "unexpected", "mismatch")


def _val_with(ctx: Ctx, weights: str) -> Run:
    ctx.vars.update(weights=os.path.basename(os.path.dirname(weights)), metrics=ctx.path("metrics.json"))
    return Run(["val.py", "--config", QUICKSTART, "--model_path", weights, "--num_threads", "1",
                "--save_metrics", ctx.path("metrics.json"), *quick_opts(ctx.shared.data()["root"])])


case("val_icnet_weights_on_encnet", "checkpoint", 3,
     runtime("{weights}", LOAD_PROBLEM, post=(absent("{metrics}"),)),
     "val.py --model_path with ICNet weights on the ENCNet config: an error with counts and names, "
     "no metrics.json.")(lambda ctx: _val_with(ctx, ctx.shared.foreign_weights()["icnet"]))
case("val_checkpoint_other_num_classes", "checkpoint", 3,
     Expect(exit=(1,), mentions=("{weights}",), patterns=(r"\b5\b", r"\b19\b"), post=(absent("{metrics}"),)),
     "val.py with a 5-class checkpoint on the 19-class config: the error gives both class counts.")(
    lambda ctx: _val_with(ctx, ctx.shared.foreign_weights()["encnet5"]))


@case("val_truncated_weights", "checkpoint", 3, runtime("model.pdparams", post=(absent("{metrics}"),)))
def _val_truncated(ctx: Ctx) -> Run:
    """val.py --model_path of a truncated model.pdparams: an error naming the file."""
    weights = ctx.path("w", "model.pdparams")
    os.makedirs(os.path.dirname(weights))
    shutil.copy(ctx.shared.model(), weights)
    truncate(weights, 0.5)
    return _val_with(ctx, weights)


@case("val_missing_weights", "cli", 0, user_error("nowhere"))
def _val_missing(ctx: Ctx) -> Run:
    """val.py --model_path that does not exist: one line naming it."""
    return _val_with(ctx, ctx.path("nowhere", "model.pdparams"))


@case("predict_icnet_weights_on_encnet", "checkpoint", 3,
      runtime("icnet", LOAD_PROBLEM, post=(count_files("{out}", 0),)))
def _predict_foreign(ctx: Ctx) -> Run:
    """tools/predict.py with ICNet weights on the ENCNet config: an error, nothing written."""
    ctx.vars["out"] = ctx.path("pred")
    img = ctx.train_pair(0, "val", root=ctx.shared.data()["root"])[0]
    return Run(["tools/predict.py", "--config", QUICKSTART, "--model_path", ctx.shared.foreign_weights()["icnet"],
                "--image_path", img, "--save_dir", ctx.path("pred"), "--num_threads", "1",
                *quick_opts(ctx.shared.data()["root"])])


@case("export_checkpoint_other_num_classes", "checkpoint", 3,
      Expect(exit=(1,), mentions=("encnet5",), patterns=(r"\b5\b", r"\b19\b"),
             post=(absent("{out}/deploy.yaml"),)))
def _export_foreign(ctx: Ctx) -> Run:
    """export.py with a 5-class checkpoint on the 19-class config: an error, no deploy.yaml."""
    ctx.vars["out"] = ctx.path("export")
    return Run(["export.py", "--config", QUICKSTART, "--model_path", ctx.shared.foreign_weights()["encnet5"],
                "--save_dir", ctx.path("export"), "--num_threads", "1", *quick_opts(ctx.shared.data()["root"])])


@case("pretrained_other_head_is_lenient", "checkpoint", 3, Expect(exit=(0,), mentions=("Loaded",)))
def _pretrained_lenient(ctx: Ctx) -> Run:
    """model.pretrained = a 5-class model (fine-tuning with another head) still loads what fits and trains."""
    return Run(train_argv(ctx.path("run"), ctx.shared.data()["root"], "--iters", "1",
                          opts=(f"model.pretrained={ctx.shared.foreign_weights()['encnet5']}",)))


# ----- 4. N inputs give N predictions

def _same_stem_folder(ctx: Ctx) -> str:
    src = ctx.train_pair(0, "val", root=ctx.shared.data()["root"])[0]
    folder = ctx.path("images")
    os.makedirs(folder)
    shutil.copy(src, os.path.join(folder, "frame.png"))
    rewrite_image(src, lambda a: a, os.path.join(folder, "frame.jpg"))
    return folder


def _same_name_list(ctx: Ctx) -> str:
    src = ctx.train_pair(0, "val", root=ctx.shared.data()["root"])[0]
    for sub in ("A", "B"):
        os.makedirs(ctx.path(sub))
        shutil.copy(src, ctx.path(sub, "img.png"))
    return ctx.write("lists/images.txt", "../A/img.png\n../B/img.png\n")


def _predict(ctx: Ctx, image_path: str) -> Run:
    ctx.vars["out"] = ctx.path("pred", "label_prediction")
    return Run(["tools/predict.py", "--config", QUICKSTART, "--model_path", ctx.shared.model(), "--image_path",
                image_path, "--save_dir", ctx.path("pred"), "--num_threads", "1",
                *quick_opts(ctx.shared.data()["root"])])


def _infer(ctx: Ctx, image_path: str, export_dir: Optional[str] = None) -> Run:
    ctx.vars["out"] = ctx.path("pred", "label_prediction")
    return Run(["tools/infer.py", "--config", os.path.join(export_dir or ctx.shared.exported(), "deploy.yaml"),
                "--image_path", image_path, "--save_dir", ctx.path("pred"), "--cpu_threads", "1"])


TWO_OUTPUTS = Expect(exit=(0,), post=(count_files("{out}", 2),))
case("predict_same_stem_in_folder", "output", 4, TWO_OUTPUTS,
     "tools/predict.py on frame.png + frame.jpg: two predictions.")(lambda ctx: _predict(ctx, _same_stem_folder(ctx)))
case("predict_same_name_in_list", "output", 4, TWO_OUTPUTS,
     "tools/predict.py on a list with ../A/img.png and ../B/img.png: two predictions.")(
    lambda ctx: _predict(ctx, _same_name_list(ctx)))
case("infer_same_stem_in_folder", "output", 4, TWO_OUTPUTS,
     "tools/infer.py on frame.png + frame.jpg: two predictions.")(lambda ctx: _infer(ctx, _same_stem_folder(ctx)))
case("infer_same_name_in_list", "output", 4, TWO_OUTPUTS,
     "tools/infer.py on a list with ../A/img.png and ../B/img.png: two predictions.")(
    lambda ctx: _infer(ctx, _same_name_list(ctx)))


# ----- 5. one run per save_dir

LONG_RUN = ("--iters", "400", "--save_interval", "1000")


def _log_not_interleaved(ctx: Ctx) -> Optional[str]:
    path = ctx.path("run", "train_log.jsonl")
    if not os.path.isfile(path):
        return None
    iters = [json.loads(line).get("iter") for line in open(path) if line.strip()]
    iters = [i for i in iters if i is not None]
    return None if iters == sorted(iters) else f"train_log.jsonl interleaves two runs: iterations {iters[:12]}"


@case("lock_second_run_refused", "concurrency", 5,
      Expect(exit=(1,), patterns=(r"\b{holder_pid}\b",), timeout=120, post=(_log_not_interleaved,)))
def _lock_refused(ctx: Ctx) -> Run:
    """A second train.py on a save_dir in use is refused, naming the holder's PID."""
    data = ctx.shared.data()["root"]
    first = ctx.spawn(train_argv(ctx.path("run"), data, *LONG_RUN))
    need(first.wait_line(TRAIN_LINE, 120), "the first run did not start training")
    ctx.vars["holder_pid"] = str(first.pid)
    return Run(train_argv(ctx.path("run"), data, "--iters", "2"))


@case("lock_stale_is_taken_over", "concurrency", 5,
      Expect(exit=(0,), patterns=(r"(?im)^.*warn.*\block\b",), timeout=120))
def _lock_stale(ctx: Ctx) -> Run:
    """A run killed with SIGKILL leaves its lock; the next run takes it over with a warning."""
    data = ctx.shared.data()["root"]
    first = ctx.spawn(train_argv(ctx.path("run"), data, *LONG_RUN))
    need(first.wait_line(TRAIN_LINE, 120), "the first run did not start training")
    ctx.vars["holder_pid"] = str(first.pid)
    first.kill_group()
    first.wait(30)
    return Run(train_argv(ctx.path("run"), data, "--iters", "2"))


@case("lock_released_after_clean_exit", "concurrency", 0, Expect(exit=(0,), post=(resumed,)))
def _lock_released(ctx: Ctx) -> Run:
    """A finished run releases its save_dir: resuming in it works."""
    data = ctx.shared.data()["root"]
    code, out = ctx.run_sync(train_argv(ctx.path("run"), data, "--iters", "2"))
    need(code == 0, f"the first run failed: {out.strip().splitlines()[-1:]}")
    return Run(train_argv(ctx.path("run"), data, "--iters", "3", "--resume_model", "auto"))


@case("concurrent_runs_other_save_dirs", "concurrency", 0,
      Expect(exit=(0,), timeout=150, post=(background_exit(0),)))
def _two_dirs(ctx: Ctx) -> Run:
    """Two train.py at once on different save_dirs both finish."""
    data = ctx.shared.data()["root"]
    ctx.spawn(train_argv(ctx.path("run_a"), data, "--iters", "3"))
    return Run(train_argv(ctx.path("run_b"), data, "--iters", "3"))


# ----- 6. resumption skips broken checkpoints; mismatches are named

def _resume_auto_with(ctx: Ctx, break_it: Callable[[str], None]) -> Run:
    save = ctx.copy_run()
    break_it(os.path.join(save, "iter_2"))
    return Run(train_argv(save, ctx.shared.data()["root"], "--iters", "3", "--resume_model", "auto"))


case("resume_auto_skips_truncated_latest", "checkpoint", 6,
     Expect(exit=(0,), mentions=("iter_1",), patterns=(r"(?im)^.*warn.*iter_2",),
            post=(resumed, has_checkpoint(name="iter_3"))),
     "--resume_model auto with a truncated iter_2/model.pdparams: warns naming it, resumes from iter_1.")(
    lambda ctx: _resume_auto_with(ctx, lambda d: truncate(os.path.join(d, "model.pdparams"), 0.5)))
case("resume_auto_skips_unparsable_meta", "checkpoint", 6,
     Expect(exit=(0,), mentions=("iter_1",), patterns=(r"(?im)^.*warn.*iter_2",),
            post=(resumed, has_checkpoint(name="iter_3"))),
     "--resume_model auto with a broken iter_2/meta.json: warns naming it, resumes from iter_1.")(
    lambda ctx: _resume_auto_with(ctx, lambda d: open(os.path.join(d, "meta.json"), "w").write('{"iter": 2,')))


@case("resume_explicit_broken_checkpoint", "checkpoint", 6, runtime("model.pdparams", "iter_2"))
def _resume_explicit(ctx: Ctx) -> Run:
    """--resume_model iter_2 whose model.pdparams is truncated: an error naming the file."""
    save = ctx.copy_run()
    truncate(os.path.join(save, "iter_2", "model.pdparams"), 0.5)
    return Run(train_argv(save, ctx.shared.data()["root"], "--iters", "3",
                          "--resume_model", os.path.join(save, "iter_2")))


@case("resume_missing_directory", "checkpoint", 0, user_error("iter_9"))
def _resume_missing(ctx: Ctx) -> Run:
    """--resume_model pointing nowhere: one line naming it."""
    return Run(train_argv(ctx.path("run"), ctx.shared.data()["root"], "--iters", "3",
                          "--resume_model", ctx.path("run", "iter_9")))


@case("resume_after_model_change", "checkpoint", 6,
      user_error("iter_2", ("shape", "differ", "mismatch"), forbids=DEFAULT_FORBIDS + ("AssertionError",)))
def _resume_model_change(ctx: Ctx) -> Run:
    """Resuming with model.num_codes changed: an error saying what differs."""
    save = ctx.copy_run()
    return Run(train_argv(save, ctx.shared.data()["root"], "--iters", "3", "--resume_model", "auto",
                          opts=("model.num_codes=8",)))


@case("resume_after_optimizer_change", "checkpoint", 6,
      user_error("iter_2", ("optimizer", "Momentum", "Adam"), forbids=DEFAULT_FORBIDS + ("AssertionError",)))
def _resume_optimizer_change(ctx: Ctx) -> Run:
    """Resuming a Momentum run with Adam: an error saying the optimizer state does not fit."""
    save = ctx.copy_run()
    cfg = ctx.derived_config("optimizer:\n  _inherited_: False\n  type: Adam\n  weight_decay: 0.0001\n")
    return Run(train_argv(save, ctx.shared.data()["root"], "--iters", "3", "--resume_model", "auto", config=cfg))


@case("sigkill_then_resume_auto", "signal", 0,
      Expect(exit=(0,), timeout=150, post=(resumed, has_checkpoint(name="iter_12"), no_temp_dirs())))
def _sigkill_resume(ctx: Ctx) -> Run:
    """SIGKILL right after a checkpoint save, then --resume_model auto finishes the run."""
    data = ctx.shared.data()["root"]
    first = ctx.spawn(train_argv(ctx.path("run"), data, "--iters", "12", "--save_interval", "2"))
    need(first.wait_line("Saved checkpoint", 120), "the first run saved no checkpoint")
    first.kill_group()
    first.wait(30)
    return Run(train_argv(ctx.path("run"), data, "--iters", "12", "--save_interval", "2", "--resume_model", "auto"))


# ----- 7. SIGTERM / SIGINT: checkpoint, resume command, 143 / 130

SIGNAL_FORBIDS = DEFAULT_FORBIDS + ("KeyboardInterrupt", "Termination signal", "C++ Traceback")


def _interrupted(ctx: Ctx, *signals: int) -> Run:
    run = Run(train_argv(ctx.path("run"), ctx.shared.data()["root"], *LONG_RUN))
    run.during = signal_after_first_step(*signals, gap=0.05)
    return run


case("sigterm_checkpoints_and_exits_143", "signal", 7,
     Expect(exit=(143,), mentions=("--resume_model",), forbids=SIGNAL_FORBIDS, timeout=150,
            post=(has_checkpoint(), no_temp_dirs(), all_finite())),
     "SIGTERM after the first step: checkpoint of that iteration, the resume command, exit 143.")(
    lambda ctx: _interrupted(ctx, signal.SIGTERM))
def _group_sigterm_with_workers(ctx: Ctx) -> Run:
    run = Run(train_argv(ctx.path("run"), ctx.shared.data()["root"], *LONG_RUN, "--num_workers", "2"))
    run.during = signal_after_first_step(signal.SIGTERM, group=True)
    return run


case("sigterm_process_group_workers2", "signal", 7,
     Expect(exit=(143,), mentions=("--resume_model",), forbids=SIGNAL_FORBIDS + ("killed by signal",), timeout=150,
            post=(has_checkpoint(), no_temp_dirs(), all_finite())),
     "SIGTERM to the whole process group (as a scheduler sends it) with 2 loader workers: checkpoint, "
     "the resume command, exit 143.")(_group_sigterm_with_workers)
case("sigint_checkpoints_and_exits_130", "signal", 7,
     Expect(exit=(130,), mentions=("--resume_model",), forbids=SIGNAL_FORBIDS, timeout=150,
            post=(has_checkpoint(), no_temp_dirs())),
     "SIGINT (Ctrl-C) after the first step: checkpoint, the resume command, exit 130.")(
    lambda ctx: _interrupted(ctx, signal.SIGINT))
case("second_sigint_exits_at_once", "signal", 7,
     Expect(exit=(130,), forbids=SIGNAL_FORBIDS, timeout=60),
     "Two SIGINTs 50 ms apart: the second exits at once with 130.")(
    lambda ctx: _interrupted(ctx, signal.SIGINT, signal.SIGINT))


@case("sigterm_then_resume_auto", "signal", 7,
      Expect(exit=(0,), timeout=150, post=(resumed, has_checkpoint(name="iter_30"))))
def _sigterm_resume(ctx: Ctx) -> Run:
    """After SIGTERM, --resume_model auto continues from the signal's checkpoint and finishes."""
    data = ctx.shared.data()["root"]
    first = ctx.spawn(train_argv(ctx.path("run"), data, "--iters", "30", "--save_interval", "1000"))
    signal_after_first_step(signal.SIGTERM)(ctx, first)
    first.wait(120)
    need(not first.hung, "the first run did not stop after SIGTERM")
    return Run(train_argv(ctx.path("run"), data, "--iters", "30", "--save_interval", "1000",
                          "--resume_model", "auto"))


# ----- 8. disk full

FREE_SPACE = ("free",)


@case("disk_full_checkpoint", "disk", 8,
      runtime("iter_2", FREE_SPACE, post=(no_temp_dirs(), unchanged("iter1"))))
def _disk_full_ckpt(ctx: Ctx) -> Run:
    """ENOSPC while writing iter_2 (the run resumes from a copy of iter_1): the error names the checkpoint
    path and the free space, the temporary directory is removed, iter_1 is untouched."""
    save = ctx.copy_run(iters=(1,))
    ctx.vars.update(iter1=os.path.join(save, "iter_1"))
    ctx.vars["iter1_digest"] = digest(ctx.vars["iter1"])
    return disk_full("iter_2", train_argv(save, ctx.shared.data()["root"], "--iters", "2",
                                          "--resume_model", "auto"))


@case("disk_full_val_metrics", "disk", 8, runtime("metrics.json", FREE_SPACE))
def _disk_full_val(ctx: Ctx) -> Run:
    """ENOSPC writing metrics.json in val.py: exit 1 naming the path and the free space (not a warning)."""
    return disk_full("metrics.json", _val_with(ctx, ctx.shared.model()).argv)


@case("disk_full_predict_outputs", "disk", 8, runtime("pred", FREE_SPACE))
def _disk_full_predict(ctx: Ctx) -> Run:
    """ENOSPC writing tools/predict.py's outputs: exit 1 naming the path and the free space."""
    img = ctx.train_pair(0, "val", root=ctx.shared.data()["root"])[0]
    return disk_full(ctx.path("pred"), _predict(ctx, img).argv)


# ----- 9. any file name; non-UTF-8 lists are named

NON_UTF8 = b"caf\xe9"


def _non_utf8_folder(ctx: Ctx) -> str:
    src = ctx.train_pair(0, "val", root=ctx.shared.data()["root"])[0]
    folder = ctx.path("images")
    os.makedirs(folder)
    shutil.copy(src, os.path.join(os.fsencode(folder), NON_UTF8 + b".png"))
    return folder


case("predict_non_utf8_file_name", "encoding", 9,
     Expect(exit=(0,), post=(count_files("{out}", 1),)),
     "tools/predict.py on a folder holding caf\\xe9.png (not UTF-8): one prediction, no crash.")(
    lambda ctx: _predict(ctx, _non_utf8_folder(ctx)))
case("infer_non_utf8_file_name", "encoding", 9,
     Expect(exit=(0,), post=(count_files("{out}", 1),)),
     "tools/infer.py on a folder holding caf\\xe9.png: one prediction, no crash.")(
    lambda ctx: _infer(ctx, _non_utf8_folder(ctx)))


@case("train_non_utf8_city_name", "encoding", 9, Expect(exit=(0,)))
def _train_non_utf8(ctx: Ctx) -> Run:
    """Cityscapes layout whose city folder and file names are not UTF-8: trains (with the label scan)."""
    data = ctx.data_copy()
    for top, split in (("leftImg8bit", "train"), ("gtFine", "train")):
        city_dir = os.path.join(os.fsencode(data), top.encode(), split.encode(), b"aachen")
        new_dir = os.path.join(os.path.dirname(city_dir), NON_UTF8)
        for name in os.listdir(city_dir):
            os.rename(os.path.join(city_dir, name), os.path.join(city_dir, name.replace(b"aachen", NON_UTF8)))
        os.rename(city_dir, new_dir)
    return Run(train_argv(ctx.path("run"), data, "--iters", "2", "--check_labels", "-1"))


def _file_list_config(ctx: Ctx, data: str, train_list: str) -> str:
    """The quickstart config with a file-list ``Dataset`` (type: Dataset) for training."""
    return ctx.derived_config(
        "train_dataset:\n  _inherited_: False\n  type: Dataset\n"
        f"  dataset_root: {data}\n  train_path: {train_list}\n  num_classes: 19\n  mode: train\n"
        # RandomPaddingCrop is transforms[1], as in the quickstart config (quick_opts sets its crop_size).
        "  transforms:\n    - type: RandomHorizontalFlip\n    - type: RandomPaddingCrop\n"
        "      crop_size: [32, 32]\n    - type: Normalize\n")


@case("latin1_file_list", "encoding", 9, user_error("train_list.txt", patterns=(r"(line 3|:3)\b",)))
def _latin1_list(ctx: Ctx) -> Run:
    """A Latin-1 file list (an 'é' on line 3): an error naming the list file and the line."""
    data = ctx.data_copy()
    pairs = ctx.shared.data()["train"]
    lines = [f"{a} {b}\n".encode() for a, b in pairs[:2]] + [b"images/caf\xe9.png labels/caf\xe9.png\n"]
    lst = ctx.write("data/train_list.txt", b"".join(lines))
    return Run(train_argv(ctx.path("run"), data, "--iters", "2", config=_file_list_config(ctx, data, lst)))


@case("predict_latin1_image_list", "encoding", 9, user_error("images.txt", patterns=(r"(line 2|:2)\b",)))
def _latin1_predict_list(ctx: Ctx) -> Run:
    """tools/predict.py --image_path with a Latin-1 list (line 2): an error naming the list and line."""
    src = ctx.train_pair(0, "val", root=ctx.shared.data()["root"])[0]
    lst = ctx.write("images.txt", f"{src}\n".encode() + b"caf\xe9.png\n")
    return _predict(ctx, lst)


@case("missing_listed_image", "data", 0, user_error("ghost.png"))
def _missing_listed(ctx: Ctx) -> Run:
    """A file list naming an image that does not exist: one line naming it, before training."""
    data = ctx.data_copy()
    a, b = ctx.shared.data()["train"][0]
    lst = ctx.write("data/train_list.txt", f"{a} {b}\nleftImg8bit/ghost.png {b}\n")
    return Run(train_argv(ctx.path("run"), data, "--iters", "2", config=_file_list_config(ctx, data, lst)))


# ----- 10. lossy labels are refused

def _label_list(ctx: Ctx, convert: Callable[[str], str], which: Sequence[int] = (1,)) -> Run:
    """A file-list dataset whose labels number ``which`` go through ``convert``; vars['lab'] names the first."""
    data = ctx.data_copy()
    lines = []
    for i, (img, lab) in enumerate(ctx.shared.data()["train"]):
        new = convert(os.path.join(data, lab)) if i in which else os.path.join(data, lab)
        lines.append(f"{img} {os.path.relpath(new, data)}\n")
        if i == which[0]:
            ctx.vars["lab"] = os.path.basename(new)
    lst = ctx.write("data/train_list.txt", "".join(lines))
    return Run(train_argv(ctx.path("run"), data, "--iters", "2", config=_file_list_config(ctx, data, lst)))


def _low_classes(label):
    """Classes 0-7 only, no ignore pixels: JPEG's errors then stay valid class ids (about 8% of the
    pixels change), as in the issue's report, so only a lossy-format check can catch them."""
    import numpy as np
    return (np.where(label == 255, 0, label) % 8).astype(label.dtype)


def _to_format(ext: str, keep_name: bool = False, transform: Callable = lambda a: a) -> Callable[[str], str]:
    def convert(path: str) -> str:
        out = path if keep_name else os.path.splitext(path)[0] + ext
        return rewrite_image(path, transform, out, ext=ext)
    return convert


LOSSY = ("lossy", "jpeg", "lossless")
case("lossy_label_jpg", "data", 10, user_error("{lab}", LOSSY, timeout=DATA_TIMEOUT),
     "Labels saved as .jpg (valid class ids after compression): refused, naming the file.")(
    lambda ctx: _label_list(ctx, _to_format(".jpg", transform=_low_classes)))
case("lossy_label_jpeg_named_png", "data", 10, user_error("{lab}", LOSSY, timeout=DATA_TIMEOUT),
     "Labels with JPEG content under a .png name: refused by content, naming the file.")(
    lambda ctx: _label_list(ctx, _to_format(".jpg", keep_name=True, transform=_low_classes)))
case("lossless_bmp_label_trains", "data", 10, Expect(exit=(0,)),
     "Labels saved as .bmp (lossless) train normally.")(lambda ctx: _label_list(ctx, _to_format(".bmp"), (0, 1, 2, 3)))


@case("label_out_of_range", "data", 0, runtime("{lab}", "50", post=(no_train_line,)))
def _label_range(ctx: Ctx) -> Run:
    """A label holding class 50 of 19: the pre-flight scan names the file and the value."""
    data = ctx.data_copy()
    img, lab = ctx.train_pair(2, root=data)
    rewrite_image(lab, lambda a: (a * 0 + 50).astype(a.dtype))
    ctx.vars["lab"] = os.path.basename(lab)
    return Run(train_argv(ctx.path("run"), data, "--iters", "2"))


# ----- 11. messages that do not mislead

@case("transform_without_type", "config", 11,
      usage("type", "Normalize", forbids=DEFAULT_FORBIDS + ("not a transform object",)))
def _transform_no_type(ctx: Ctx) -> Run:
    """A transforms entry without `type:`: says so, with the registered names."""
    cfg = ctx.derived_config("val_dataset:\n  transforms:\n    - crop_size: [32, 32]\n")
    return Run(train_argv(ctx.path("run"), ctx.shared.data()["root"], "--iters", "1", "--do_eval", config=cfg))


@case("learning_rate_zero_with_warmup", "config", 11,
      usage("learning_rate", forbids=DEFAULT_FORBIDS + ("end_lr 0.0 must be greater",)))
def _lr_zero_warmup(ctx: Ctx) -> Run:
    """learning_rate: 0 with warmup: the error names learning_rate, the key the user set."""
    return Run(train_argv(ctx.path("run"), ctx.shared.data()["root"], "--iters", "1",
                          opts=("lr_scheduler.learning_rate=0",)))


def _warns_lr(ctx: Ctx) -> Optional[str]:
    lines = [l for l in ctx.proc.stderr.splitlines() if "WARN" in l.upper() and "learning" in l.lower()]
    return None if lines else "no warning about the zero learning rate"


@case("learning_rate_zero_warns", "config", 11, Expect(exit=(0,), post=(_warns_lr,)))
def _lr_zero(ctx: Ctx) -> Run:
    """learning_rate: 0 without warmup trains, with a warning."""
    return Run(train_argv(ctx.path("run"), ctx.shared.data()["root"], "--iters", "1",
                          opts=("lr_scheduler.learning_rate=0", "lr_scheduler.warmup_iters=0")))


def _export_copy(ctx: Ctx) -> str:
    dst = ctx.path("export")
    shutil.copytree(ctx.shared.exported(), dst)
    return dst


@case("deploy_yaml_unsafe_tag", "config", 11,
      usage("deploy.yaml", post=(absent("{marker}"), count_files("{out}", 0))))
def _deploy_unsafe(ctx: Ctx) -> Run:
    """A python/object tag in deploy.yaml: one line naming the file, nothing executed."""
    export = _export_copy(ctx)
    ctx.vars["marker"] = ctx.path("MARKER")
    with open(os.path.join(export, "deploy.yaml"), "a") as f:
        f.write(f"evil: !!python/object/apply:os.system ['touch {ctx.vars['marker']}']\n")
    img = ctx.train_pair(0, "val", root=ctx.shared.data()["root"])[0]
    return _infer(ctx, img, export)


@case("export_wrong_input_channels", "cli", 11,
      usage("--input_shape", "3", post=(absent("{out}/deploy.yaml"),)))
def _export_channels(ctx: Ctx) -> Run:
    """export.py --input_shape 1 1 32 64 for a 3-channel model: checked before tracing."""
    ctx.vars["out"] = ctx.path("export")
    return Run(["export.py", "--config", QUICKSTART, "--model_path", ctx.shared.model(), "--save_dir",
                ctx.path("export"), "--input_shape", "1", "1", "32", "64", "--num_threads", "1",
                *quick_opts(ctx.shared.data()["root"])])


@case("infer_truncated_params", "checkpoint", 11, runtime("model.pdiparams", post=(count_files("{out}", 0),)))
def _infer_truncated(ctx: Ctx) -> Run:
    """tools/infer.py with a truncated model.pdiparams: an error naming the file."""
    export = _export_copy(ctx)
    truncate(os.path.join(export, "model.pdiparams"), 0.5)
    img = ctx.train_pair(0, "val", root=ctx.shared.data()["root"])[0]
    return _infer(ctx, img, export)


@case("infer_missing_model_file", "checkpoint", 11, user_error("model.json"))
def _infer_missing(ctx: Ctx) -> Run:
    """tools/infer.py whose model.json was deleted: one line naming it."""
    export = _export_copy(ctx)
    os.remove(os.path.join(export, "model.json"))
    img = ctx.train_pair(0, "val", root=ctx.shared.data()["root"])[0]
    return _infer(ctx, img, export)


@case("infer_missing_deploy_yaml", "cli", 0, user_error("nowhere.yaml"))
def _infer_no_yaml(ctx: Ctx) -> Run:
    """tools/infer.py --config that does not exist: one line naming it."""
    img = ctx.train_pair(0, "val", root=ctx.shared.data()["root"])[0]
    return Run(["tools/infer.py", "--config", ctx.path("nowhere.yaml"), "--image_path", img,
                "--save_dir", ctx.path("pred")])


@case("export_onnx_missing_deploy_yaml", "cli", 0, user_error(("nowhere.yaml", "paddle2onnx")))
def _onnx_no_yaml(ctx: Ctx) -> Run:
    """tools/export_onnx.py --deploy_config that does not exist (or paddle2onnx absent): one line."""
    return Run(["tools/export_onnx.py", "--deploy_config", ctx.path("nowhere.yaml"),
                "--save_file", ctx.path("m.onnx")])


# ----- 12. bad downloads are not cached

def _html_site(ctx: Ctx, rel: str) -> str:
    path = ctx.write(f"site/{rel}", "<!DOCTYPE html><html><body>Sign in to continue</body></html>\n")
    return "file://" + path


@case("download_html_not_cached", "download", 12,
      user_error("{url}", "{cache}", post=(absent("{cached}"),)))
def _download_html(ctx: Ctx) -> Run:
    """pretrained: a URL returning an HTML page: the error names the URL and the cache path, and the
    download is removed from the cache."""
    url = _html_site(ctx, "fake_backbone/model.pdparams")
    ctx.vars.update(url=url, cache=os.path.join(ctx.path("home"), "pretrained", "fake_backbone"),
                    cached=os.path.join(ctx.path("home"), "pretrained", "fake_backbone", "model.pdparams"))
    return Run(train_argv(ctx.path("run"), ctx.shared.data()["root"], "--iters", "1",
                          opts=(f"model.backbone.pretrained={url}",)))


@case("download_html_archive_not_cached", "download", 12,
      user_error("{url}", post=(absent("{cache}"),)))
def _download_html_archive(ctx: Ctx) -> Run:
    """pretrained: a .tar.gz URL returning HTML: one line naming the URL, nothing left in the cache."""
    url = _html_site(ctx, "fake_weights.tar.gz")
    ctx.vars.update(url=url, cache=os.path.join(ctx.path("home"), "pretrained", "fake_weights"))
    return Run(train_argv(ctx.path("run"), ctx.shared.data()["root"], "--iters", "1",
                          opts=(f"model.backbone.pretrained={url}",)))


@case("download_unreachable", "download", 12, user_error("127.0.0.1:9"))
def _download_unreachable(ctx: Ctx) -> Run:
    """pretrained: a URL nothing answers (port 9 on localhost): one line naming the URL, what to do."""
    return Run(train_argv(ctx.path("run"), ctx.shared.data()["root"], "--iters", "1",
                          opts=("model.backbone.pretrained=http://127.0.0.1:9/w/model.pdparams",)))


# ----- handled before issue 12; must stay handled (config, cli, output)

@case("config_typo_did_you_mean", "config", 0, usage("num_code", "did you mean", "num_codes"))
def _typo(ctx: Ctx) -> Run:
    """model.num_code (typo): did you mean 'num_codes'?"""
    return Run(train_argv(ctx.path("run"), ctx.shared.data()["root"], opts=("model.num_code=16",)))


@case("config_base_cycle", "config", 0, usage("a.yml", "b.yml"))
def _cycle(ctx: Ctx) -> Run:
    """a.yml -> b.yml -> a.yml through _base_: one line naming the files."""
    ctx.write("a.yml", "_base_: b.yml\nbatch_size: 2\n")
    ctx.write("b.yml", "_base_: a.yml\niters: 2\n")
    return Run(["train.py", "--config", ctx.path("a.yml"), "--save_dir", ctx.path("run"), "--num_threads", "1"])


@case("config_missing_file", "config", 0, usage("nowhere.yml"))
def _missing_cfg(ctx: Ctx) -> Run:
    """--config that does not exist."""
    return Run(["train.py", "--config", ctx.path("nowhere.yml"), "--save_dir", ctx.path("run")])


@case("config_missing_dataset_root", "config", 0, usage("no_such_data", "dataset_root"))
def _missing_root(ctx: Ctx) -> Run:
    """train_dataset.dataset_root that does not exist: named, with how to get the data."""
    return Run(train_argv(ctx.path("run"), ctx.path("no_such_data"), "--iters", "1"))


@case("config_unsafe_yaml_tag", "config", 0, usage("cfg.yml", post=(absent("{marker}"),)))
def _unsafe_cfg(ctx: Ctx) -> Run:
    """A python/object tag in a config: refused in one line, nothing executed."""
    ctx.vars["marker"] = ctx.path("MARKER")
    cfg = ctx.derived_config(f"evil: !!python/object/apply:os.system ['touch {ctx.vars['marker']}']\n")
    return Run(train_argv(ctx.path("run"), ctx.shared.data()["root"], "--iters", "1", config=cfg))


@case("config_yaml_syntax_error", "config", 0, usage("cfg.yml", "line"))
def _yaml_syntax(ctx: Ctx) -> Run:
    """An unclosed bracket in a config: the file and line."""
    cfg = ctx.derived_config("model:\n  num_codes: [16\n")
    return Run(train_argv(ctx.path("run"), ctx.shared.data()["root"], "--iters", "1", config=cfg))


@case("cli_opts_without_equals", "cli", 0, usage("model.num_codes"))
def _opts_syntax(ctx: Ctx) -> Run:
    """--opts model.num_codes 16 (no '='): one line showing the expected KEY=VALUE."""
    return Run(train_argv(ctx.path("run"), ctx.shared.data()["root"], opts=("model.num_codes", "16")))


@case("cli_unknown_model_type", "config", 0, usage("ENCNett", "ENCNet"))
def _unknown_type(ctx: Ctx) -> Run:
    """model.type=ENCNett: unknown, with the close registered name."""
    return Run(train_argv(ctx.path("run"), ctx.shared.data()["root"], opts=("model.type=ENCNett",)))


@case("cli_negative_batch_size", "cli", 0, usage("batch_size", "-1"))
def _neg_batch(ctx: Ctx) -> Run:
    """train.py --batch_size -1."""
    return Run(train_argv(ctx.path("run"), ctx.shared.data()["root"], "--batch_size", "-1"))


@case("cli_val_batch_size_zero", "cli", 0, usage("--batch_size", "0"))
def _val_batch(ctx: Ctx) -> Run:
    """val.py --batch_size 0."""
    return Run(_val_with(ctx, ctx.shared.model()).argv + ["--batch_size", "0"])


@case("cli_device_gpu_on_cpu_build", "cli", 0, usage("--device gpu"))
def _gpu(ctx: Ctx) -> Run:
    """--device gpu on a CPU-only Paddle build: one line saying so and what to install."""
    return Run(train_argv(ctx.path("run"), ctx.shared.data()["root"], "--device", "gpu"))


@case("cli_unknown_flag", "cli", 0, usage("--itres"))
def _unknown_flag(ctx: Ctx) -> Run:
    """A misspelt flag (--itres): argparse's usage error."""
    return Run(train_argv(ctx.path("run"), ctx.shared.data()["root"], "--itres", "2"))


@case("cli_num_threads_negative", "cli", 0, usage("--num_threads"))
def _threads(ctx: Ctx) -> Run:
    """--num_threads -1."""
    args = train_argv(ctx.path("run"), ctx.shared.data()["root"])
    args[args.index("--num_threads") + 1] = "-1"
    return Run(args)


@case("save_dir_not_writable", "output", 0, user_error("blocker"))
def _save_dir_blocked(ctx: Ctx) -> Run:
    """A save_dir that cannot be created (a file stands in its parent's place; chmod cannot stop
    root, who runs these cases): one line naming the path."""
    ctx.write("blocker", "a file, not a directory\n")
    return Run(train_argv(ctx.path("blocker", "run"), ctx.shared.data()["root"], "--iters", "1"))


@case("predict_missing_image_path", "cli", 0, user_error("no_such_images"))
def _predict_missing(ctx: Ctx) -> Run:
    """tools/predict.py --image_path that does not exist: one line naming it."""
    return _predict(ctx, ctx.path("no_such_images"))


# --------------------------------------------------------------------------- judging

@dataclass
class Outcome:
    name: str
    kind: str
    item: int
    passed: bool
    exit: Optional[int]
    seconds: float
    reasons: List[str]
    last_stderr: str
    tmp: str


def _neutral(text: str, ctx: Ctx) -> str:
    """Hide the temporary directories, so that a mention cannot be satisfied by a path's prefix."""
    text = text.replace(ctx.tmp, "<case>")
    return text.replace(ctx.shared.root, "<shared>") if ctx.shared is not None else text


def _fill(template: str, ctx: Ctx, escape: bool = False) -> str:
    values = {k: _neutral(v, ctx) for k, v in ctx.vars.items()}
    return template.format(**{k: (re.escape(v) if escape else v) for k, v in values.items()})


def judge(case: Case, ctx: Ctx, proc: Proc, code: Optional[int]) -> List[str]:
    exp = case.expect
    reasons: List[str] = []
    output = _neutral(proc.stdout + proc.stderr, ctx)
    if proc.hung:
        reasons.append(f"hang: no exit within {exp.timeout:.0f}s, process group killed")
    elif code not in exp.exit:
        reasons.append(f"exit {code}, expected {'/'.join(map(str, exp.exit))}")
    for bad in exp.forbids:
        if bad in output:
            reasons.append(f"output contains {bad!r}")
    if code not in (0, None) and not proc.hung and set(exp.exit) & {1, 2} and not ERROR_LINE.search(proc.stderr):
        reasons.append("no '<script>: error: ...' line")
    low = output.lower()
    for mention in exp.mentions:
        options = (mention,) if isinstance(mention, str) else mention
        filled = [_fill(m, ctx) for m in options]
        if not any(m.lower() in low for m in filled):
            reasons.append(f"output does not mention {' or '.join(repr(m) for m in filled)}")
    for pattern in exp.patterns:
        filled = _fill(pattern, ctx, escape=True)
        if not re.search(filled, output):
            reasons.append(f"output does not match {filled!r}")
    if not proc.hung:
        for check in exp.post:
            try:
                why = check(ctx)
            except Exception as e:  # noqa: BLE001 - a broken check is a failed case, reported
                why = f"check {getattr(check, '__name__', check)} raised {e!r}"
            if why:
                reasons.append(why)
    return reasons


def run_case(case: Case, shared: Shared, work: str, keep: bool) -> Outcome:
    # Not named after the case: output that quotes a truncated path must not satisfy a mention.
    tmp = tempfile.mkdtemp(prefix=f"case{CASES.index(case):02d}-", dir=work)
    with open(os.path.join(tmp, "CASE"), "w") as f:
        f.write(case.name + "\n")
    ctx = Ctx(case, shared, tmp)
    code: Optional[int] = None
    seconds = 0.0
    last = ""
    try:
        try:
            run = case.setup(ctx)
        except SetupError as e:
            return Outcome(case.name, case.kind, case.item, False, None, 0.0, [f"setup: {e}"], "", tmp)
        env = dict(ctx.env, **run.env)
        ctx.env = env
        proc = Proc([PY, *run.argv], REPO, env)
        ctx.proc = proc
        if run.during:
            run.during(ctx, proc)
        code = proc.wait(case.expect.timeout)
        seconds = proc.seconds
        if keep:
            for name, text in (("stdout.txt", proc.stdout), ("stderr.txt", proc.stderr)):
                with open(os.path.join(tmp, name), "w", encoding="utf-8") as f:
                    f.write(text)
        reasons = judge(case, ctx, proc, code)
        lines = [l.strip() for l in proc.stderr.splitlines() if l.strip()]
        last = lines[-1][:200] if lines else ""
        return Outcome(case.name, case.kind, case.item, not reasons, code, seconds, reasons, last, tmp)
    except Exception as e:  # noqa: BLE001 - a catalogue bug must not hide the other cases
        return Outcome(case.name, case.kind, case.item, False, code, seconds,
                       [f"catalogue error: {type(e).__name__}: {e}"], last, tmp)
    finally:
        ctx.cleanup()
        if not keep:
            shutil.rmtree(tmp, ignore_errors=True)


def format_line(o: Outcome) -> str:
    status = "PASS" if o.passed else "FAIL"
    code = "-" if o.exit is None else str(o.exit)
    line = f"{status}  {o.kind:<11} {o.name:<38} (exit {code}, {o.seconds:.1f}s)"
    if not o.passed:
        line += "  [" + "; ".join(o.reasons) + (f" | stderr: {o.last_stderr}" if o.last_stderr else "") + "]"
    return line


def select(only: Optional[Sequence[str]]) -> List[Case]:
    if not only:
        return list(CASES)
    return [c for c in CASES if any(s in c.name or s == c.kind for s in only)]


def main(argv: Optional[Sequence[str]] = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=HelpFormatter)
    p.add_argument("--only", action="append", metavar="SUBSTR",
                   help="run the cases whose name contains SUBSTR or whose kind equals it (repeatable)")
    p.add_argument("--jobs", type=int, default=1, help="cases run at once (default 1)")
    p.add_argument("--keep", action="store_true", help="keep every case's temporary directory")
    p.add_argument("--out", "--json", dest="out", metavar="PATH", help="also write the outcomes as JSON here (default: none)")
    p.add_argument("--list", action="store_true", help="list the cases and exit")
    args = p.parse_args(argv)
    cases = select(args.only)
    if args.list:
        for c in cases:
            print(f"{c.item:>2}  {c.kind:<11} {c.name:<38} {' '.join(c.doc.split())}")
        print(f"{len(cases)} case(s)")
        return 0
    if not cases:
        p.error(f"no case matches --only {args.only}")
    if args.jobs < 1:
        p.error(f"--jobs must be >= 1, got {args.jobs}")
    work = tempfile.mkdtemp(prefix="fc-")
    shared = Shared(os.path.join(work, "shared"))
    os.makedirs(shared.root)
    start = time.monotonic()
    outcomes: List[Outcome] = []
    print_lock = threading.Lock()

    def one(c: Case) -> Outcome:
        o = run_case(c, shared, work, args.keep)
        with print_lock:
            print(format_line(o), flush=True)
        return o

    try:
        with ThreadPoolExecutor(max_workers=args.jobs) as pool:
            outcomes = list(pool.map(one, cases))
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    passed = sum(o.passed for o in outcomes)
    elapsed = time.monotonic() - start
    print(f"{passed}/{len(outcomes)} handled clearly ({elapsed:.0f}s, --jobs {args.jobs})"
          + (f"; kept {work}" if args.keep else ""))
    if args.out:
        with open(args.out, "w") as f:
            json.dump({"passed": passed, "total": len(outcomes), "seconds": round(elapsed, 1), "jobs": args.jobs,
                       "cases": [dict(o.__dict__, tmp=o.tmp if args.keep else None) for o in outcomes]}, f, indent=2)
    return 0 if passed == len(outcomes) else 1


if __name__ == "__main__":
    sys.exit(main())
