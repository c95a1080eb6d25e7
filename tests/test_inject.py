"""Break and confirm: `minigrad inject` and scripts/inject_bug.py."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from minigrad.cli import main

ROOT = Path(__file__).resolve().parents[1]


def _git_status() -> str:
    return subprocess.run(
        ["git", "status", "--porcelain"], cwd=ROOT, capture_output=True, text=True, check=False
    ).stdout


@pytest.mark.campaign
class TestInject:
    def test_sub_sign_is_caught_and_source_untouched(self) -> None:
        """The script shows the diff and the failing case, confirms the catch, exits 0."""
        before = _git_status()
        engine = (ROOT / "src/minigrad/engine.py").read_bytes()
        proc = subprocess.run(
            [sys.executable, "scripts/inject_bug.py", "sub-sign"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=False,
        )
        assert proc.returncode == 0, proc.stdout + proc.stderr
        assert "Value.__sub__" in proc.stdout
        assert "+        other.grad += out.grad" in proc.stdout
        assert "FAILED tests/test_gradcheck.py::test_battery_case[sub]" in proc.stdout
        assert "input index: 1" in proc.stdout
        assert "caught by" in proc.stdout
        assert (ROOT / "src/minigrad/engine.py").read_bytes() == engine
        assert _git_status() == before

    def test_unknown_bug_exits_2_and_lists_names(self, capsys: pytest.CaptureFixture[str]) -> None:
        """An unknown name is a usage error that lists the valid ones."""
        assert main(["inject", "sub-sgin"]) == 2
        err = capsys.readouterr().err
        assert "unknown bug 'sub-sgin'" in err
        assert "sub-sign" in err

    def test_missing_name_exits_2(self, capsys: pytest.CaptureFixture[str]) -> None:
        """No bug and no --list is a usage error."""
        assert main(["inject"]) == 2
        assert "name a bug" in capsys.readouterr().err

    def test_list(self, capsys: pytest.CaptureFixture[str]) -> None:
        """--list prints every ID with a one-line description."""
        assert main(["inject", "--list"]) == 0
        lines = capsys.readouterr().out.splitlines()
        assert any(line.startswith("sub-sign ") and "Value.__sub__" in line for line in lines)
        assert len(lines) > 100

    def test_equivalent_bug_escapes_loudly(self, capsys: pytest.CaptureFixture[str]) -> None:
        """A bug no case catches (an equivalent mutant) exits 1 and says it escaped."""
        assert main(["inject", "backward-topo-2"]) == 1
        assert "ESCAPED" in capsys.readouterr().out


@pytest.mark.campaign
def test_pytest_engine_option_runs_battery_on_other_engine() -> None:
    """`pytest --engine PATH` runs the battery against a user's engine, skipping missing ops."""
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "tests/test_gradcheck.py",
            "-k",
            "battery",
            "--engine",
            "tests/engines/microstyle.py",
            "-p",
            "no:cacheprovider",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout
    assert "skipped" in proc.stdout
    assert " failed" not in proc.stdout
