"""The scaled-up student suite the benchmarks measure (minigrad_dev.scaled): its engine is
right and its 80 tests pass on it, so the campaigns timed there judge a correct engine."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

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
