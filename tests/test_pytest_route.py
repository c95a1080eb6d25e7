"""The pytest route, `pytest tests/test_gradcheck.py --engine SPEC`, behaves like the CLI."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).parents[1]


def pytest_run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "tests/test_gradcheck.py",
            "-p",
            "no:cacheprovider",
            *args,
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_a_missing_engine_is_one_usage_error() -> None:
    """Not one error per test: pytest's usage error (exit 4), one line, no traceback."""
    result = pytest_run("--engine", "missing.py")
    assert result.returncode == 4
    assert "--engine missing.py: engine file not found" in result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    assert "passed" not in result.stdout


def test_the_engine_is_named_and_self_tests_are_deselected() -> None:
    """The summary names the engine; tests of minigrad itself do not count as its passes."""
    result = pytest_run("--engine", "tests/engines/microstyle.py")
    assert result.returncode == 0, result.stdout
    assert "engine under test: tests/engines/microstyle.py" in result.stdout
    assert "deselected" in result.stdout
    assert "failed" not in result.stdout
