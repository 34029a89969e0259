"""The fault catalogue as a package: ``python benchmarks/fault_catalogue.py`` runs it (see cli.py).

Modules: proc (one script in its own process group), context (Case / Expect / Run / Ctx and the
constants), shared (inputs built once per run), checks (file damage and post-conditions), actions
(a full disk, signals), registry (CASES, the ``case`` decorator, shared commands), judge (verdicts),
cli (the command line), and the cases by area in ``cases_*``. The case modules are imported here in
a fixed order, which is the order of CASES, of ``--list`` and of a run.
"""
from . import (cases_data, cases_weights, cases_outputs, cases_resume,  # noqa: F401 - register
               cases_files, cases_messages, cases_regressions)
from .context import Case, Ctx, Expect, Run
from .judge import Outcome, judge, run_case
from .registry import CASES
from .cli import main

__all__ = ["CASES", "Case", "Ctx", "Expect", "Outcome", "Run", "judge", "main", "run_case"]
