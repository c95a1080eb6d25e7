"""Judges are rows: a new judge is one class and one row; inject and mutate share one path.

Modules: minigrad_tool.mutation.judges.battery.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from types import SimpleNamespace
from typing import ClassVar

import pytest

from minigrad_tool.adapter import load_in_process
from minigrad_tool.check import settings_for
from minigrad_tool.isolation import Host
from minigrad_tool.mutation import judges as judge_table
from minigrad_tool.mutation.campaign import run_campaign
from minigrad_tool.mutation.inject import Catch, inject
from minigrad_tool.mutation.judges import JudgeRow
from minigrad_tool.mutation.judges.battery import BatteryJudge
from minigrad_tool.mutation.judging import (
    Ahead,
    CampaignConfig,
    Harness,
    Progress,
    Setup,
    Task,
)
from minigrad_tool.mutation.mutants import Mutant
from minigrad_tool.mutation.results import Status, Verdict
from minigrad_tool.report.output import Output
from minigrad_tool.report.terminal import print_campaign

ENGINES = Path(__file__).parent / "engines"
STUDENT = Path(__file__).parents[1] / "examples" / "student"

pytestmark = pytest.mark.campaign


class SignRuleJudge:
    """A toy judge: it 'kills' every sign mutant and lets the rest through; no host at all."""

    name = "toy"
    item = "rule"

    def __init__(self, setup: Setup) -> None:
        self.setup = setup

    def engine_tasks(self) -> dict[str, Task]:
        return {}

    def start(self) -> None:
        return None

    def close(self) -> None:
        return None

    def harness(self, engine: Host) -> Harness:
        return Harness(("sign-rule",), {}, {"sign-rule": 0.0})

    def order(self, mutant: Mutant, harness: Harness) -> list[str]:
        return list(harness.items)

    def judge(
        self,
        engine: Host,
        mutants: Sequence[Mutant],
        harness: Harness,
        progress: Progress,
        ahead: Ahead | None = None,  # a judge may say its verdicts only at the end
    ) -> dict[str, Verdict]:
        return {
            m.id: Verdict(Status.KILLED, "a sign flip", ("sign-rule",), ("sign-rule",))
            if m.operator == "sign"
            else Verdict(Status.SURVIVED, "not a sign flip", (), ("sign-rule",))
            for m in mutants
        }

    def explain(self, harness: Harness, survivors: Sequence[Mutant]) -> Harness:
        return harness


def test_a_new_judge_is_a_row(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """One row in JUDGES, and campaigns and reports use the toy judge like any other."""
    monkeypatch.setitem(judge_table.JUDGES, "toy", JudgeRow("a toy judge", SignRuleJudge))
    loaded = load_in_process(str(ENGINES / "microstyle.py"))
    config = CampaignConfig(
        jobs=2, judges=("toy",), probes=False, settings=settings_for(loaded.profile)
    )
    campaign = run_campaign(loaded.spec, loaded.profile, config)
    statuses = {r.mutant.operator: r.status for r in campaign.results}
    assert statuses["sign"] is Status.KILLED and statuses["assign"] is Status.SURVIVED
    assert campaign.judge == "toy" and campaign.cases == ["sign-rule"]
    print_campaign(Output(), campaign)
    out = capsys.readouterr().out
    assert "judged by a toy judge" in out and "no rule ran their changed code" not in out


class RecordingJudge(SignRuleJudge):
    """A second toy judge: it kills whatever it is asked to judge, and keeps the IDs."""

    name = "spy"
    asked: ClassVar[list[str]] = []  # set by each test

    def judge(
        self,
        engine: Host,
        mutants: Sequence[Mutant],
        harness: Harness,
        progress: Progress,
        ahead: Ahead | None = None,
    ) -> dict[str, Verdict]:
        self.asked.extend(m.id for m in mutants)
        return {
            m.id: Verdict(Status.KILLED, "spied", ("sign-rule",), ("sign-rule",)) for m in mutants
        }


@pytest.mark.parametrize("matrix", [False, True])
def test_the_other_judges_judge_what_the_scoring_judge_lets_through(
    monkeypatch: pytest.MonkeyPatch, matrix: bool
) -> None:
    """A mutant the scoring judge kills needs no second verdict: the judge alongside is asked
    about the others only (its kills are the missing tests), and about all with --matrix."""
    monkeypatch.setitem(judge_table.JUDGES, "toy", JudgeRow("a toy judge", SignRuleJudge))
    monkeypatch.setitem(judge_table.JUDGES, "spy", JudgeRow("a spying judge", RecordingJudge))
    asked: list[str] = []
    monkeypatch.setattr(RecordingJudge, "asked", asked)
    loaded = load_in_process(str(ENGINES / "microstyle.py"))
    config = CampaignConfig(
        jobs=2,
        judges=("toy", "spy"),
        probes=False,
        matrix=matrix,
        settings=settings_for(loaded.profile),
    )
    campaign = run_campaign(loaded.spec, loaded.profile, config)
    every = [r.mutant.id for r in campaign.results]
    through = [r.mutant.id for r in campaign.results if r.mutant.operator != "sign"]
    assert 0 < len(through) < len(every)
    assert sorted(asked) == sorted(every if matrix else through)
    for r in campaign.results:
        judged_by = [name for name, _ in r.judges]
        assert judged_by == ["toy", "spy"] if matrix or r.mutant.id in through else ["toy"]


@pytest.fixture(scope="module")
def student_campaign() -> object:
    loaded = load_in_process(str(STUDENT / "engine.py"))
    config = CampaignConfig(
        jobs=2,
        tests=(str(STUDENT / "test_engine.py"),),
        judges=("tests", "battery"),
        settings=settings_for(loaded.profile),
    )
    return loaded, run_campaign(loaded.spec, loaded.profile, config)


@pytest.mark.e2e
@pytest.mark.parametrize("bug", ["add-sign", "add-assign", "relu-swap-2"])
def test_inject_and_mutate_agree(student_campaign: object, bug: str) -> None:
    """The same mutant gets the same verdict from `inject` and from `mutate --tests`."""
    loaded, campaign = student_campaign  # type: ignore[misc]
    result = next(r for r in campaign.results if r.mutant.id == bug)
    config = CampaignConfig(jobs=2, settings=settings_for(loaded.profile))
    injection = inject(
        loaded.spec, loaded.profile, result.mutant, [str(STUDENT / "test_engine.py")], config
    )
    expected = {
        Status.KILLED: Catch.CAUGHT,
        Status.TIMEOUT: Catch.CAUGHT,
        Status.EQUIVALENT: Catch.EQUIVALENT,
        Status.SURVIVED: Catch.ESCAPED,
        Status.NO_COVERAGE: Catch.ESCAPED,
    }[result.status]
    assert injection.catch is expected
    assert injection.result.status is result.status
    assert {r.mutant.id: r.status for r in campaign.results}[bug] in (
        Status.KILLED,
        Status.SURVIVED,
        Status.EQUIVALENT,
    )


def test_the_battery_judges_a_mutant_by_the_cases_that_ran_its_code() -> None:
    """A case that never ran a mutant's code runs it as the original: only those that did
    judge it (those that call its op first, each part cheapest first); a mutant whose site
    had no marker, or a harness that recorded nothing, gets every case."""
    rows = [("deep_chain", 1, {"add"}), ("tanh", 2, {"tanh"}), ("relu", 3, {"relu"})]
    cases = [
        SimpleNamespace(name=n, group="op", cost=c, requires=frozenset(r)) for n, c, r in rows
    ] + [SimpleNamespace(name="mlp", group="graph", cost=5, requires=frozenset({"add", "tanh"}))]
    battery = SimpleNamespace(cases=cases, case=lambda n: next(c for c in cases if c.name == n))
    setup = SimpleNamespace(
        orders_for=lambda name: 1, config=SimpleNamespace(groups=None), battery=battery
    )
    judge = BatteryJudge(setup)  # type: ignore[arg-type]
    judge.marked = frozenset({"relu-1", "tanh-1"})
    reached = {
        "deep_chain": frozenset(),
        "tanh": frozenset({"tanh-1"}),
        "relu": frozenset({"relu-1"}),
        "mlp": frozenset({"relu-1", "tanh-1"}),
    }
    items = ("deep_chain", "tanh", "relu", "mlp")
    harness = Harness(items, {}, dict.fromkeys(items, 0.01), reached=reached)
    relu, tanh = SimpleNamespace(id="relu-1", op="relu"), SimpleNamespace(id="tanh-1", op="tanh")
    assert judge.order(relu, harness) == ["relu", "mlp"]  # type: ignore[arg-type]
    assert judge.order(tanh, harness) == ["tanh", "mlp"]  # type: ignore[arg-type]
    unmarked = SimpleNamespace(id="add-1", op="add")
    every = ["deep_chain", "mlp", "tanh", "relu"]
    assert judge.order(unmarked, harness) == every  # type: ignore[arg-type]
    unrecorded = Harness(items, {}, dict.fromkeys(items, 0.01))
    assert judge.order(relu, unrecorded) == ["relu", "deep_chain", "tanh", "mlp"]  # type: ignore[arg-type]
