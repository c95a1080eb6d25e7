"""The same verdict on a busy machine, in every graph order, whatever holds the children.

* Every run of an item has its own deadline, set by the phase that starts it
  (isolation's phase budgets), never one deadline for a loop of items and orders.
* A mutant that hangs is run again at once with 2x the deadlines, counted in the
  CPU time it spends (which a busy machine does not change): only if it spends
  them all is it a Timeout, and one that survived in some graph order before it
  hung is Survived.  A confirmation the clock stops first (it blocked) is run
  again alone with 5x the deadlines.  Shown with a host whose children are
  slowed on cue, not with sleeps in assertions.
* A child whose deadlines count its CPU time is killed when it has spent them,
  and by the clock only at WALL_ROOM times them.
* Children kept in a frozenset, a set subclass or a set display are served an
  ordered stand-in.
* A backward() that hangs on every op's graph is blamed once, not op by op.

Modules: minigrad_tool.mutation.judgement, minigrad_tool.mutation.suggest.
"""

from __future__ import annotations

import ast
import json
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from minigrad_tool.adapter.order import (
    ControlledFrozenSet,
    ControlledSet,
    fresh,
    order_sensitive,
    served_displays,
    served_names,
    set_order,
)
from minigrad_tool.isolation import WALL_ROOM, Limits, Outcome, Reporter, Request, run_isolated
from minigrad_tool.mutation.judgement import Judging, costliest_first
from minigrad_tool.mutation.judging import (
    CONFIRM_FACTOR,
    CPU_CONFIRM_FACTOR,
    CampaignConfig,
    Harness,
    MutantRun,
)
from minigrad_tool.mutation.mutants import Mutant
from minigrad_tool.mutation.results import Status

ROOT = Path(__file__).resolve().parents[1]


def test_the_costliest_mutants_start_first() -> None:
    """A judge (judgement.Judging) sends the mutants whose items took longest on the unmutated
    engine first, in generation order among equals: a long one started last would leave the
    other slots idle at the end."""
    harness = Harness(("a", "b", "c"), {}, {"a": 0.001, "b": 0.05, "c": 0.001})
    requests = [
        Request(key, "judge", {"items": items})
        for key, items in (("m1", ["a"]), ("m2", ["a", "c"]), ("m3", ["b"]), ("m4", ["c"]))
    ]
    assert [r.key for r in costliest_first(requests, harness)] == ["m3", "m2", "m1", "m4"]
    assert costliest_first([], harness) == []


class TestPhaseBudgets:
    def test_a_phase_with_a_budget_has_its_own_deadline(self) -> None:
        """The child says how long its phase may take; past it, it is killed, named by the
        phase's words and data."""

        def body(reporter: Reporter) -> Any:
            reporter.phase("item slow, graph order 3", budget=0.3, item="slow", order=3)
            time.sleep(30)

        outcome = run_isolated(body, Limits(timeout=60))
        assert outcome.status == "timeout"
        assert outcome.message == "no answer within 0.3 s during item slow, graph order 3 (killed)"
        assert outcome.where == {"item": "slow", "order": 3}

    def test_a_generous_budget_lets_a_slow_phase_finish(self) -> None:
        """A budget replaces the task's limit: longer than it, the phase still finishes."""

        def body(reporter: Reporter) -> Any:
            reporter.phase("item", budget=30.0)
            time.sleep(0.5)
            return "done"

        outcome = run_isolated(body, Limits(timeout=0.2))
        assert outcome.ok and outcome.value == "done"


def _spin(reporter: Reporter) -> Any:
    reporter.phase("case add_scalar", budget=0.2, item="add_scalar")
    while True:
        pass


class TestCPUTime:
    def test_a_child_that_computes_past_its_cpu_budget_is_killed_for_it(self) -> None:
        """The kernel ends it once it has spent its phase's CPU seconds: said as such, and
        marked as a timeout of its own computing."""
        outcome = run_isolated(_spin, Limits(timeout=60), cpu_time=True)
        assert outcome.status == "timeout" and outcome.computed_too_long
        assert outcome.message == "past its 0.2 s of CPU time during case add_scalar (killed)"
        assert outcome.where == {"item": "add_scalar"}

    def test_the_same_child_on_the_clock_is_a_plain_timeout(self) -> None:
        outcome = run_isolated(_spin, Limits(timeout=60))
        assert outcome.status == "timeout" and not outcome.computed_too_long
        assert outcome.message == "no answer within 0.2 s during case add_scalar (killed)"

    def test_a_child_that_waits_spends_no_cpu_and_has_the_clock_s_room(self) -> None:
        """Sleeping past its CPU budget spends none of it: it finishes, the clock giving it
        WALL_ROOM times the budget."""

        def body(reporter: Reporter) -> Any:
            reporter.phase("waiting", budget=0.5)
            time.sleep(0.7)
            return "done"

        assert WALL_ROOM * 0.5 > 0.7 + 0.5  # room for a slow start
        outcome = run_isolated(body, Limits(timeout=60), cpu_time=True)
        assert outcome.ok and outcome.value == "done"

    def test_a_child_that_blocks_is_stopped_by_the_clock(self) -> None:
        """Never spending its CPU budget, it is killed at WALL_ROOM times it, on the clock."""

        def body(reporter: Reporter) -> Any:
            time.sleep(30)

        outcome = run_isolated(body, Limits(timeout=0.1), cpu_time=True)
        assert outcome.status == "timeout" and not outcome.computed_too_long
        assert outcome.message == f"no answer within {0.1 * WALL_ROOM:.3g} s (killed)"


def _mutant(name: str) -> Mutant:
    return Mutant(name, "add", "sign", "Value.__add__", "+= becomes -=", (3, 1), (3, 9), "+=",
                  "-=", ("Value.__add__", 1), (), False)  # fmt: skip


HARNESS = Harness(("t1", "t2"), {"t1": frozenset({"m"}), "t2": frozenset({"m"})},
                  {"t1": 0.1, "t2": 0.2})  # fmt: skip


def _ran(**fields: Any) -> Outcome:
    run = MutantRun(hits=1, orders=8, **fields)
    return Outcome("ok", run.to_json(), "", "", 0.1)


def _hung(**where: Any) -> Outcome:
    return Outcome("timeout", None, "no answer within 2 s during test t1 (killed)", "", 2.0, where)


def _spent(**where: Any) -> Outcome:
    """A confirmation killed for the CPU time it spent."""
    said = "past its 4 s of CPU time during test t1 (killed)"
    return Outcome("timeout", None, said, "", 4.0, where, cpu_time=True)


class SlowedHost:
    """A host whose children answer from a script: the first run of a mutant may hang (as
    on a busy machine), the confirmation does whatever the script says."""

    def __init__(self, script: dict[str, list[Outcome]]) -> None:
        self.script = script
        self.calls: list[list[Request]] = []

    def run(self, requests: list[Request], on_done: Any = None) -> dict[str, Outcome]:
        self.calls.append(list(requests))
        results = {}
        for request in requests:
            results[request.key] = outcome = self.script[request.key].pop(0)
            if on_done is not None:
                on_done(request.key, outcome)
        return results

    jobs = 1

    def submit(self, requests: list[Request]) -> None:
        if requests:
            self.calls.append(list(requests))

    def next_of(self, keys: list[str]) -> tuple[str, Outcome]:
        return keys[0], self.script[keys[0]].pop(0)


def _judge(host: SlowedHost) -> Status:
    verdicts = Judging(host, "judge", HARNESS, CampaignConfig(), "test").all([_mutant("m")])  # type: ignore[arg-type]
    return verdicts["m"].status


class TestATimeoutIsConfirmed:
    def test_a_hang_that_finishes_its_confirmation_is_judged_by_what_it_does(self) -> None:
        """Slowed the first time, the mutant runs to its verdict at once, beside the others:
        Killed, and the confirmation had 2x each item's deadline, of CPU time."""
        killed = _ran(killed_by=("t1",), covered_by=("t1",), orders_caught=tuple(range(8)))
        host = SlowedHost({"m": [_hung(item="t1", order=0), killed]})
        assert _judge(host) is Status.KILLED
        first, confirmation = host.calls
        assert [r.cpu_time for r in first + confirmation] == [False, True]
        for item in ("t1", "t2"):
            budget = first[0].args["budgets"][item]
            again = confirmation[0].args["budgets"][item]
            assert again == pytest.approx(CPU_CONFIRM_FACTOR * budget)

    def test_a_survivor_slowed_down_stays_a_survivor(self) -> None:
        """A busy machine cannot turn a survivor into a kill."""
        survived = _ran(covered_by=("t1", "t2"))
        assert _judge(SlowedHost({"m": [_hung(item="t1", order=0), survived]})) is Status.SURVIVED

    def test_a_second_hang_spending_its_cpu_time_is_a_timeout(self) -> None:
        """Hung where the original finished, then spent all its CPU time: Timeout, with both
        deadlines said; nothing ran alone."""
        host = SlowedHost({"m": [_hung(item="t1", order=0), _spent(item="t1", order=0)]})
        verdicts = Judging(host, "judge", HARNESS, CampaignConfig(), "test").all([_mutant("m")])  # type: ignore[arg-type]
        assert verdicts["m"].status is Status.TIMEOUT
        assert "again with 2x the deadline, of the CPU time it spent: past its" in (
            verdicts["m"].reason
        )
        assert len(host.calls) == 2

    def test_a_confirmation_the_clock_stops_runs_alone(self) -> None:
        """Stopped by the clock before spending its CPU time (it blocked, or the machine gave
        it little of a core): run again alone with 5x the deadlines, on the clock; a hang
        there too is a Timeout, a run to the end its verdict."""
        hung = _hung(item="t1", order=0)
        host = SlowedHost({"m": [hung, hung, hung]})
        verdicts = Judging(host, "judge", HARNESS, CampaignConfig(), "test").all([_mutant("m")])  # type: ignore[arg-type]
        assert verdicts["m"].status is Status.TIMEOUT
        assert "again alone with 5x the deadline" in verdicts["m"].reason
        first, _, alone = host.calls
        assert not alone[0].cpu_time
        for item in ("t1", "t2"):
            budget = first[0].args["budgets"][item]
            assert alone[0].args["budgets"][item] == pytest.approx(CONFIRM_FACTOR * budget)
        survived = _ran(covered_by=("t1", "t2"))
        assert _judge(SlowedHost({"m": [hung, hung, survived]})) is Status.SURVIVED

    def test_a_hang_after_surviving_an_order_is_survived(self) -> None:
        """Caught in order 0, missed in order 1, then hung in order 2: Survived, whatever the
        other orders did."""
        where = {"item": "t1", "order": 2, "caught": [0], "missed": [1]}
        host = SlowedHost({"m": [_hung(**where), _spent(**where)]})
        assert _judge(host) is Status.SURVIVED

    def test_each_item_has_its_own_deadline(self) -> None:
        """Budgets are per item, from the unmutated engine's time for it: 10x + 1 s."""
        host = SlowedHost({"m": [_ran(covered_by=("t1",))]})
        _judge(host)
        budgets = host.calls[0][0].args["budgets"]
        assert budgets == {"t1": pytest.approx(2.0), "t2": pytest.approx(3.0)}


ENGINE = """
class Value:
    def __init__(self, data, _children=()):
        self.data = data
        self.grad = 0.0
        self._backward = lambda: None
        self._prev = KEEP

    def __add__(self, other):
        other = other if isinstance(other, Value) else Value(other)
        out = Value(self.data + other.data, (self, other))

        def _backward():
            self.grad += out.grad
            other.grad += out.grad

        out._backward = _backward
        return out

    def __mul__(self, other):
        other = other if isinstance(other, Value) else Value(other)
        out = Value(self.data * other.data, (self, other))

        def _backward():
            self.grad += other.data * out.grad
            other.grad += self.data * out.grad

        out._backward = _backward
        return out

    def backward(self):
        topo, seen = [], set()

        def build(v):
            if v not in seen:
                seen.add(v)
                for child in v._prev:
                    build(child)
                topo.append(v)

        build(self)
        self.grad = 1.0
        for v in reversed(topo):
            v._backward()
"""
SUBCLASS = "class Children(set):\n    pass\n" + ENGINE.replace("KEEP", "Children(_children)")
FROZEN = ENGINE.replace("KEEP", "frozenset(_children)")
LITERAL = ENGINE.replace("KEEP", "{*_children}")
COMPREHENSION = ENGINE.replace("KEEP", "{c for c in _children if c is not None}")


class TestOrderControl:
    @pytest.mark.parametrize("source", [SUBCLASS, FROZEN], ids=["set-subclass", "frozenset"])
    def test_sets_minigrad_can_serve_are_controlled(self, source: str) -> None:
        """A set subclass or a frozenset kept as children: served, so judged in every order."""
        assert order_sensitive(source)

    @pytest.mark.parametrize("source", [LITERAL, COMPREHENSION], ids=["literal", "comprehension"])
    def test_a_set_display_kept_as_children_is_made_by_the_served_set(self, source: str) -> None:
        """nabla's `self._prev = {child for child in _children if child.requires_grad}`
        (GitHub, 2026-12-06): no name lookup makes a display, so its order followed addresses
        and every report said "graph order not controlled".  Now the code as it runs makes it
        with the served `set`, on its own line; the tree read for the source is untouched."""
        assert order_sensitive(source)
        assert not order_sensitive("def f():\n    seen = {1, 2}\n")  # a local: only asked `in`
        tree = ast.parse(source)
        before = ast.dump(tree, include_attributes=True)
        served = served_displays(tree)
        assert ast.dump(tree, include_attributes=True) == before
        kept = next(
            node
            for node in ast.walk(served)
            if isinstance(node, ast.Assign) and ast.unparse(node.targets[0]) == "self._prev"
        )
        assert ast.unparse(kept.value).startswith("set(") and kept.value.lineno == kept.lineno
        namespace = dict(served_names())
        exec(compile(served, "eng.py", "exec"), namespace)
        value = namespace["Value"]
        a, b = value(1.0), value(2.0)
        prev = (a * b)._prev
        assert isinstance(prev, ControlledSet) and set(prev) == {a, b}

    def test_the_frozen_stand_in_is_a_frozenset_in_the_chosen_order(self) -> None:
        """Hashable and equal to the frozenset of its items; reversed in order 1."""
        fresh()
        try:
            set_order(0)
            items = ControlledFrozenSet(["a", "b", "c"])
            assert list(items) == ["a", "b", "c"]
            assert items == frozenset("abc") and hash(items) == hash(frozenset("abc"))
            set_order(1)
            assert list(items) == ["c", "b", "a"]
        finally:
            set_order(0)

    @pytest.mark.e2e
    @pytest.mark.campaign
    @pytest.mark.parametrize(
        "source",
        [FROZEN, SUBCLASS, COMPREHENSION],
        ids=["frozenset", "set-subclass", "set-comprehension"],
    )
    def test_served_children_are_judged_in_every_order(self, source: str, tmp_path: Path) -> None:
        """Served: 8 orders in the JSON, said in the output, two runs give the same
        statuses."""
        (tmp_path / "eng.py").write_text(source)
        runs = []
        for k in (1, 2):
            report = tmp_path / f"r{k}.json"
            result = subprocess.run(
                [sys.executable, "-m", "minigrad_tool", "mutate", "--engine", "eng.py",
                 "--json", str(report)],
                cwd=tmp_path, capture_output=True, text=True, timeout=300, check=False,
            )  # fmt: skip
            assert result.returncode in (0, 1), result.stdout + result.stderr
            data = json.loads(report.read_text())
            runs.append(
                [(m["id"], m["status"]) for e in data["files"].values() for m in e["mutants"]]
            )
            assert data["config"]["graphOrders"] == 8
            assert "caught in all 8 orders minigrad served it" in result.stdout
        assert runs[0] == runs[1] and runs[0]


HANGS = ENGINE.replace("KEEP", "tuple(_children)").replace(
    """        for v in reversed(topo):
            v._backward()""",
    """        while len(topo) > 1:  # never ends once the graph has an op
            for v in reversed(topo):
                v._backward()""",
)


@pytest.mark.e2e
@pytest.mark.campaign
def test_a_backward_that_hangs_on_every_graph_is_blamed_once(tmp_path: Path) -> None:
    """The first op's backward pass hangs, the second's too: backward() is blamed, exit 2,
    after one deadline and a half (not one deadline per op)."""
    (tmp_path / "eng.py").write_text(HANGS)
    result = subprocess.run(
        [sys.executable, "-m", "minigrad_tool", "gradcheck", "--engine", "eng.py",
         "--timeout", "2"],
        cwd=tmp_path, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert result.returncode == 2, result.stdout + result.stderr
    assert "the backward pass hangs on the graphs of __add__ and __mul__" in result.stderr
    assert "no answer within 1 s during backward() of x * y" in result.stderr


# A written test that hangs wherever tanh's gradient is wrong: what a suggested test does on a
# mutant that finished on the probe it was written from but loops in the rest of the test.
_HANGS_ON_A_WRONG_TANH = """
from engine import Value


def test_hangs_unless_tanh_is_right():
    x = Value(0.5)
    y = x.tanh()
    y.backward()
    while abs(x.grad - (1 - y.data ** 2)) > 1e-9:
        pass
"""


def test_a_written_test_that_hangs_on_its_mutant_costs_seconds_and_claims_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """--suggest runs each written test on the mutants it lists, each run within the judges'
    deadline of CPU time (10x what the test took on the engine + 1 s), not the host's limit
    (60 s here): a test that hangs on its mutant is dropped, saying it did not finish (not
    where: the test's node ID is in a temporary folder), never that it "passes on the mutant
    too"."""
    from typing import cast

    from minigrad_tool.adapter import parse_spec, profile_engine
    from minigrad_tool.mutation.mutants import generate_mutants
    from minigrad_tool.mutation.suggest import _verify, _Written

    (tmp_path / "engine.py").write_text((ROOT / "examples/student/engine.py").read_text())
    monkeypatch.chdir(tmp_path)
    spec, profile = profile_engine(parse_spec("engine.py"), Limits(60.0, None))
    mutant = next(
        m for m in generate_mutants(spec, profile).mutants if m.id == "tanh-sign"
    )  # `self.grad -= ...`: the loop never ends on it
    written = _Written(cast(Any, None), None, "plain", (mutant,))
    tests = {"test_hangs_unless_tanh_is_right": (_HANGS_ON_A_WRONG_TANH, written)}
    checked = _verify(spec, tests, "", Limits(60.0, None), CampaignConfig())
    assert checked.caught == {} and len(checked.dropped) == 1
    mutant_id, why = checked.dropped[0]
    assert mutant_id == "tanh-sign"
    said = re.fullmatch(
        r"its test did not finish on the mutant: past its ([0-9.]+) s of CPU time \(killed\)",
        why,
    )
    assert said is not None, why
    assert 1.0 <= float(said[1]) < 10.0  # 10x the test's few ms + 1 s, not the host's 60 s
