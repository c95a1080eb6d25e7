"""Two `mutate --json` reports of one command: do they give the same verdict?

The same command on the same files must give the same verdict, on any CPython the tool
supports.  `.ci/run` runs campaigns on the newest interpreter it finds and compares each
report with the one this interpreter wrote: every mutant's status, the findings on the
unmutated engine, and the counts; timings, durations and reasons' wording aside.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from minigrad_tool.report.merge import findings_of, read_report

__all__ = ["differences"]


def _statuses(report: dict[str, Any]) -> dict[str, str]:
    """`file: mutant id` -> status, for every mutant of the report."""
    return {
        f"{name}: {mutant['id']}": mutant["status"]
        for name, entry in report["files"].items()
        for mutant in entry["mutants"]
    }


def _findings(report: dict[str, Any]) -> list[str]:
    """What the findings blame: case, op and check (not their wording, which may hold a time)."""
    return sorted(f"{f.case} ({f.op}, {f.check})" for f in findings_of(report))


def differences(first: Path, second: Path) -> list[str]:
    """What tells the two reports' verdicts apart, a line each; [] if nothing does.
    MergeError if either is not a minigrad report."""
    a, b = read_report(first), read_report(second)
    said: list[str] = []
    left, right = _statuses(a), _statuses(b)
    for key in sorted(left.keys() | right.keys()):
        if left.get(key) != right.get(key):
            said.append(f"{key}: {left.get(key, 'absent')} in {first}, {right.get(key, 'absent')}")
    if _findings(a) != _findings(b):
        said.append(f"findings: {_findings(a)} in {first}, {_findings(b)} in {second}")
    if not left:
        said.append(f"{first} judged no mutant: nothing to compare")
    return said
