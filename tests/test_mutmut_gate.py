"""The mutmut score gate: it passes only on fresh, complete results at or above the threshold."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from minigrad_dev.mutmut_gate import STATUS_BY_EXIT_CODE, excluded_mutants, gate, status_of

ROOT = Path(__file__).resolve().parents[1]
SOURCE = "def f(x):\n    return x + 1\n"


def make_project(tmp_path: Path, codes: dict[str, int | None], *, stale: bool = False) -> Path:
    """A project with one source file and mutmut results for it."""
    (tmp_path / "src").mkdir()
    (tmp_path / "tests").mkdir()
    source = tmp_path / "src" / "mod.py"
    source.write_text(SOURCE)
    (tmp_path / "tests" / "test_mod.py").write_text("def test_f():\n    pass\n")
    (tmp_path / "pyproject.toml").write_text("[tool.mutmut]\n")
    meta = tmp_path / "mutants" / "src" / "mod.py.meta"
    meta.parent.mkdir(parents=True)
    meta.write_text(json.dumps({"exit_code_by_key": codes}))
    past = time.time() - 100
    for path in (source, tmp_path / "tests" / "test_mod.py", tmp_path / "pyproject.toml"):
        os.utime(path, (past, past))
    if stale:
        os.utime(source, None)
        os.utime(meta, (past - 10, past - 10))
    return tmp_path


def run_gate(root: Path, min_score: float = 100.0) -> tuple[int, str]:
    lines: list[str] = []
    code = gate(root, min_score, lines)
    return code, "\n".join(lines)


class TestGate:
    def test_passes_when_all_killed(self, tmp_path: Path) -> None:
        """Killed and timed-out mutants give 100% and exit 0."""
        code, out = run_gate(
            make_project(tmp_path, {"mod.x_f__mutmut_1": 1, "mod.x_f__mutmut_2": 36})
        )
        assert code == 0
        assert "mutmut score: 100.0%" in out
        assert "excluded by `# pragma: no mutate`: 0 mutants" in out

    def test_fails_below_threshold_and_names_survivors(self, tmp_path: Path) -> None:
        """A survivor drops the score; the gate exits 1 and prints a `mutmut show` hint."""
        codes = {"mod.x_f__mutmut_1": 1, "mod.x_f__mutmut_2": 0}
        code, out = run_gate(make_project(tmp_path, codes))
        assert code == 1
        assert "survived: mod.x_f__mutmut_2" in out
        assert "uv run mutmut show mod.x_f__mutmut_2" in out
        assert "mutmut score: 50.0%" in out
        assert "below --min-score 100%" in out

    def test_threshold_is_inclusive(self, tmp_path: Path) -> None:
        """Exactly at --min-score passes."""
        codes = {"mod.x_f__mutmut_1": 1, "mod.x_f__mutmut_2": 0}
        assert run_gate(make_project(tmp_path, codes), min_score=50.0)[0] == 0

    def test_skipped_are_left_out(self, tmp_path: Path) -> None:
        """Skipped mutants leave the denominator, as in mutmut's badge."""
        codes = {"mod.x_f__mutmut_1": 1, "mod.x_f__mutmut_2": 34}
        assert run_gate(make_project(tmp_path, codes))[0] == 0

    def test_no_results_exit_2(self, tmp_path: Path) -> None:
        """An empty or missing mutants/ never passes."""
        code, out = run_gate(tmp_path)
        assert code == 2
        assert "no mutmut results" in out

    def test_stale_results_exit_2(self, tmp_path: Path) -> None:
        """Results older than the source they judge are refused."""
        code, out = run_gate(make_project(tmp_path, {"mod.x_f__mutmut_1": 1}, stale=True))
        assert code == 2
        assert "stale mutmut results" in out

    def test_unfinished_run_exit_2(self, tmp_path: Path) -> None:
        """Mutants not yet checked mean an unfinished run."""
        code, out = run_gate(
            make_project(tmp_path, {"mod.x_f__mutmut_1": 1, "mod.x_f__mutmut_2": None})
        )
        assert code == 2
        assert "unfinished" in out

    def test_results_for_deleted_sources_are_ignored(self, tmp_path: Path) -> None:
        """mutmut never cleans mutants/: results of a module that is gone do not count."""
        root = make_project(tmp_path, {"mod.x_f__mutmut_1": 1})
        gone = root / "mutants" / "src" / "gone.py.meta"
        gone.write_text(json.dumps({"exit_code_by_key": {"gone.x_g__mutmut_1": 0}}))
        past = time.time() - 200
        os.utime(gone, (past, past))
        assert run_gate(root)[0] == 0


class TestStatuses:
    def test_same_table_as_mutmut(self) -> None:
        """The exit-code table is mutmut's own; unknown codes are suspicious."""
        from mutmut.stats import status_by_exit_code

        assert dict(status_by_exit_code) == STATUS_BY_EXIT_CODE
        assert status_of(99) == "suspicious"

    def test_excluded_counts_pragma_mutants(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """Mutants on `# pragma: no mutate` lines are counted as excluded."""
        monkeypatch.chdir(ROOT)  # mutmut reads its settings from the working folder
        source = tmp_path / "mod.py"
        source.write_text("def f(x):\n    return x + 1  # pragma: no mutate - a label\n")
        assert excluded_mutants([source]) >= 2
        source.write_text(SOURCE)
        assert excluded_mutants([source]) == 0


@pytest.mark.campaign
def test_script_exit_code(tmp_path: Path) -> None:
    """scripts/mutmut_gate.py is a thin wrapper: same exit codes, output on stdout."""
    root = make_project(tmp_path, {"mod.x_f__mutmut_1": 0})
    proc = subprocess.run(
        [sys.executable, "scripts/mutmut_gate.py", "--root", str(root), "--min-score", "90"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 1
    assert "mutmut score: 0.0%" in proc.stdout


@pytest.mark.parametrize("content", ["{not json", '{"exit_code_by_key": [1, 2]}', "[]"])
def test_corrupt_meta_exit_2(tmp_path: Path, content: str) -> None:
    """A corrupt .meta is a clear error (exit 2), not a traceback."""
    root = make_project(tmp_path, {"mod.x_f__mutmut_1": 1})
    (root / "mutants" / "src" / "mod.py.meta").write_text(content)
    code, out = run_gate(root)
    assert code == 2
    assert "corrupt mutmut results in" in out


@pytest.mark.parametrize("bad", ["nan", "101", "-1", "inf"])
def test_script_refuses_bad_thresholds(tmp_path: Path, bad: str) -> None:
    """--min-score must be a percentage: NaN would pass any score."""
    proc = subprocess.run(
        [sys.executable, "scripts/mutmut_gate.py", "--root", str(tmp_path), "--min-score", bad],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 2
    assert "percentage" in proc.stderr


def test_true_is_no_exit_code(tmp_path: Path) -> None:
    """`true` in exit_code_by_key is corrupt input (exit 2), not a kill counted at 100%."""
    root = make_project(tmp_path, {"mod.x_f__mutmut_1": 1})
    meta = root / "mutants" / "src" / "mod.py.meta"
    meta.write_text(json.dumps({"exit_code_by_key": {"mod.x_f__mutmut_1": True}}))
    code, out = run_gate(root)
    assert code == 2 and "corrupt mutmut results" in out


def test_a_folder_named_like_a_meta_file(tmp_path: Path) -> None:
    root = make_project(tmp_path, {"mod.x_f__mutmut_1": 1})
    (root / "src" / "two.py").write_text(SOURCE)
    os.utime(root / "src" / "two.py", (time.time() - 100, time.time() - 100))
    (root / "mutants" / "src" / "two.py.meta").mkdir()
    code, out = run_gate(root)
    assert code == 2 and "is not a file" in out
