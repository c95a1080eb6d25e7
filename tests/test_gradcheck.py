"""The battery, one test per case, and proof that gradcheck can fail loudly."""

from __future__ import annotations

import itertools
import math
import random
from typing import Any

import pytest

from minigrad.battery import BATTERY, Case, run_case
from minigrad.engine import Value
from minigrad.engines import Engine
from minigrad.gradcheck import GradcheckError, Tolerance, gradcheck, graph_nodes, signed_uniform

# The 10,000-node chain and the MLP cases take most of the time; mutmut skips them.
HEAVY = {"deep_chain", "mlp_gradcheck", "mlp_learns"}


@pytest.mark.parametrize(
    "case",
    [pytest.param(c, marks=pytest.mark.slow) if c.name in HEAVY else c for c in BATTERY],
    ids=[c.name for c in BATTERY],
)
def test_battery_case(case: Case, engine: Engine) -> None:
    """Every battery case passes on the engine under test (skipped where it lacks an op)."""
    result = run_case(case, engine.value_cls)
    if result.status == "skip":
        pytest.skip(result.detail)
    if result.status != "pass":
        pytest.fail(f"{result.status}: {result.detail}", pytrace=False)


class BadSub(Value):
    """A hand-written wrong backward: the right operand of `-` loses its minus."""

    __slots__ = ()

    def __sub__(self, other: Value | float) -> Value:
        other = other if isinstance(other, Value) else BadSub(other)
        out = BadSub(self.data - other.data, (self, other), "-")

        def _backward(_: Value) -> None:
            self.grad += out.grad
            other.grad += out.grad  # the bug: should be -=

        out._backward = _backward
        return out


class TestGradcheckCatches:
    def test_rejects_wrong_backward(self) -> None:
        """A wrong derivative raises GradcheckError with index, values and differences."""
        a, b = BadSub(1.5), BadSub(-2.0)
        with pytest.raises(GradcheckError) as info:
            gradcheck(lambda x, y: x - y, [a, b], name="sub")
        err = info.value
        assert isinstance(err, AssertionError)
        assert (err.check, err.case, err.index) == ("gradient", "sub", 1)
        assert err.expected == pytest.approx(-1.0)
        assert err.actual == 1.0
        assert err.abs_diff == pytest.approx(2.0)
        assert err.rel_diff == pytest.approx(2.0)
        assert err.tolerance == pytest.approx(1e-4 + 1e-3 * 1.0)
        text = str(err)
        for needle in (
            "'sub'",
            "input index: 1",
            "expected: -1.0",
            "actual:   1.0",
            "abs diff: 2",
            "rel diff: 2",
            "tolerance: 0.0011",
        ):
            assert needle in text

    def test_fast_mode_rejects_and_names_index(self) -> None:
        """Fast mode catches the same bug and falls back to per-input mode to name the index."""
        a, b = BadSub(1.5), BadSub(-2.0)
        with pytest.raises(GradcheckError) as info:
            gradcheck(lambda x, y: x - y, [a, b], fast=True)
        assert (info.value.check, info.value.index) == ("gradient", 1)

    def test_battery_case_fails_on_bad_engine(self) -> None:
        """The battery's `sub` case reports a failure, not a pass, on the broken class."""
        sub = next(c for c in BATTERY if c.name == "sub")
        result = run_case(sub, BadSub)
        assert result.status == "fail"
        assert "input index: 1" in result.detail


def _overwriting_mul(a: Value, b: Value) -> Value:
    out = Value(a.data * b.data, (a, b), "*")

    def _backward(_: Value) -> None:
        a.grad = b.data * out.grad  # `=` where `+=` belongs
        b.grad = a.data * out.grad

    out._backward = _backward
    return out


def _unscaled_mul(a: Value, b: Value) -> Value:
    out = Value(a.data * b.data, (a, b), "*")

    def _backward(_: Value) -> None:
        a.grad += b.data  # the upstream factor out.grad is dropped
        b.grad += a.data

    out._backward = _backward
    return out


class TestPropertyChecks:
    def test_accumulation_catches_assignment(self) -> None:
        """`=` instead of `+=` passes the plain comparison but fails the accumulation check."""
        with pytest.raises(GradcheckError) as info:
            gradcheck(_overwriting_mul, [Value(1.5), Value(-2.0)])
        assert info.value.check == "accumulation"
        assert "accumulation check" in str(info.value)
        gradcheck(_overwriting_mul, [Value(1.5), Value(-2.0)], properties=False)

    def test_upstream_catches_dropped_factor(self) -> None:
        """A dropped `* out.grad` passes when the upstream gradient is 1, not under scaling."""
        with pytest.raises(GradcheckError) as info:
            gradcheck(_unscaled_mul, [Value(1.5), Value(-2.0)])
        assert info.value.check == "upstream"
        assert "upstream check" in str(info.value)
        # without out.grad the result is b.data whatever the weight; w * gradient is not
        assert (info.value.index, info.value.actual) == (0, -2.0)
        assert info.value.expected != pytest.approx(-2.0)

    def test_accumulation_skips_the_root_itself(self) -> None:
        """f returning its own input is fine: backward() seeds the root with 1 by design."""
        assert gradcheck(lambda x: x, [Value(2.0)])


class TestTolerance:
    """The comparison is |num - ana| <= atol + rtol * |num|, at its boundary."""

    @pytest.mark.parametrize(("offset", "ok"), [(0.99, True), (1.01, False)])
    def test_boundary(self, offset: float, ok: bool) -> None:
        """A gradient just inside the tolerance passes; just outside, it fails."""
        atol, rtol, slope = 1e-3, 1e-2, 3.0
        allowed = atol + rtol * slope
        wrong = slope + offset * allowed

        def f(x: Value) -> Value:
            out = Value(slope * x.data, (x,), "lin")

            def _backward(_: Value) -> None:
                x.grad += wrong * out.grad

            out._backward = _backward
            return out

        if ok:
            assert gradcheck(f, [Value(0.5)], atol=atol, rtol=rtol, properties=False) is True
        else:
            with pytest.raises(GradcheckError) as info:
                gradcheck(f, [Value(0.5)], atol=atol, rtol=rtol, properties=False)
            assert info.value.tolerance == pytest.approx(allowed)

    def test_tolerance_accepts(self) -> None:
        """Tolerance.accepts is inclusive at the boundary and relative to the expected value."""
        tol = Tolerance(eps=1e-5, atol=0.5, rtol=0.25)
        assert tol.allowed(-4.0) == 1.5
        assert tol.accepts(-4.0, -2.5)
        assert not tol.accepts(-4.0, -2.49)
        assert not tol.accepts(4.0, 5.51)


class TestBadInput:
    @pytest.mark.parametrize(
        ("kwargs", "message"),
        [
            ({"eps": 0.0}, "eps must be"),
            ({"eps": -1e-3}, "eps must be"),
            ({"eps": math.nan}, "eps must be"),
            ({"atol": -1.0}, "atol must be"),
            ({"rtol": -1.0}, "rtol must be"),
            ({"rtol": math.inf}, "rtol must be"),
            ({"probes": 0}, "probes must be"),
        ],
    )
    def test_bad_settings(self, kwargs: dict[str, Any], message: str) -> None:
        """Nonsense step sizes and tolerances are a ValueError, never a pass."""
        with pytest.raises(ValueError, match=message):
            gradcheck(lambda x: x * x, [Value(1.0)], **kwargs)

    def test_zero_tolerances_are_allowed(self) -> None:
        """atol = rtol = 0 is a legal (strict) setting, not an error."""
        with pytest.raises(GradcheckError):
            gradcheck(lambda x: x * x, [Value(1.0)], atol=0.0, rtol=0.0)

    def test_non_value_input(self) -> None:
        """A float among the inputs names its index and type."""
        with pytest.raises(TypeError, match=r"input 1 must be a Value.*got float 2\.0"):
            gradcheck(lambda x, y: x * y, [Value(1.0), 2.0])

    @pytest.mark.parametrize("inputs", ["ab", 3, None])
    def test_inputs_not_a_sequence(self, inputs: Any) -> None:
        """Inputs must be a list or tuple."""
        with pytest.raises(TypeError, match="inputs must be a list or tuple"):
            gradcheck(lambda x: x, inputs)

    def test_no_inputs(self) -> None:
        """An empty input list is an error, not a vacuous pass."""
        with pytest.raises(ValueError, match="at least one input"):
            gradcheck(lambda: Value(1.0), [])

    def test_f_returns_float(self) -> None:
        """f must return a Value; a float is a TypeError naming what came back."""
        with pytest.raises(TypeError, match=r"f must return a Value, got float 2\.0"):
            gradcheck(lambda x: x.data * 2.0, [Value(1.0)])

    def test_nan_gradient(self) -> None:
        """A NaN gradient is a failure that says NaN."""

        def f(x: Value) -> Value:
            out = Value(x.data, (x,), "id")

            def _backward(_: Value) -> None:
                x.grad += math.nan

            out._backward = _backward
            return out

        with pytest.raises(GradcheckError, match="analytic gradient is nan") as info:
            gradcheck(f, [Value(1.0)])
        assert (info.value.check, info.value.index) == ("finite", 0)

    def test_infinite_forward(self) -> None:
        """A non-finite value of f is a failure that says so."""
        with pytest.raises(GradcheckError, match="non-finite value"):
            gradcheck(lambda x: x * math.inf, [Value(1.0)])

    def test_user_exception_propagates(self) -> None:
        """gradcheck never swallows the user's own exceptions."""
        with pytest.raises(ValueError, match="log of non-positive"):
            gradcheck(lambda x: x.log(), [Value(1e-6)])


class TestMechanics:
    def test_data_restored_after_failure(self) -> None:
        """Perturbed `.data` is put back even when a check fails."""
        a, b = BadSub(1.5), BadSub(-2.0)
        with pytest.raises(GradcheckError):
            gradcheck(lambda x, y: x - y, [a, b])
        assert (a.data, b.data) == (1.5, -2.0)

    def test_closed_over_values_are_zeroed(self) -> None:
        """Stale gradients on values f closes over do not leak into the check."""
        w = Value(3.0)
        w.grad = 100.0
        assert gradcheck(lambda x: x * w + w, [Value(2.0)])
        # zeroed before each pass: what is left is one pass's gradient, |weight * (x + 1)| < 10
        assert abs(w.grad) < 10.0

    def test_fast_mode_passes_correct_engine(self) -> None:
        """Fast mode accepts a correct many-input function."""
        xs = [Value(0.1 * i - 0.5) for i in range(12)]
        assert gradcheck(
            lambda *v: sum((a * b for a, b in itertools.pairwise(v)), Value(0.0)), xs, fast=True
        )

    def test_graph_nodes_visits_each_once(self) -> None:
        """graph_nodes walks a diamond without repeats."""
        a = Value(1.0)
        b = a * a
        c = b + b
        nodes = list(graph_nodes(c))
        assert len(nodes) == 3
        assert {id(n) for n in nodes} == {id(a), id(b), id(c)}


def _offset_identity(delta: float) -> Any:
    """f(*xs) = sum(xs) through one node whose backward gives 1 + delta per input."""

    def f(*xs: Value) -> Value:
        out = Value(sum(x.data for x in xs), tuple(xs), "sum")

        def _backward(_: Value) -> None:
            for x in xs:
                x.grad += (1.0 + delta) * out.grad

        out._backward = _backward
        return out

    return f


class Counting:
    """Wrap f and count its calls: each call is one forward pass."""

    def __init__(self, f: Any) -> None:
        self.f = f
        self.calls = 0

    def __call__(self, *xs: Any) -> Any:
        self.calls += 1
        return self.f(*xs)


class TestModesAndDefaults:
    def test_per_input_is_the_default_mode(self) -> None:
        """By default: 1 analytic pass, 2 per input, 1 each for the two property checks."""
        f = Counting(lambda a, b, c: a * b + c)
        gradcheck(f, [Value(1.0), Value(2.0), Value(3.0)])
        assert f.calls == 1 + 2 * 3 + 2

    def test_fast_mode_costs_two_passes_per_probe(self) -> None:
        """Fast mode: 4 probes by default, whatever the number of inputs."""
        f = Counting(lambda *xs: sum(xs[1:], xs[0]))
        gradcheck(f, [Value(0.1 * i) for i in range(30)], fast=True)
        assert f.calls == 1 + 2 * 4 + 2
        g = Counting(lambda *xs: sum(xs[1:], xs[0]))
        gradcheck(g, [Value(0.1 * i) for i in range(30)], fast=True, probes=1, properties=False)
        assert g.calls == 1 + 2

    def test_default_seed_is_zero(self) -> None:
        """The random draws are seeded: the default equals seed=0 and differs from seed=1."""

        def message(**kwargs: Any) -> str:
            with pytest.raises(GradcheckError) as info:
                gradcheck(_unscaled_mul, [Value(1.5), Value(-2.0)], **kwargs)
            return str(info.value)

        assert message() == message(seed=0)
        assert message() != message(seed=1)

    def test_directional_failure_when_each_input_is_within_tolerance(self) -> None:
        """Errors just inside tolerance per input add up along a direction: fast mode says so."""
        f = _offset_identity(0.9e-4)
        xs = [Value(0.1 * i) for i in range(12)]
        gradcheck(f, xs, atol=1e-4, rtol=0.0, properties=False)  # per input: passes
        with pytest.raises(GradcheckError) as info:
            gradcheck(f, xs, atol=1e-4, rtol=0.0, fast=True, properties=False)
        err = info.value
        assert (err.check, err.index, err.tolerance) == ("directional", None, 1e-4)
        assert err.reason.startswith(
            "grad . u differs from the derivative along random direction #"
        )
        assert err.actual - err.expected == pytest.approx(0.9e-4 * err.expected, rel=1e-3)
        assert abs(err.expected) >= 2.0

    def test_signed_uniform(self) -> None:
        """Seeds and weights: |v| spans [low, high], both signs occur, never anything else."""
        rng = random.Random(0)
        draws = [signed_uniform(rng, 0.5, 1.5) for _ in range(2000)]
        sizes = [abs(v) for v in draws]
        assert 0.5 <= min(sizes) < 0.55
        assert 1.45 < max(sizes) <= 1.5
        assert any(v < 0 for v in draws)
        assert any(v > 0 for v in draws)


class TestMessages:
    def test_full_message(self) -> None:
        """The message lists check, reason, index, values, differences and tolerance."""
        err = GradcheckError(
            "gradient", "why", case="c", index=2, expected=-2.0, actual=1.0, tolerance=0.1
        )
        assert str(err) == (
            "gradcheck failed for case 'c': gradient check: why\n"
            "  input index: 2\n"
            "  expected: -2.0\n"
            "  actual:   1.0\n"
            "  abs diff: 3   rel diff: 1.5   tolerance: 0.1"
        )
        assert (err.abs_diff, err.rel_diff) == (3.0, 1.5)

    def test_message_without_case_index_or_values(self) -> None:
        """Missing fields are left out, not printed as None or nan."""
        err = GradcheckError("finite", "f returned a non-finite value (nan)")
        assert str(err) == "gradcheck failed: finite check: f returned a non-finite value (nan)"
        assert math.isnan(err.rel_diff)
        assert GradcheckError("gradient", "r", expected=0.0, actual=1.0).rel_diff == math.inf

    def test_message_with_only_actual(self) -> None:
        """An infinite actual value is shown even with no expected value."""
        err = GradcheckError("finite", "r", index=0, actual=math.inf)
        assert str(err) == (
            "gradcheck failed: finite check: r\n  input index: 0\n"
            "  expected: nan\n  actual:   inf\n"
            "  abs diff: nan   rel diff: nan   tolerance: nan"
        )

    def test_infinite_gradient(self) -> None:
        """An infinite analytic gradient is a `finite` failure carrying the value."""
        with pytest.raises(GradcheckError, match="analytic gradient is inf") as info:
            gradcheck(_offset_identity(math.inf), [Value(1.0)])
        assert (info.value.check, info.value.index, info.value.actual) == ("finite", 0, math.inf)

    def test_gradient_reason(self) -> None:
        """The per-input failure says which side is which."""
        with pytest.raises(GradcheckError) as info:
            gradcheck(lambda x, y: x - y, [BadSub(1.5), BadSub(-2.0)])
        assert info.value.reason == (
            "analytic gradient (actual) differs from the central difference (expected)"
        )

    def test_accumulation_reason(self) -> None:
        """The accumulation failure names the seed and the likely bug, for the right input."""
        with pytest.raises(GradcheckError) as info:
            gradcheck(lambda a, b: _overwriting_mul(b, a), [Value(1.5), Value(-2.0)])
        err = info.value
        assert err.index == 0
        seed = err.expected - (-2.0)
        assert err.reason == (
            f"input pre-seeded with .grad = {seed:.6g} must end with seed + gradient;"
            " a backward step overwrites (=) instead of accumulating (+=)"
        )

    def test_upstream_reason(self) -> None:
        """The upstream failure names the weight and the likely bug."""
        with pytest.raises(GradcheckError) as info:
            gradcheck(_unscaled_mul, [Value(1.5), Value(-2.0)])
        weight = info.value.expected / -2.0
        assert info.value.reason == (
            f"gradient of w * f with w = {weight:.6g} must be w * gradient;"
            " a backward step drops its upstream factor out.grad"
        )

    def test_infinite_forward_is_a_finite_failure(self) -> None:
        """A non-finite value of f is reported by the `finite` check."""
        with pytest.raises(GradcheckError) as info:
            gradcheck(lambda x: x * math.inf, [Value(1.0)])
        assert info.value.check == "finite"


class LongRepr:
    def __repr__(self) -> str:
        return "L" * 200


class DataGradOnly:
    data = 1.0
    grad = 0.0


class NoGrad:
    data = 1.0

    def backward(self) -> None: ...


class NoData:
    grad = 0.0

    def backward(self) -> None: ...


class TestInputChecks:
    def test_description_is_cut_at_80_characters(self) -> None:
        """A huge repr is cut so the message stays readable."""
        with pytest.raises(TypeError) as info:
            gradcheck(lambda x: x, [LongRepr()])
        assert str(info.value).endswith("got " + ("LongRepr " + "L" * 200)[:80])

    @pytest.mark.parametrize("bad", [DataGradOnly(), NoGrad(), NoData()])
    def test_value_needs_data_grad_and_backward(self, bad: object) -> None:
        """An input lacking .data, .grad or .backward() is not a Value."""
        with pytest.raises(TypeError, match="input 0 must be a Value"):
            gradcheck(lambda x: x, [bad])

    def test_sequence_message(self) -> None:
        """The message for a non-sequence names what it got."""
        with pytest.raises(
            TypeError, match=r"^inputs must be a list or tuple of Values, got str 'ab'$"
        ):
            gradcheck(lambda x: x, "ab")  # type: ignore[arg-type]

    def test_empty_message(self) -> None:
        """The message for no inputs is exact."""
        with pytest.raises(ValueError, match=r"^gradcheck needs at least one input$"):
            gradcheck(lambda: Value(1.0), [])

    def test_one_probe_is_allowed(self) -> None:
        """probes=1 is the smallest legal value."""
        assert gradcheck(lambda x: x * x, [Value(1.0)], fast=True, probes=1)

    def test_non_finite_is_never_accepted(self) -> None:
        """inf would make the relative tolerance allow anything; NaN compares false."""
        tol = Tolerance()
        assert not tol.accepts(math.inf, 1.0)
        assert not tol.accepts(math.inf, math.inf)
        assert not tol.accepts(1.0, math.nan)
        assert tol.accepts(1.0, 1.0)


class TestGraphNodes:
    def test_duplicate_before_unvisited(self) -> None:
        """A node reached twice does not stop the walk before other nodes are seen."""
        x, y = Value(1.0), Value(2.0)
        out = y + (x + x)
        assert {id(n) for n in graph_nodes(out)} == {id(x), id(y), id(out), id(out._prev[1])}

    def test_nodes_without_children_attribute(self) -> None:
        """A Value-like without `_prev` is a graph of one node."""
        leaf = DataGradOnly()
        assert list(graph_nodes(leaf)) == [leaf]
