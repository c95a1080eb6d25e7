"""Same engine, same tests, same verdict: graph orders under control, flaky and dependent tests."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from minigrad_tool.adapter import load_in_process
from minigrad_tool.adapter.nodes import NodeAccess
from minigrad_tool.adapter.order import (
    SERVED_LOG,
    ControlledFrozenSet,
    ControlledSet,
    current_order,
    fresh,
    order_sensitive,
    same_run,
    served,
    set_order,
)
from minigrad_tool.check import settings_for
from minigrad_tool.mutation.campaign import run_campaign
from minigrad_tool.mutation.judging import CampaignConfig, run_mutant
from minigrad_tool.mutation.results import Campaign, Status

ENGINES = Path(__file__).parent / "engines"
MICRO = (ENGINES / "microstyle.py").read_text()

SHARED_NODE_TEST = """from eng import Value


def test_shared_node():
    x, y, z = Value(2.0), Value(3.0), Value(5.0)
    out = (x * y) * (x + z)
    out.backward()
    assert abs(x.grad - (y.data * (x.data + z.data) + x.data * y.data)) < 1e-9


def test_mul_alone():
    x, y = Value(2.0), Value(3.0)
    out = x * y
    out.backward()
    assert x.grad == 3.0 and y.grad == 2.0
"""

FLAKY_AND_DEPENDENT = '''import random

from eng import Value

STATE = {}


def test_add():
    x, y = Value(2.0), Value(3.0)
    out = x + y
    out.backward()
    assert x.grad == 1.0 and y.grad == 1.0


def test_flaky_by_chance():
    """Fails one run in four, as written: minigrad reseeds random before each test."""
    x = Value(1.0) * 2.0
    x.backward()
    assert random.random() > 0.25


def test_sets_state():
    STATE["x"] = Value(2.0)
    assert STATE["x"].data == 2.0


def test_uses_state_left_by_the_one_before():
    x = STATE["x"]
    out = x * x
    out.backward()
    assert x.grad == 4.0
'''

pytestmark = pytest.mark.campaign


def campaign(folder: Path, tests: str) -> Campaign:
    (folder / "eng.py").write_text(MICRO)
    (folder / "test_eng.py").write_text(tests)
    loaded = load_in_process(str(folder / "eng.py"))
    config = CampaignConfig(
        jobs=2,
        tests=(str(folder / "test_eng.py"),),
        judges=("tests",),
        settings=settings_for(loaded.profile),
    )
    return run_campaign(loaded.spec, loaded.profile, config)


def statuses(result: Campaign) -> dict[str, tuple[str, str, tuple[str, ...]]]:
    """Each mutant's status, reason and killers, with the campaign's folder left out."""
    folder = str(Path(result.path).parent.name) + "/"
    return {
        r.mutant.id: (
            r.status.value,
            r.reason.replace(folder, ""),
            tuple(k.replace(folder, "") for k in r.killed_by),
        )
        for r in result.results
    }


def twice(factory: pytest.TempPathFactory, tests: str) -> tuple[Campaign, Campaign]:
    """The same campaign twice, each in a folder of its own."""
    return campaign(factory.mktemp("one"), tests), campaign(factory.mktemp("two"), tests)


@pytest.fixture(scope="module")
def shared_node(tmp_path_factory: pytest.TempPathFactory) -> tuple[Campaign, Campaign]:
    return twice(tmp_path_factory, SHARED_NODE_TEST)


class TestGraphOrders:
    @pytest.mark.e2e
    def test_a_kill_by_luck_of_the_order_is_not_a_kill(
        self, shared_node: tuple[Campaign, Campaign]
    ) -> None:
        """mul-assign on a node with two consumers is caught in some orders only: Survived,
        with the orders as evidence."""
        first, _ = shared_node
        result = next(r for r in first.results if r.mutant.id == "mul-assign")
        assert result.status is Status.SURVIVED
        assert "caught in only" in result.reason and "of 8 graph orders" in result.reason
        (_, verdict), *_ = result.judges
        assert 0 < verdict.orders[0] < verdict.orders[1] == 8
        assert first.orders == 8

    def test_every_run_gives_the_same_statuses(
        self, shared_node: tuple[Campaign, Campaign]
    ) -> None:
        first, second = shared_node
        assert statuses(first) == statuses(second)
        assert len(statuses(first)) > 60

    def test_a_deterministic_engine_is_judged_in_one_order(self) -> None:
        """No set kept in a node: nothing to explore, nothing to pay."""
        ours = (Path(__file__).parents[1] / "src" / "minigrad" / "engine.py").read_text()
        assert not order_sensitive(ours)
        assert order_sensitive(MICRO)


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Campaign, Campaign]:
    return twice(tmp_path_factory, FLAKY_AND_DEPENDENT)


class TestTestsThatCannotJudge:
    @pytest.mark.e2e
    def test_no_harness_failure_and_the_same_verdicts(
        self, runs: tuple[Campaign, Campaign]
    ) -> None:
        """A test that needs an earlier test's state passes in collection order: the engine
        is not blamed, and two runs agree."""
        first, second = runs
        assert statuses(first) == statuses(second)
        assert first.killed > 0

    def test_flaky_and_dependent_tests_kill_nothing(self, runs: tuple[Campaign, Campaign]) -> None:
        first, _ = runs
        killers = {k.rpartition("::")[2] for r in first.results for k in r.killed_by}
        assert "test_flaky_by_chance" not in killers
        assert "test_uses_state_left_by_the_one_before" not in killers
        assert "test_add" in killers
        said = " ".join(r.reason for r in first.results)
        assert "test_uses_state_left_by_the_one_before" not in said  # it never judged
        assert any("uses state they leave" in why for why in first.excluded)


def test_an_uncovered_equivalent_is_ignored(tmp_path: Path) -> None:
    """Tests that never call relu: its equivalent mutant is still Ignored, not NoCoverage."""
    result = campaign(tmp_path, SHARED_NODE_TEST)
    relu = {r.mutant.id: r for r in result.results if r.mutant.op == "relu"}
    assert relu["relu-swap-2"].status is Status.EQUIVALENT
    assert relu["relu-sign"].status is Status.NO_COVERAGE


def test_numpy_fresh_generators_draw_the_same_in_every_item() -> None:
    """`np.random.default_rng()` seeds itself from the operating system: a student's tensor
    tests drawn that way gave 9.4% and 10.4% in alternate runs.  After fresh(), the same
    draws in every item; two generators of one item still differ."""
    import numpy as np

    fresh()
    first = [np.random.default_rng().random() for _ in range(2)]
    fresh()
    again = [np.random.default_rng().random() for _ in range(2)]
    assert first == again and first[0] != first[1]
    assert np.random.default_rng(7).random() == np.random.default_rng(7).random()


class TestControlledSet:
    def test_orders(self) -> None:
        """0: insertion; 1: reversed; others: fixed permutations, the same every time."""
        try:
            fresh()
            s = ControlledSet("abcdef")
            seen = {}
            for order in range(8):
                set_order(order)
                seen[order] = "".join(s)
            assert seen[0] == "abcdef" and seen[1] == "fedcba"
            assert len(set(seen.values())) >= 6
            fresh()
            again = ControlledSet("abcdef")
            set_order(5)
            assert "".join(again) == seen[5]
        finally:
            set_order(0)

    def test_a_run_is_known_by_the_sets_it_iterates(self) -> None:
        """served() lists the sets iterated with two items or more, as (creation number,
        size); two orders in which each comes out the same give the same run."""
        try:
            fresh()
            one, pair, three = ControlledSet("a"), ControlledSet("ab"), ControlledSet("abc")
            assert served() == ()
            list(one), list(pair), list(three), list(pair)
            assert served() == ((1, 2), (2, 3), (1, 2))
            for order in range(8):
                for other in range(8):
                    set_order(order)
                    seen = ("".join(pair), "".join(three))
                    set_order(other)
                    assert same_run([(1, 2), (2, 3)], order, other) == (
                        seen == ("".join(pair), "".join(three))
                    )
            fresh()
            assert served() == ()
            for _ in range(SERVED_LOG + 1):
                list(ControlledSet("ab"))
            assert served() is None  # too many sets to tell two orders' runs apart
        finally:
            set_order(0)

    def test_minigrads_own_walks_neither_arrange_nor_log_a_set(self) -> None:
        """NodeAccess.children reads a served set in insertion order, in every graph order,
        and leaves served() as it was: zeroing a graph's gradients decides nothing of a run."""

        class Node:
            grad = 0.0

            def __init__(self, *children: Node) -> None:
                self._prev = ControlledSet(children)

        try:
            fresh()
            a, b, c = Node(), Node(), Node()
            out = Node(a, b, c)
            frozen = Node()
            frozen._prev = ControlledFrozenSet((c, a))  # type: ignore[assignment]
            access = NodeAccess(Node, "_prev")
            for order in range(4):
                set_order(order)
                assert access.children(out) == (a, b, c)
                assert list(access.nodes_below(out)) == [out, c, b, a]
                assert access.children(frozen) == (c, a)
            assert served() == ()
            set_order(1)
            assert list(out._prev) == [c, b, a]  # the engine's own iteration: arranged, logged
            assert served() == ((3, 3),)
        finally:
            set_order(0)

    def test_it_behaves_as_a_set(self) -> None:
        s = ControlledSet([3, 1, 3])
        s.add(2)
        s.discard(1)
        assert len(s) == 2 and 3 in s and 1 not in s
        assert s == {2, 3} and s | {4} == {2, 3, 4} and (s & {3}) == {3}
        assert sorted(s.copy()) == [2, 3] and repr(ControlledSet()) == "set()"


def test_a_killer_that_fails_on_the_original_too_kills_nothing(tmp_path: Path) -> None:
    """A test that passes once, then fails on every later run (it leaves a file behind): on a
    mutant it fails, and run again on the unmutated engine it fails too, so it is no kill."""
    engine = tmp_path / "eng.py"
    engine.write_text((ENGINES / "closure_named.py").read_text())
    marker = tmp_path / "ran-once"
    (tmp_path / "test_eng.py").write_text(
        "from pathlib import Path\n\nfrom eng import Scalar\n\n\n"
        "def test_add_once():\n"
        f"    marker = Path({str(marker)!r})\n"
        "    assert not marker.exists()\n"
        "    marker.touch()\n"
        "    x, y = Scalar(2.0), Scalar(3.0)\n"
        "    out = x + y\n"
        "    out.backward()\n"
        "    assert x.grad == 1.0\n"
    )
    loaded = load_in_process(str(engine))
    config = CampaignConfig(
        jobs=2,
        tests=(str(tmp_path / "test_eng.py"),),
        judges=("tests",),
        settings=settings_for(loaded.profile),
    )
    result = run_campaign(loaded.spec, loaded.profile, config)
    assert result.orders == 1
    add = [r for r in result.results if r.mutant.op == "add"]
    assert add and all(not r.status.detected for r in add)
    assert any("also failed on the unmutated engine" in r.reason for r in add)


class _Reporter:
    def phase(self, text: str, budget: float | None = None, **data: Any) -> None:
        return None


def _judge_in_orders(caught: str, *, known: bool) -> tuple[list[int], list[tuple[int, bool]]]:
    """run_mutant on a mutant whose one test builds a set of two nodes: the mutant fails it
    where the set yields `caught` first ("" for everywhere).  The orders it was caught in,
    and each run as (graph order, on the mutant)."""
    patcher = SimpleNamespace(hits=SimpleNamespace(count=0), on=False)
    patcher.apply = lambda mutant: setattr(patcher, "on", True)
    patcher.restore = lambda: setattr(patcher, "on", False)
    runs: list[tuple[int, bool]] = []

    def failure(name: str, reason: bool) -> str | None:
        fresh()
        first = next(iter(ControlledSet(["a", "b"])))
        runs.append((current_order(), patcher.on))
        if not patcher.on:
            return None
        patcher.hits.count += 1
        return "caught" if caught in ("", first) else None

    mutant = SimpleNamespace(id="m")
    result = run_mutant(
        patcher,  # type: ignore[arg-type]
        mutant,  # type: ignore[arg-type]
        ["test"],
        failure,
        _Reporter(),
        item="test",
        matrix=False,
        orders=8,
        passes_in_every_order=known,
    )
    return result["orders_caught"], runs


@pytest.mark.parametrize("known", [True, False])
def test_an_order_whose_sets_come_out_as_before_is_not_run_again(known: bool) -> None:
    """One set of two has two arrangements: every order but 0 and 1 repeats one of them, so
    a kill is confirmed in all 8 orders by running two; a kill only where the set keeps its
    insertion order is caught in exactly the orders that keep it, as if each had run."""
    caught, runs = _judge_in_orders("", known=known)
    assert caught == list(range(8))
    assert sorted({order for order, _ in runs}) == [0, 1]
    on_mutant = [order for order, on in runs if on]
    assert on_mutant == [0, 1]
    caught, runs = _judge_in_orders("a", known=known)
    keeps = []
    for order in range(8):
        set_order(order)
        fresh()
        if next(iter(ControlledSet(["a", "b"]))) == "a":
            keeps.append(order)
    set_order(0)
    assert caught == keeps and 0 in keeps and 1 not in keeps and len(keeps) > 1
