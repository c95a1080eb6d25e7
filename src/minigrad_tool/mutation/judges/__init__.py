"""The judges of mutants, one row each: adding a judge is one module and one row here.

A row gives how reports name the judge and the class that judges, which
follows :class:`minigrad_tool.mutation.judging.Judge`; its key is the name
`--judge` and the reports use.
"""

from __future__ import annotations

from dataclasses import dataclass

from minigrad_tool.mutation.judges.battery import BatteryJudge
from minigrad_tool.mutation.judges.tests import TestsJudge
from minigrad_tool.mutation.judging import JudgeClass

__all__ = ["JUDGES", "JudgeRow", "items_of", "title_of"]


@dataclass(frozen=True)
class JudgeRow:
    title: str  # how reports name the judge
    judge: JudgeClass


JUDGES: dict[str, JudgeRow] = {
    "battery": JudgeRow("minigrad's battery", BatteryJudge),
    "tests": JudgeRow("your tests", TestsJudge),
}


def title_of(name: str) -> str:
    row = JUDGES.get(name)
    return row.title if row else name


def items_of(name: str) -> str:
    """What the judge's items are called, in the plural: "cases", "tests"."""
    row = JUDGES.get(name)
    return f"{row.judge.item}s" if row else "items"
