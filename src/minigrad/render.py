"""Render battery results for people (a rich table) and for programs (JSON)."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence

from rich.console import Console
from rich.table import Table

from minigrad.battery import BATTERY, CaseResult

__all__ = ["battery_json", "print_battery", "summary_line"]

_STYLE = {"pass": "green", "fail": "bold red", "error": "bold red", "skip": "yellow"}
_GROUP = {case.name: case.group for case in BATTERY}


def summary_line(results: Sequence[CaseResult]) -> str:
    counts = Counter(r.status for r in results)
    failed = counts["fail"] + counts["error"]
    return f"{counts['pass']} passed, {failed} failed, {counts['skip']} skipped"


def print_battery(console: Console, results: Sequence[CaseResult], title: str) -> None:
    """A table of cases, then the full diagnostic of every failure."""
    table = Table(title=title, title_justify="left")
    for column in ("case", "group", "status", "ms", "note"):
        table.add_column(column, justify="right" if column == "ms" else "left")
    for r in results:
        note = r.detail.splitlines()[0] if r.status == "skip" else ""
        style = _STYLE[r.status]
        ms = f"{r.seconds * 1000:.1f}" if r.status != "skip" else ""
        table.add_row(r.case, _GROUP.get(r.case, ""), f"[{style}]{r.status}[/]", ms, note)
    console.print(table)
    for r in results:
        if r.failed:
            console.print(f"\n[bold red]FAILED[/] {r.case}", highlight=False)
            console.print(r.detail, highlight=False, markup=False)
    console.print(summary_line(results), highlight=False)


def battery_json(results: Sequence[CaseResult], engine: str) -> str:
    return json.dumps(
        {
            "engine": engine,
            "summary": dict(Counter(r.status for r in results)),
            "cases": [
                {"case": r.case, "status": r.status, "detail": r.detail, "seconds": r.seconds}
                for r in results
            ],
        },
        indent=2,
    )
