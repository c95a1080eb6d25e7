"""Campaign reports: a terminal summary, and JSON in Stryker's mutation-testing-report-schema."""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from rich.console import Console
from rich.table import Table

from minigrad import __version__
from minigrad.mutation.operators import OPERATORS
from minigrad.mutation.runner import Campaign, MutantResult, Outcome, minimal_killing_set

__all__ = ["Tally", "print_campaign", "print_matrix", "schema_report", "score_line", "tally"]


def score_line(campaign: Campaign) -> str:
    counts = {o: sum(r.outcome is o for r in campaign.results) for o in Outcome}
    return (
        f"mutation score: {campaign.score:.1f}% "
        f"({campaign.killed} killed, {campaign.survived} survived, "
        f"{counts[Outcome.EQUIVALENT]} equivalent; of the killed, "
        f"{counts[Outcome.TIMEOUT]} by timeout and {counts[Outcome.CRASHED]} by crash) "
        f"- {len(campaign.results)} mutants in {campaign.seconds:.1f} s"
    )


@dataclass(frozen=True)
class Tally:
    """Counts for one op and operator: killed, judged (not equivalent), equivalent."""

    killed: int
    judged: int
    equivalent: int

    @property
    def all_killed(self) -> bool:
        return self.killed == self.judged


def tally(campaign: Campaign) -> tuple[list[str], list[str], dict[tuple[str, str], Tally]]:
    """Ops (rows), operators (columns) and the counts of each cell that has mutants."""
    operators = [o for o in OPERATORS if any(r.mutant.operator == o for r in campaign.results)]
    ops = list(dict.fromkeys(r.mutant.op for r in campaign.results))
    cells: dict[tuple[str, str], Tally] = {}
    for op in ops:
        for operator in operators:
            rows = [
                r for r in campaign.results if (r.mutant.op, r.mutant.operator) == (op, operator)
            ]
            if rows:
                judged = [r for r in rows if r.outcome is not Outcome.EQUIVALENT]
                killed = sum(r.outcome.counts_as_killed for r in judged)
                cells[op, operator] = Tally(killed, len(judged), len(rows) - len(judged))
    return ops, operators, cells


def _cell(t: Tally | None) -> str:
    if t is None:
        return ""
    style = "green" if t.all_killed else "bold red"
    extra = f" [dim]+{t.equivalent} eq[/]" if t.equivalent else ""
    return f"[{style}]{t.killed}/{t.judged}[/]{extra}"


def _op_table(campaign: Campaign) -> Table:
    ops, operators, cells = tally(campaign)
    table = Table(title="killed / total per op and operator", title_justify="left")
    table.add_column("op")
    for operator in operators:
        table.add_column(operator, justify="center")
    for op in ops:
        table.add_row(op, *(_cell(cells.get((op, o))) for o in operators))
    return table


def print_campaign(console: Console, campaign: Campaign) -> None:
    """Op x operator table, survivors with diff and witness, equivalents with reasons, score."""
    console.print(_op_table(campaign))
    survivors = [r for r in campaign.results if r.outcome is Outcome.SURVIVED]
    from rich.syntax import Syntax  # pygments is slow to import: only for survivors

    for r in survivors:
        console.print(
            f"\n[bold red]SURVIVED[/] {r.mutant.id} in Value.{r.mutant.function}: "
            + r.mutant.description
        )
        console.print(
            Syntax(r.mutant.diff(campaign.source, os.path.basename(campaign.path)), "diff")
        )
        console.print(
            f"  distinguishing input (add a case for it): {r.distinguishing}", markup=False
        )
    equivalents = [r for r in campaign.results if r.outcome is Outcome.EQUIVALENT]
    if equivalents:
        console.print("\n[bold]equivalent mutants[/] (not counted in the score):")
        for r in equivalents:
            console.print(
                f"  {r.mutant.id}: {r.mutant.original} -> {r.mutant.replacement}", markup=False
            )
            console.print(f"    {r.reason}", markup=False, style="dim")
    style = "bold green" if not survivors else "bold red"
    console.print(f"\n{score_line(campaign)}", style=style, markup=False)


def print_matrix(console: Console, campaign: Campaign) -> None:
    """The kill matrix (one column per case, X = kills) and a minimal killing set of cases."""
    cases = campaign.cases
    legend = Table(title="cases (matrix columns)", title_justify="left", show_header=False)
    for i in range(0, len(cases), 4):
        legend.add_row(*(f"{j:>2} {cases[j]}" for j in range(i, min(i + 4, len(cases)))))
    console.print(legend)
    width = max(len(r.mutant.id) for r in campaign.results)
    console.print(
        " " * width + "  " + "".join(str(j % 10) for j in range(len(cases))), markup=False
    )
    for r in campaign.results:
        marks = "".join("X" if c in r.killed_by else "." for c in cases)
        console.print(f"{r.mutant.id:<{width}}  {marks}  {r.outcome.label}", markup=False)
    minimal = minimal_killing_set({r.mutant.id: r.killed_by for r in campaign.results})
    console.print(
        f"\nminimal set of {len(minimal)} cases that kills every killed mutant: "
        + ", ".join(minimal)
    )


def _mutant_json(result: MutantResult) -> dict[str, Any]:
    m = result.mutant
    reason = result.reason
    if result.distinguishing:
        reason = f"{reason}; distinguishing input: {result.distinguishing}"
    return {
        "id": m.id,
        "mutatorName": m.operator,
        "description": f"Value.{m.function}: {m.description}",
        "replacement": m.replacement,
        "location": {
            "start": {"line": m.start[0], "column": m.start[1]},
            "end": {"line": m.end[0], "column": m.end[1]},
        },
        "status": result.outcome.value,
        "statusReason": reason,
        "killedBy": list(result.killed_by),
        "duration": round(result.seconds * 1000),
    }


def _display_path(path: str) -> str:
    try:
        relative = os.path.relpath(path)
    except ValueError:  # another drive on Windows
        return path
    return path if relative.startswith("..") else relative


def schema_report(campaigns: Iterable[Campaign]) -> dict[str, Any]:
    """One report (schemaVersion 2) for one or more campaigns, e.g. the shards of one run."""
    files: dict[str, dict[str, Any]] = {}
    config: dict[str, Any] = {}
    for campaign in campaigns:
        entry = files.setdefault(
            _display_path(campaign.path),
            {"language": "python", "source": campaign.source, "mutants": []},
        )
        entry["mutants"].extend(_mutant_json(r) for r in campaign.results)
        config = {"engine": campaign.engine, "cases": campaign.cases, "timeout": campaign.timeout}
    return {
        "$schema": "https://git.io/mutation-testing-schema",
        "schemaVersion": "2",
        "thresholds": {"high": 100, "low": 80},
        "files": files,
        "framework": {"name": "minigrad", "version": __version__},
        "config": config,
    }


def write_schema_report(path: str, campaigns: Iterable[Campaign]) -> None:
    with open(path, "w", encoding="utf-8") as f:
        json.dump(schema_report(campaigns), f, indent=2)
        f.write("\n")
