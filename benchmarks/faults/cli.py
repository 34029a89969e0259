"""Fault catalogue: bad inputs and faults thrown at the command-line scripts, judged against the
promises of docs/reliability.md (issue 12).

    python benchmarks/fault_catalogue.py                      # every case, one at a time
    python benchmarks/fault_catalogue.py --jobs 2             # two cases at once (2 cores)
    python benchmarks/fault_catalogue.py --only lock --keep   # name or kind contains 'lock'
    python benchmarks/fault_catalogue.py --list               # names, kinds and issue items only
    python benchmarks/fault_catalogue.py --out out.json       # also write every outcome as JSON

Each case creates its inputs in a fresh temporary directory (tiny generated Cityscapes-layout data,
64x32 images, 4 train / 2 val; the quickstart ENCNet-ResNet18_vd config with 32x32 crops, batch 2,
a few iterations, ``--num_threads 1``), runs one of train.py, val.py, export.py, tools/predict.py,
tools/infer.py or tools/export_onnx.py in a subprocess (its own process group), optionally acts
while it runs (a signal after the first training log line, a second run on the same save_dir), and
checks the case's declared expectations:

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
containing a given string (see ``ENOSPC_RUNNER`` in actions.py). Bad downloads use ``file://``
URLs, which paddleseg/utils/download.py fetches through the same path as http(s).
"""
from __future__ import annotations

import json
import os
import shutil
import tempfile
import threading
import time
from typing import List, Optional, Sequence
import argparse
from concurrent.futures import ThreadPoolExecutor

from paddleseg.utils.cli import HelpFormatter

from .context import Case
from .judge import Outcome, format_line, run_case
from .registry import CASES
from .shared import Shared


def select(only: Optional[Sequence[str]]) -> List[Case]:
    if not only:
        return list(CASES)
    return [c for c in CASES if any(s in c.name or s == c.kind for s in only)]


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=HelpFormatter)
    p.add_argument("--only", action="append", metavar="SUBSTR",
                   help="run the cases whose name contains SUBSTR or whose kind equals it "
                        "(repeatable)")
    p.add_argument("--jobs", type=int, default=1, help="cases run at once (default 1)")
    p.add_argument("--keep", action="store_true", help="keep every case's temporary directory")
    p.add_argument("--out", "--json", dest="out", metavar="PATH",
                   help="also write the outcomes as JSON here (default: none)")
    p.add_argument("--list", action="store_true", help="list the cases and exit")
    return p


def run_all(cases: Sequence[Case], work: str, jobs: int, keep: bool) -> List[Outcome]:
    """Run ``cases`` ``jobs`` at a time under ``work``, printing one line per case as it ends."""
    shared = Shared(os.path.join(work, "shared"))
    os.makedirs(shared.root)
    print_lock = threading.Lock()

    def one(c: Case) -> Outcome:
        o = run_case(c, shared, work, keep)
        with print_lock:
            print(format_line(o), flush=True)
        return o

    with ThreadPoolExecutor(max_workers=jobs) as pool:
        return list(pool.map(one, cases))


def main(argv: Optional[Sequence[str]] = None) -> int:
    p = _parser()
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
    start = time.monotonic()
    outcomes: List[Outcome] = []
    try:
        outcomes = run_all(cases, work, args.jobs, args.keep)
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    passed = sum(o.passed for o in outcomes)
    elapsed = time.monotonic() - start
    print(f"{passed}/{len(outcomes)} handled clearly ({elapsed:.0f}s, --jobs {args.jobs})"
          + (f"; kept {work}" if args.keep else ""))
    if args.out:
        with open(args.out, "w") as f:
            json.dump({"passed": passed, "total": len(outcomes), "seconds": round(elapsed, 1),
                       "jobs": args.jobs,
                       "cases": [dict(o.__dict__, tmp=o.tmp if args.keep else None)
                                 for o in outcomes]}, f, indent=2)
    return 0 if passed == len(outcomes) else 1
