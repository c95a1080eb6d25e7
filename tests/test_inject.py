"""Break and confirm: `minigrad inject` and scripts/inject_bug.py."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from minigrad.cli import main

ROOT = Path(__file__).resolve().parents[1]
STUDENT = ROOT / "examples" / "student"

pytestmark = pytest.mark.campaign


def _git_status() -> str:
    return subprocess.run(
        ["git", "status", "--porcelain"], cwd=ROOT, capture_output=True, text=True, check=False
    ).stdout


def inject(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(["inject", *args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_lab_step_sub_sign() -> None:
    """The script shows the diff and the failing test, confirms the catch, writes nothing."""
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
    out = proc.stdout
    assert "Injecting sub-sign into Value._sub_backward: -= becomes +=" in out
    assert "+        other.grad += out.grad" in out
    assert "FAILED tests/test_gradcheck.py::test_battery_case[sub]" in out
    assert "caught by your tests (pytest exited 1)" in out
    assert "battery cases that catch it" in out
    assert (ROOT / "src/minigrad/engine.py").read_bytes() == engine
    assert _git_status() == before


class TestVerdicts:
    def test_escapes_weak_tests(self, capsys: pytest.CaptureFixture[str]) -> None:
        """A bug the tests miss: exit 1, ESCAPED, the battery's catchers and how to fix named."""
        code, out, _ = inject(
            [
                "add-assign",
                "--engine",
                str(STUDENT / "engine.py"),
                "--tests",
                str(STUDENT / "test_engine.py"),
            ],
            capsys,
        )
        assert code == 1
        assert "ESCAPED your tests: pytest passed on add-assign" in out
        assert "battery cases that catch it" in out and "--suggest" in out

    def test_equivalent_is_said(self, capsys: pytest.CaptureFixture[str]) -> None:
        """An equivalent mutant is 'equivalent', not 'escaped'."""
        code, out, _ = inject(
            [
                "relu-swap-2",
                "--engine",
                str(STUDENT / "engine.py"),
                "--tests",
                str(STUDENT / "test_engine.py"),
            ],
            capsys,
        )
        assert code == 0
        assert "equivalent: nothing can catch relu-swap-2" in out
        assert "ESCAPED" not in out

    def test_tests_failing_without_the_bug(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """Tests that fail on the unmutated engine: exit 2, a catch would mean nothing."""
        bad = tmp_path / "test_bad.py"
        bad.write_text("def test_fails():\n    assert False\n")
        code, _, err = inject(["add-sign", "--tests", str(bad)], capsys)
        assert code == 2
        assert "fail on the unmutated engine" in err

    def test_pytest_exit_code_counts(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """A tests path with no test: pytest exits 5, and that is no verdict (exit 2)."""
        empty = tmp_path / "test_empty.py"
        empty.write_text("X = 1\n")
        code, _, err = inject(["add-sign", "--tests", str(empty)], capsys)
        assert code == 2
        assert "pytest collected no test" in err

    def test_engine_failing_the_battery(self, capsys: pytest.CaptureFixture[str]) -> None:
        """An engine that already fails the battery: exit 2, it cannot 'catch' anything."""
        code, _, err = inject(
            ["add-sign", "--engine", str(ROOT / "tests/engines/buggy_ops.py")], capsys
        )
        assert code == 2
        assert "the unmutated engine fails the battery" in err


class TestNames:
    def test_unknown_bug_suggests_close_names(self, capsys: pytest.CaptureFixture[str]) -> None:
        """A typo gets a few close names, not the whole list."""
        code, _, err = inject(["sub-sgin"], capsys)
        assert code == 2
        assert "unknown bug 'sub-sgin'; did you mean sub-sign" in err
        assert err.count(",") < 5

    def test_missing_name(self, capsys: pytest.CaptureFixture[str]) -> None:
        """No bug and no --list is a usage error."""
        code, _, err = inject([], capsys)
        assert code == 2 and "name a bug" in err

    def test_list_marks_equivalents(self, capsys: pytest.CaptureFixture[str]) -> None:
        """--list prints every ID with its function and description; equivalents are marked."""
        code, out, _ = inject(["--list"], capsys)
        assert code == 0
        lines = out.splitlines()
        assert any(line.startswith("sub-sign ") and "Value._sub_backward" in line for line in lines)
        marked = [line.split()[0] for line in lines if line.endswith("[equivalent]")]
        assert marked == ["relu-swap-2", "backward-topo-2"]
        assert len(lines) > 150
