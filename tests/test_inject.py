"""Break and confirm: `minigrad inject` and scripts/inject_bug.py."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from minigrad_tool.cli import main

ROOT = Path(__file__).resolve().parents[1]
STUDENT = ROOT / "examples" / "student"
OURS = str(ROOT / "src" / "minigrad" / "engine.py")
STUDENT_ARGS = ["--engine", str(STUDENT / "engine.py"), "--tests", str(STUDENT / "test_engine.py")]

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
    """The script shows the diff and the tests that fail, confirms the catch, writes nothing."""
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
    assert out.startswith("Injected sub-sign into Value._sub_backward: -= becomes +=")
    assert "+        other.grad += out.grad" in out
    assert "Your tests (tests/test_gradcheck.py) ran against the mutant" in out
    assert "caught by your tests:" in out
    assert "  tests/test_gradcheck.py::test_battery_case[sub]\n" in out
    assert "battery cases that catch it too" in out
    assert (ROOT / "src/minigrad/engine.py").read_bytes() == engine
    assert _git_status() == before


class TestVerdicts:
    def test_escapes_weak_tests(self, capsys: pytest.CaptureFixture[str]) -> None:
        """A bug the tests miss: exit 1, ESCAPED, the battery's catchers and how to fix named."""
        code, out, _ = inject(["add-assign", *STUDENT_ARGS], capsys)
        assert code == 1
        assert "ESCAPED your tests: they all pass on add-assign" in out
        assert "battery cases that catch it too" in out and "--suggest" in out

    def test_the_suggest_hint_works_where_it_is_printed(
        self, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """The printed --suggest path is beside the user's tests, in a folder that exists."""
        _, out, _ = inject(["add-assign", *STUDENT_ARGS], capsys)
        hint = out.split("--suggest ", 1)[1].split()[0]
        assert Path(hint).parent.is_dir() and not Path(hint).exists()

    def test_equivalent_is_no_verdict(self, capsys: pytest.CaptureFixture[str]) -> None:
        """An equivalent mutant can be neither caught nor escaped: exit 2, and it says so."""
        code, out, _ = inject(["relu-swap-2", *STUDENT_ARGS], capsys)
        assert code == 2
        assert "no verdict: relu-swap-2 is equivalent, nothing can catch it" in out
        assert "ESCAPED" not in out and "caught" not in out

    def test_no_tests_is_a_usage_error(self, capsys: pytest.CaptureFixture[str]) -> None:
        """Without tests there is no verdict: the battery never stands in for them (exit 2)."""
        code, out, err = inject(["add-assign", "--engine", str(STUDENT / "engine.py")], capsys)
        assert code == 2
        assert "inject needs your tests" in err and "[tool.minigrad]" in err
        assert "caught" not in out

    def test_tests_failing_without_the_bug(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """Tests that fail on the unmutated engine: exit 2, a catch would mean nothing."""
        bad = tmp_path / "test_bad.py"
        bad.write_text("def test_fails():\n    assert False\n")
        code, _, err = inject(["add-sign", "--engine", OURS, "--tests", str(bad)], capsys)
        assert code == 2
        assert "must pass on the unmutated engine" in err

    def test_no_test_collected_is_no_verdict(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """A tests path with no test: no verdict (exit 2), never 'caught'."""
        empty = tmp_path / "test_empty.py"
        empty.write_text("X = 1\n")
        code, out, err = inject(["add-sign", "--engine", OURS, "--tests", str(empty)], capsys)
        assert code == 2
        assert "collect no test" in err and "caught" not in out

    def test_engine_failing_the_battery_is_judged_by_the_tests(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """The battery's findings are notes; the user's tests still give the verdict."""
        tests = tmp_path / "test_forward.py"
        tests.write_text(
            "from buggy_ops import Value\n\n"
            "def test_add():\n    assert (Value(2.0) + Value(3.0)).data == 5.0\n"
        )
        engine = str(ROOT / "tests/engines/buggy_ops.py")
        code, out, _ = inject(["add-sign", "--engine", engine, "--tests", str(tests)], capsys)
        assert code == 1
        head = out.split("Injected add-sign")[0]  # the findings come first
        assert head.startswith("YOUR ENGINE IS WRONG") and "abs:" in head
        assert "ESCAPED your tests" in out


class TestNames:
    def test_unknown_bug_suggests_close_names(self, capsys: pytest.CaptureFixture[str]) -> None:
        """A typo gets a few close names, not the whole list."""
        code, _, err = inject(["sub-sgin", "--engine", OURS], capsys)
        assert code == 2
        assert "unknown bug 'sub-sgin'; did you mean sub-sign" in err
        assert err.count(",") < 5

    def test_missing_name(self, capsys: pytest.CaptureFixture[str]) -> None:
        """No bug and no --list is a usage error."""
        code, _, err = inject(["--engine", OURS], capsys)
        assert code == 2 and "name a bug" in err

    def test_list_marks_equivalents(self, capsys: pytest.CaptureFixture[str]) -> None:
        """--list prints every ID with its function and description; equivalents are marked."""
        engine = str(ROOT / "tests" / "engines" / "microstyle.py")  # ours: test_campaign's
        code, out, _ = inject(["--list", "--engine", engine], capsys)
        assert code == 0
        lines = out.splitlines()
        assert any(line.startswith("mul-sign ") and "Value.__mul__" in line for line in lines)
        marked = [line.split()[0] for line in lines if line.endswith("[equivalent]")]
        assert marked == ["relu-swap-2", "relu-forward-2"]
        assert len(lines) > 60

    def test_a_bug_named_after_tests_is_the_bug(self, capsys: pytest.CaptureFixture[str]) -> None:
        """`--tests test_engine.py add-assign`: argparse gives --tests every word after it; the
        last, no path and a mutant of the engine, is the bug (it read "--tests: add-assign
        does not exist")."""
        code, out, err = inject([*STUDENT_ARGS, "add-assign"], capsys)
        assert code == 1, err
        assert "ESCAPED your tests: they all pass on add-assign" in out

    def test_a_word_after_tests_that_names_no_bug_is_a_missing_path(
        self, capsys: pytest.CaptureFixture[str]
    ) -> None:
        for word in ("test_other.py", "add-tests"):  # no operator is called `tests`
            code, out, err = inject([*STUDENT_ARGS, word], capsys)
            assert code == 2 and f"--tests: {word} does not exist" in err and not out


class TestMarkedLines:
    """`# pragma: no mutate` keeps a line's bugs out of `mutate`; a student who names one of
    them still gets it injected, told that `mutate` leaves it out (it read "unknown bug")."""

    @pytest.fixture
    def lab(self, tmp_path: Path) -> Path:
        source = (STUDENT / "engine.py").read_text()
        step = "            self.grad += out.grad\n"
        assert source.count(step) == 1  # add's first step
        (tmp_path / "engine.py").write_text(
            source.replace(step, step.rstrip("\n") + "  # pragma: no mutate\n")
        )
        (tmp_path / "test_engine.py").write_text((STUDENT / "test_engine.py").read_text())
        return tmp_path

    def test_a_marked_bug_named_is_injected_and_said_to_be_marked(
        self, lab: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        line = next(
            i
            for i, text in enumerate((lab / "engine.py").read_text().splitlines(), 1)
            if "pragma" in text
        )
        args = ["--engine", str(lab / "engine.py"), "--tests", str(lab / "test_engine.py")]
        code, out, err = inject(["add-sign", *args], capsys)
        assert code == 0, err
        assert out.startswith("Injected add-sign into Value.__add__: += becomes -=\n")
        assert f"(line {line} is marked `# pragma: no mutate`: `mutate` leaves this bug out)" in out
        assert "caught by your tests: 2 fail on add-sign" in out

    def test_the_hint_for_a_marked_bug_that_escapes_says_to_take_the_mark_off(
        self, lab: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """`mutate --suggest` writes no test for a bug it leaves out: the hint says so."""
        args = ["--engine", str(lab / "engine.py"), "--tests", str(lab / "test_engine.py")]
        code, out, err = inject(["add-assign", *args], capsys)
        assert code == 1, err
        hint = next(line for line in out.splitlines() if "to write the missing test" in line)
        assert "is marked `# pragma: no mutate`, which `mutate` leaves out: take the mark off" in (
            hint
        )
        assert hint.rstrip().endswith("--suggest " + str(lab / "test_suggested.py"))

    def test_list_names_the_marked_line(
        self, lab: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        code, out, _ = inject(["--list", "--engine", str(lab / "engine.py")], capsys)
        assert code == 0
        marked = [line.split()[0] for line in out.splitlines() if "is marked `# pragma" in line]
        assert "add-sign" in marked and "add-sign-2" not in marked
        assert all(line.split()[0] != "add-sign" for line in out.splitlines()[: -len(marked)])
