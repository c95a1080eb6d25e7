"""The scaled-up student suite the benchmarks measure (minigrad_dev.scaled): its engine is
right and its 80 tests pass on it, so the campaigns timed there judge a correct engine."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from minigrad_dev.scaled import EXTRA_OPS, POINTS, write_scaled_student

ROOT = Path(__file__).parents[1]


def test_the_scaled_suite_passes_on_its_engine(tmp_path: Path) -> None:
    write_scaled_student(ROOT, tmp_path)
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "test_engine.py"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    tests = (8 + len(EXTRA_OPS)) * len(POINTS)
    assert f"{tests} passed" in done.stdout
    assert tests == 80  # 10x the student's 8


# Tests that run every op of the scaled-up engine and check nothing but that the gradient is
# a number: nearly every mutant gets through them, so nearly every one is probed.
_WEAK_TEST = """
import math
from engine import Value


def test_everything_runs():
    for x in (0.3, 0.7):
        v = Value(x)
        out = (v + 2.0) * 3.0 - v / 4.0 + v**3
        for name in {ops!r}:
            out = out + getattr(v, name)()
        out.backward()
        assert math.isfinite(v.grad)
"""


@pytest.mark.e2e
def test_a_campaign_whose_tests_let_hundreds_of_mutants_through_ends(tmp_path: Path) -> None:
    """Each mutant your tests let through is probed in the engine host while the parent reads
    your tests' host: with hundreds of them, the probes' unread answers once filled the engine
    host's pipe, and the campaign hung for good (isolation._OPEN)."""
    write_scaled_student(ROOT, tmp_path)
    ops = ["tanh", "exp", "relu", *EXTRA_OPS]
    (tmp_path / "test_engine.py").write_text(_WEAK_TEST.format(ops=ops))
    command = [sys.executable, "-m", "minigrad_tool", "mutate", "--engine", "engine.py"]
    command += ["--tests", "test_engine.py", "--no-cache", "--json", "report.json"]
    done = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert done.returncode == 1, done.stdout + done.stderr  # a score under 100%: a check failed
    files = json.loads((tmp_path / "report.json").read_text())["files"].values()
    survived = [m for f in files for m in f["mutants"] if m["status"] == "Survived"]
    assert len(survived) > 200, len(survived)
