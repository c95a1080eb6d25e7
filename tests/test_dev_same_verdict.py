"""minigrad_dev.same_verdict: two reports of one command compared, as .ci/run compares CPython
versions."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from minigrad_dev.same_verdict import differences
from minigrad_tool.report.merge import MergeError

ROOT = Path(__file__).resolve().parents[1]


def _report(statuses: dict[str, str], findings: list[dict[str, Any]] | None = None) -> Any:
    mutants = [{"id": k, "status": v, "duration": 0.01 * len(k)} for k, v in statuses.items()]
    return {
        "schemaVersion": "2",
        "files": {"engine.py": {"source": "", "mutants": mutants}},
        "config": {
            "shard": {"index": 1, "count": 1},
            "run": "r",
            "mutants": len(mutants),
            "findings": findings or [],
        },
    }


def _written(tmp_path: Path, name: str, report: Any) -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(report))
    return path


STATUSES = {"add-sign": "Killed", "mul-swap": "Survived", "relu-swap-2": "Ignored"}


def test_the_same_statuses_are_the_same_verdict(tmp_path: Path) -> None:
    first = _written(tmp_path, "a.json", _report(STATUSES))
    second = _report(dict(reversed(STATUSES.items())))
    second["files"]["engine.py"]["mutants"][0]["duration"] = 9.0  # timings aside
    assert differences(first, _written(tmp_path, "b.json", second)) == []


@pytest.mark.parametrize(
    ("change", "said"),
    [
        ({"mul-swap": "Killed"}, "engine.py: mul-swap: Survived in"),
        ({"tanh-sign": "Killed"}, "engine.py: tanh-sign: absent in"),
    ],
)
def test_a_status_that_differs_is_named(tmp_path: Path, change: dict[str, str], said: str) -> None:
    first = _written(tmp_path, "a.json", _report(STATUSES))
    second = _written(tmp_path, "b.json", _report({**STATUSES, **change}))
    (line,) = differences(first, second)
    assert line.startswith(said)


def test_findings_that_differ_are_named(tmp_path: Path) -> None:
    finding = {"case": "mul", "op": "mul", "check": "gradient", "text": "mul is wrong"}
    first = _written(tmp_path, "a.json", _report(STATUSES, [finding]))
    second = _written(tmp_path, "b.json", _report(STATUSES))
    (line,) = differences(first, second)
    assert line.startswith("findings: ['mul (mul, gradient)'] in")


def test_a_report_that_judged_nothing_is_no_agreement(tmp_path: Path) -> None:
    empty = _written(tmp_path, "a.json", _report({}))
    assert differences(empty, empty) == [f"{empty} judged no mutant: nothing to compare"]


def test_the_script_exits_1_on_a_difference_and_2_on_no_report(tmp_path: Path) -> None:
    first = _written(tmp_path, "a.json", _report(STATUSES))
    second = _written(tmp_path, "b.json", _report({**STATUSES, "add-sign": "Timeout"}))
    script = [sys.executable, str(ROOT / "scripts" / "same_verdict.py")]
    same = subprocess.run([*script, str(first), str(first)], capture_output=True, text=True)
    assert same.returncode == 0 and "the same verdict" in same.stdout
    differ = subprocess.run([*script, str(first), str(second)], capture_output=True, text=True)
    assert differ.returncode == 1 and "add-sign: Killed in" in differ.stdout
    missing = subprocess.run(
        [*script, str(first), str(tmp_path / "none.json")], capture_output=True, text=True
    )
    assert missing.returncode == 2 and "report not found" in missing.stderr
    with pytest.raises(MergeError):
        differences(first, tmp_path / "none.json")
