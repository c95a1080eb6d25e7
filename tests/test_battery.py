"""The battery as data: rows for each engine's ops, the oracle, kinks, precision, random DAGs.

Modules: minigrad_tool.battery.cases, minigrad_tool.battery.rows, minigrad_tool.ops.
"""

from __future__ import annotations

import math
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from minigrad_tool.adapter import Loaded, load_in_process
from minigrad_tool.battery import Settings, build_battery, run_case
from minigrad_tool.battery.dags import CORE_DAG_OPS, DAG_OPS, dag_is_safe, eval_dag, random_dag
from minigrad_tool.battery.oracle import Calls, NoOracle, Ref, RefContext, trace_ops
from minigrad_tool.check import settings_for
from minigrad_tool.checker import Tolerance

ENGINES = Path(__file__).parent / "engines"
# Deterministic property tests: the same examples on every run, no example database.
DETERMINISTIC = settings(
    derandomize=True, database=None, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)


def engine(name: str) -> Loaded:
    return load_in_process(str(ENGINES / name))


def results(loaded: Loaded, s: Settings | None = None) -> dict[str, tuple[str, str, str]]:
    battery = build_battery(loaded.profile)
    chosen = s or settings_for(loaded.profile)
    out = {}
    for case in battery.cases:
        r = run_case(case, loaded.access, chosen)
        out[case.name] = (r.status, r.detail, r.note)
    return out


class TestRows:
    def test_every_op_gets_cases(self) -> None:
        """Each op the engine has, known or not, is checked by at least one case about it."""
        loaded = engine("extra_ops.py")
        battery = build_battery(loaded.profile)
        checked = {c.op for c in battery.cases if c.op}
        assert checked == {op.name for op in loaded.profile.ops}
        names = [c.name for c in battery.cases]
        assert len(names) == len(set(names))

    def test_ops_without_an_oracle_are_checked_by_gradient(self) -> None:
        """logcosh has no oracle: its cases skip the forward comparison, not the gradients."""
        battery = build_battery(engine("extra_ops.py").profile)
        logcosh = [c for c in battery.cases if c.op == "logcosh"]
        assert logcosh and not any(c.oracle for c in logcosh)
        assert {c.name for c in logcosh} == {"logcosh", "logcosh_reuse"}

    def test_fixed_rows_need_their_ops(self) -> None:
        """An engine without tanh, exp and log runs no row that calls them, and says why."""
        battery = build_battery(engine("microstyle.py").profile)
        assert dict(battery.skipped)["reuse_mid_unary"] == "engine lacks exp, log, tanh"
        assert "lab_diamond" in {c.name for c in battery.cases}

    def test_all_groups_on_our_engine(self) -> None:
        """Our engine gets every group, a 10,000-node case and kink cases."""
        battery = build_battery(load_in_process("minigrad.engine").profile)
        assert set(battery.groups) == {"op", "composite", "graph", "edge", "random", "mlp"}
        assert any(c.depth >= 10_000 for c in battery.cases)
        assert {"relu_kink", "relu_kink_mid"} <= {c.name for c in battery.cases}


class TestVerdicts:
    @pytest.mark.parametrize(
        "name",
        [
            "microstyle.py",
            "closure_named.py",
            "lambda_setattr.py",
            "local_grads.py",
            "grad_wrt.py",
            "function_class.py",
            "keyword_forward.py",
            "extra_ops.py",
            "float32.py",
        ],
    )
    def test_correct_engines_pass(self, name: str) -> None:
        """Every case passes on each correct engine, whatever its style or precision."""
        failed = {k: v for k, v in results(engine(name)).items() if v[0] != "pass"}
        assert failed == {}

    def test_buggy_ops_are_named(self) -> None:
        """abs and +x dropping their parents, logcosh twice too steep: each case fails."""
        got = results(engine("buggy_ops.py"))
        for case in ("abs", "pos", "logcosh"):
            assert got[case][0] == "fail"
        assert "the backward of Value.__abs__ (buggy_ops.py:" in got["abs"][1]
        assert "is wrong" in got["logcosh"][1] and "x=0.3" in got["logcosh"][1]
        assert got["sigmoid"][0] == "pass"

    def test_float32_needs_its_tolerance(self) -> None:
        """A float32 engine fails float64's forward tolerance, and passes its own."""
        loaded = engine("float32.py")
        strict = Settings()
        assert any(v[0] == "fail" for v in results(loaded, strict).values())
        assert all(v[0] == "pass" for v in results(loaded).values())

    def test_self_consistent_wrong_forward(self, tmp_path: Path) -> None:
        """A tanh whose forward and backward agree with each other but not with math fails."""
        f = tmp_path / "wrong_tanh.py"
        source = (ENGINES / "float32.py").read_text()
        f.write_text(
            source.replace(
                "t = f32(math.tanh(self.data))", "t = f32(math.tanh(2 * self.data))"
            ).replace("(1 - t * t) * out.grad", "2 * (1 - t * t) * out.grad")
        )
        got = results(load_in_process(str(f)))
        assert got["tanh"][0] == "fail"
        assert "forward" in got["tanh"][1] and "differs from plain math" in got["tanh"][1]


class TestKinks:
    def test_valid_subgradient_is_a_note_not_a_failure(self) -> None:
        """relu'(0) = 1 passes, with a note in those words."""
        got = results(engine("relu_one.py"))
        status, _, note = got["relu_kink"]
        assert status == "pass"
        assert "a valid subgradient, but not the usual convention relu'(0) = 0" in note
        assert "not a gradient bug" in note
        assert got["relu_kink_mid"][0] == "pass"

    def test_any_subgradient_drops_the_note(self) -> None:
        """--any-subgradient: the same engine passes without a note."""
        loaded = engine("relu_one.py")
        got = results(loaded, settings_for(loaded.profile, any_subgradient=True))
        assert got["relu_kink"] == ("pass", "", "")

    def test_not_a_subgradient_fails(self, tmp_path: Path) -> None:
        """relu'(0) = 2 is no subgradient at all: a failure."""
        f = tmp_path / "relu_two.py"
        f.write_text(
            (ENGINES / "relu_one.py")
            .read_text()
            .replace("(0.0 if x < 0 else 1.0)", "(0.0 if x < 0 else 2.0 if x == 0 else 1.0)")
        )
        status, detail, _ = results(load_in_process(str(f)))["relu_kink"]
        assert status == "fail"
        assert "not a subgradient" in detail and "[0, 1]" in detail


class TestRunCase:
    def test_engine_exception_is_an_error_result(self, tmp_path: Path) -> None:
        """An exception raised in engine code is the case's result ("error"), not an escape."""
        f = tmp_path / "raising.py"
        f.write_text(
            (ENGINES / "relu_one.py")
            .read_text()
            .replace(
                "            self.grad += (0.0 if x < 0 else 1.0) * out.grad",
                "            raise RuntimeError('broken relu')",
            )
        )
        assert results(load_in_process(str(f)))["relu"][:2] == (
            "error",
            "relu in Value.relu (raising.py:33), during the plain backward check: RuntimeError: "
            "broken relu at raising.py:38 (raise RuntimeError('broken relu'))",
        )

    def test_a_case_alone_in_its_child_runs_without_the_cyclic_collector(self) -> None:
        """`last`: the child ends after the case, so the collector is off for good (its
        graphs are freed at the exit); a case run among others leaves it as it was."""
        import gc

        loaded = load_in_process("minigrad.engine")
        case = build_battery(loaded.profile).case("deep_chain")
        try:
            assert run_case(case, loaded.access).status == "pass" and gc.isenabled()
            assert run_case(case, loaded.access, last=True).status == "pass"
            assert not gc.isenabled()
        finally:
            gc.enable()

    def test_minigrad_exception_propagates(self) -> None:
        """An exception raised by minigrad's own code is not the engine's failure: it escapes."""
        loaded = load_in_process("minigrad.engine")
        case = build_battery(loaded.profile).case("add")
        broken = Settings(tolerance=Tolerance(), forward=None)  # type: ignore[arg-type]
        with pytest.raises(AttributeError):
            run_case(case, loaded.access, broken)


class TestOracle:
    def test_named_ops_and_aliases(self) -> None:
        """Ref computes named ops by their canonical names and engines' spellings."""
        context = RefContext()
        x = Ref(0.5, context)
        assert x.apply("sigmoid").data == pytest.approx(1 / (1 + math.exp(-0.5)))
        assert x.reLU().data == 0.5
        assert x.ln().data == math.log(0.5)
        assert context.trace == ["sigmoid", "relu", "log"]

    def test_unknown_op_has_no_oracle(self) -> None:
        """An op minigrad does not know raises NoOracle, so its forward is not judged."""
        with pytest.raises(NoOracle):
            Ref(0.5, RefContext()).gamma_actual()

    def test_calls_use_the_engines_spelling(self) -> None:
        """Calls maps canonical names to the engine's method names."""
        calls = Calls({"relu": "reLU"})

        class Node:
            def reLU(self) -> str:
                return "called"

        assert calls.relu(Node()) == "called"
        assert calls.relu(Ref(-1.0, RefContext())).data == 0.0

    def test_trace_ops(self) -> None:
        """trace_ops gives the value and the ops called."""
        value, trace = trace_ops(lambda a, b: a * b + 2.0 - a, (1.5, 2.0), {})
        assert value == 3.5
        assert trace == ["mul", "add", "sub"]


# Module-level functions, not methods: hypothesis wants one executor per test.
@DETERMINISTIC
@given(seed=st.integers(0, 10_000))
def test_random_dag_is_safe_and_reproducible(seed: int) -> None:
    """A random DAG is safe at its point, and the same seed gives the same DAG."""
    spec, point = random_dag(seed, CORE_DAG_OPS)
    assert dag_is_safe(spec, point)
    assert (spec, point) == random_dag(seed, CORE_DAG_OPS)


@DETERMINISTIC
@given(seed=st.integers(0, 10_000))
def test_eval_on_ref_matches_plain_math(seed: int) -> None:
    """eval_dag on the oracle gives a finite value and runs every op of the spec."""
    spec, point = random_dag(seed, tuple(DAG_OPS))
    context = RefContext()
    value = eval_dag(spec, Calls({}), *(Ref(x, context) for x in point))
    assert math.isfinite(value.data)
    assert len(context.trace) >= len(spec)


class TestDags:
    def test_no_ops_no_dag(self) -> None:
        """Asking for a DAG over no ops is an error, not an IndexError inside minigrad."""
        with pytest.raises(ValueError, match="at least one op"):
            random_dag(0, ())

    def test_unsafe_ops_give_up(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """Ops that cannot make a safe graph give up with a message, not a hang."""
        monkeypatch.setitem(DAG_OPS, "huge", lambda c, a, b: a * 1000.0 + 100.0)
        with pytest.raises(ValueError, match="no safe random DAG over the ops huge"):
            random_dag(0, ("huge",))
