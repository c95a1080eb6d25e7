"""The battery as data: op detection, skips, the Ref oracle, random DAGs."""

from __future__ import annotations

import math
from typing import Any

import pytest
from helpers import KinkOne
from hypothesis import assume, given
from hypothesis import strategies as st

from minigrad.battery import (
    BATTERY,
    CORE_DAG_OPS,
    DAG_OPS,
    OPS,
    Case,
    DagSpec,
    Ref,
    dag_is_safe,
    engine_ops,
    eval_dag,
    random_dag,
    run_battery,
    run_case,
)
from minigrad.engine import Value
from minigrad.gradcheck import gradcheck


class MiniValue:
    """A micrograd-like engine with only + and *: everything else must be skipped."""

    def __init__(self, data: float, children: tuple[Any, ...] = ()) -> None:
        self.data = data
        self.grad = 0.0
        self._prev = children
        self._backward = lambda: None

    def __add__(self, other: Any) -> MiniValue:
        other = other if isinstance(other, MiniValue) else MiniValue(other)
        out = MiniValue(self.data + other.data, (self, other))

        def _backward() -> None:
            self.grad += out.grad
            other.grad += out.grad

        out._backward = _backward
        return out

    def backward(self) -> None:
        order: list[MiniValue] = []
        seen: set[int] = set()

        def visit(v: MiniValue) -> None:
            if id(v) not in seen:
                seen.add(id(v))
                for c in v._prev:
                    visit(c)
                order.append(v)

        visit(self)
        self.grad = 1.0
        for v in reversed(order):
            v._backward()


class TestBatteryData:
    def test_names_unique_and_every_op_covered(self) -> None:
        """Case names are unique IDs, and every op appears in some case."""
        names = [c.name for c in BATTERY]
        assert len(names) == len(set(names))
        used = set().union(*(c.requires for c in BATTERY))
        assert used == set(OPS)

    def test_required_groups_present(self) -> None:
        """The battery has every group the design asks for, and a 10,000-node case."""
        assert {c.group for c in BATTERY} == {"op", "composite", "graph", "edge", "random", "mlp"}
        assert any(c.depth >= 10_000 for c in BATTERY)
        assert {
            "lab_diamond",
            "lab_relu",
            "lab_div",
            "relu_at_zero",
            "unused_input",
            "mlp_learns",
        } <= set(c.name for c in BATTERY)

    def test_requires_and_cost_are_recorded_from_ref(self) -> None:
        """A case's ops are the ones its function calls; its cost counts the calls it makes."""
        case = Case("t", "op", lambda a, b: (a * b).tanh() - 1.0, ((1.0, 2.0), (0.5, 0.5)))
        assert case.requires == {"mul", "tanh", "sub"}
        assert case.cost == 3 * 2 * (2 * 2 + 3)  # 3 ops, 2 points, 2 passes per input + 3
        exact = Case("e", "edge", lambda a: a.relu(), ((0.0,),), kind="exact", exact=((0.0,),))
        assert exact.cost == 1

    def test_engine_ops(self) -> None:
        """Op detection reads the attributes the class defines."""
        assert engine_ops(Value) == frozenset(OPS)
        assert engine_ops(MiniValue) == {"add"}


class TestRunning:
    def test_missing_ops_are_skipped_not_failed(self) -> None:
        """On an engine with only +, cases needing other ops are skips with a reason."""
        results = {r.case: r for r in run_battery(MiniValue)}
        assert results["add"].status == "pass"
        assert results["reuse_leaf_add"].status == "pass"
        assert results["mul"].status == "skip"
        assert results["mul"].detail == "engine lacks mul"
        assert all(r.status in ("pass", "skip") for r in results.values())

    def test_engine_exception_is_an_error_result(self) -> None:
        """An exception inside the engine becomes an `error` result with its type."""

        class Broken(MiniValue):
            def __add__(self, other: Any) -> MiniValue:
                raise RuntimeError("boom")

        result = run_case(next(c for c in BATTERY if c.name == "add"), Broken)
        assert (result.status, result.detail) == ("error", "RuntimeError: boom")

    def test_forward_bug_is_caught(self) -> None:
        """A self-consistent wrong forward (a + b + 1, gradient still right) fails `forward`."""

        class OffByOne(MiniValue):
            def __add__(self, other: Any) -> MiniValue:
                out = super().__add__(other)
                out.data += 1.0
                return out

        result = run_case(next(c for c in BATTERY if c.name == "add"), OffByOne)
        assert result.status == "fail"
        assert "forward check" in result.detail

    def test_exact_cases_check_exactly(self) -> None:
        """relu at 0 must give exactly 0; a relu that passes 1 at the kink fails."""

        case = next(c for c in BATTERY if c.name == "relu_at_zero")
        result = run_case(case, KinkOne)
        assert result.status == "fail"
        assert "must be exactly 0.0" in result.detail


class TestRef:
    def test_ref_matches_math(self) -> None:
        """The oracle computes each op with plain floats."""
        trace: list[str] = []
        a, b = Ref(2.0, trace), Ref(-0.5, trace)
        assert (a * b + 1.0).data == 0.0
        assert (3.0 - a).data == 1.0
        assert (1.0 / a).data == 0.5
        assert (a**3).data == 8.0
        assert (b.relu()).data == 0.0
        assert a.tanh().data == math.tanh(2.0)
        assert trace == ["mul", "add", "rsub", "rdiv", "pow", "relu", "tanh"]


@st.composite
def dag_specs(
    draw: st.DrawFn, ops: tuple[str, ...] = tuple(DAG_OPS)
) -> tuple[DagSpec, tuple[float, ...]]:
    """A DAG over three inputs: each node reads earlier nodes, leaves and intermediates alike."""
    point = tuple(draw(st.floats(-1.5, 1.5)) for _ in range(3))
    size = draw(st.integers(2, 10))
    spec = tuple(
        (draw(st.sampled_from(ops)), draw(st.integers(0, k - 1)), draw(st.integers(0, k - 1)))
        for k in range(3, 3 + size)
    )
    return spec, point


class TestRandomDags:
    def test_seeded_generation_is_reproducible(self) -> None:
        """The battery's DAGs are the same on every run."""
        assert random_dag(5) == random_dag(5)
        spec, point = random_dag(5, CORE_DAG_OPS)
        assert {op for op, _, _ in spec} <= set(CORE_DAG_OPS)
        assert dag_is_safe(spec, point)

    @pytest.mark.slow
    @given(dag_specs())
    def test_gradcheck_passes_on_random_dags(
        self, drawn: tuple[DagSpec, tuple[float, ...]]
    ) -> None:
        """Every safe random DAG mixing all ops passes gradcheck, forward included."""
        spec, point = drawn
        assume(dag_is_safe(spec, point))
        xs = [Value(x) for x in point]
        want = eval_dag(spec, *(Ref(x, []) for x in point)).data
        assert math.isclose(eval_dag(spec, *xs).data, want, rel_tol=1e-9, abs_tol=1e-12)
        assert gradcheck(lambda *v: eval_dag(spec, *v), xs, atol=1e-4, rtol=1e-3)
