"""The fault catalogue (benchmarks/fault_catalogue.py; package benchmarks/faults) is well formed
and runs end to end."""
import os
import re
import subprocess
import sys

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
from benchmarks import faults as fc


def test_catalogue_has_40_uniquely_named_cases_covering_every_issue_item():
    names = [c.name for c in fc.CASES]
    assert len(names) >= 40
    assert len(set(names)) == len(names), [n for n in names if names.count(n) > 1]
    assert {c.item for c in fc.CASES} >= set(range(0, 13))  # issue 12's items 1-12, and 0: keep passing


def test_every_case_declares_expectations():
    for c in fc.CASES:
        exp = c.expect
        assert isinstance(exp, fc.Expect), c.name
        assert exp.exit and all(isinstance(code, int) for code in exp.exit), c.name
        assert 0 < exp.timeout <= 300, c.name
        assert "Traceback" in exp.forbids, c.name
        # A failure must say something specific (a name or a value), or be checked on disk.
        if set(exp.exit) & {1, 2}:
            assert exp.mentions or exp.patterns or exp.post, c.name
        assert c.doc, f"{c.name} has no description"
        assert callable(c.setup), c.name


@pytest.mark.timeout(180)
def test_only_one_cheap_case_runs_and_prints_the_summary(tmp_path):
    out = tmp_path / "result.json"
    run = subprocess.run([sys.executable, "benchmarks/fault_catalogue.py", "--only", "config_typo_did_you_mean",
                          "--json", str(out)], cwd=REPO, capture_output=True, text=True, timeout=170)
    lines = run.stdout.strip().splitlines()
    assert re.match(r"^PASS  config\s+config_typo_did_you_mean\s+\(exit 2, [\d.]+s\)$", lines[0]), run.stdout
    assert re.match(r"^1/1 handled clearly", lines[-1]), run.stdout
    assert run.returncode == 0, run.stdout + run.stderr
    assert out.is_file()


def test_judge_reports_every_broken_expectation(tmp_path):
    """The verdict logic on a fake finished process: wrong exit, a traceback, a missing name."""
    case = fc.Case("fake", "cli", 0, lambda ctx: None, fc.Expect(exit=(2,), mentions=("{thing}",)), "fake")
    ctx = fc.Ctx(case, None, str(tmp_path))
    ctx.vars["thing"] = "model.num_codes"

    class FakeProc:
        hung = False
        stdout = ""
        stderr = "Traceback (most recent call last):\nKeyError: 'x'\n"
    reasons = fc.judge(case, ctx, FakeProc(), 1)
    text = "; ".join(reasons)
    assert "exit 1, expected 2" in text
    assert "'Traceback'" in text
    assert "model.num_codes" in text
    assert "error:" in text
