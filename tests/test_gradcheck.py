"""The battery on our engine, and the lab's gradcheck: the short model answer, each check shown
able to fail.

`pytest tests/test_gradcheck.py --engine PATH` runs the battery on another
engine; the other tests here check minigrad itself and are deselected then.
The tool's full checker (fast mode, any engine, float32) is tested in
test_checker.py.
"""

from __future__ import annotations

import math
from typing import Any

import pytest

from minigrad.engine import Value
from minigrad.gradcheck import SEED, WEIGHT, GradcheckError, Tolerance, gradcheck
from minigrad_tool.adapter import Loaded
from minigrad_tool.battery import Case, run_case
from minigrad_tool.check import settings_for


def test_battery_case(battery_case: Case, engine: Loaded) -> None:
    """Every case of the battery built for the engine under test passes on it."""
    result = run_case(battery_case, engine.access, settings_for(engine.profile))
    if result.status != "pass":
        pytest.fail(f"{result.status}: {result.detail}", pytrace=False)


# --- hand-broken ops: each check must be able to fail -----------------------------------------


def _node(data: float, inputs: tuple[Value, ...], step: Any) -> Value:
    """A node whose backward step is `step(out)`: a broken op in one line."""
    out = Value(data, inputs)

    def _backward() -> None:
        step(out)

    out._backward = _backward
    return out


def wrong_sign_sub(a: Value, b: Value) -> Value:
    def step(out: Value) -> None:
        a.grad += out.grad
        b.grad += out.grad  # should be -=

    return _node(a.data - b.data, (a, b), step)


def overwriting_mul(a: Value, b: Value) -> Value:
    def step(out: Value) -> None:
        a.grad = b.data * out.grad  # should be +=
        b.grad = a.data * out.grad

    return _node(a.data * b.data, (a, b), step)


def unscaled_mul(a: Value, b: Value) -> Value:
    def step(out: Value) -> None:
        a.grad += b.data  # * out.grad dropped
        b.grad += a.data

    return _node(a.data * b.data, (a, b), step)


class TestEachCheckCanFail:
    def test_a_correct_function_passes(self) -> None:
        """Products, sums and tanh of three inputs: every check passes."""
        assert gradcheck(
            lambda a, b, c: (a * b + c).tanh() * a, [Value(0.3), Value(-1.2), Value(0.5)]
        )

    def test_a_wrong_gradient_names_the_input(self) -> None:
        """sub's step adds to the subtrahend: input 1, expected -1, got +1."""
        with pytest.raises(GradcheckError) as info:
            gradcheck(wrong_sign_sub, [Value(1.5), Value(-2.0)])
        err = info.value
        assert (err.check, err.index) == ("gradient", 1)
        assert err.expected == pytest.approx(-1.0) and err.actual == 1.0
        assert str(err) == f"gradient check failed for input 1: expected {err.expected!r}, got 1.0"

    def test_assignment_fails_the_accumulation_check(self) -> None:
        """`=` for `+=` is right from a fresh graph, and wrong on a pre-seeded .grad."""
        with pytest.raises(GradcheckError) as info:
            gradcheck(overwriting_mul, [Value(1.5), Value(-2.0)])
        err = info.value
        assert (err.check, err.index) == ("accumulation", 0)
        assert err.expected == pytest.approx(SEED - 2.0) and err.actual == pytest.approx(-2.0)

    def test_a_dropped_upstream_factor_fails_the_upstream_check(self) -> None:
        """Without `* out.grad` the gradient of w * f is that of f."""
        with pytest.raises(GradcheckError) as info:
            gradcheck(unscaled_mul, [Value(1.5), Value(-2.0)])
        err = info.value
        assert (err.check, err.index) == ("upstream", 0)
        assert err.expected == pytest.approx(WEIGHT * -2.0) and err.actual == pytest.approx(-2.0)

    def test_the_seed_and_the_weight_are_neither_0_nor_1(self) -> None:
        """What each backward() starts from, as f sees it: a fresh .grad of 0, the seed 0.37;
        the upstream gradients 1 and -1.7."""
        seen: list[tuple[float, float]] = []

        def f(x: Value) -> Value:
            def step(out: Value) -> None:
                seen.append((x.grad, out.grad))
                x.grad += 2.0 * out.grad

            return _node(2.0 * x.data, (x,), step)

        assert gradcheck(f, [Value(0.5)])
        assert seen == [(0.0, 1.0), (SEED, 1.0), (0.0, WEIGHT)]
        assert (SEED, WEIGHT) == (0.37, -1.7)

    def test_central_differences_step_by_eps_and_restore_the_input(self) -> None:
        """f is evaluated at x, then x + eps and x - eps; x keeps its value."""
        points: list[float] = []

        def f(x: Value) -> Value:
            points.append(x.data)
            return x * x

        x = Value(0.5)
        assert gradcheck(f, [x], tol=Tolerance(eps=0.25))
        assert points[:3] == [0.5, 0.75, 0.25] and x.data == 0.5

    def test_the_input_is_restored_when_f_raises(self) -> None:
        """A user's own exception propagates, and the input keeps its value."""

        def f(x: Value) -> Value:
            if x.data != 0.5:
                raise KeyError("mine")
            return x * x

        x = Value(0.5)
        with pytest.raises(KeyError, match="mine"):
            gradcheck(f, [x])
        assert x.data == 0.5


class TestTolerance:
    @pytest.mark.parametrize(
        ("actual", "ok"), [(1.00109, True), (0.99891, True), (1.00111, False), (0.99889, False)]
    )
    def test_atol_plus_rtol_times_expected(self, actual: float, ok: bool) -> None:
        """1e-4 + 1e-3 * |1.0| around 1.0."""
        assert Tolerance().accepts(1.0, actual) is ok

    def test_relative_part_grows_with_the_expected_value(self) -> None:
        """Around 100, 0.1001 is allowed; around -100 too."""
        assert Tolerance().accepts(100.0, 100.1) and not Tolerance().accepts(100.0, 100.11)
        assert Tolerance().accepts(-100.0, -100.1)

    @pytest.mark.parametrize("actual", [math.nan, math.inf, -math.inf])
    def test_nan_and_infinities_are_never_close(self, actual: float) -> None:
        """Even with a tolerance that would allow anything finite."""
        assert not Tolerance(atol=1e300).accepts(1.0, actual)

    def test_zero_tolerances_are_allowed(self) -> None:
        """An exact comparison is a choice, not an error."""
        exact = Tolerance(atol=0.0, rtol=0.0)
        assert exact.accepts(2.0, 2.0) and not exact.accepts(2.0, 2.0 + 1e-15)

    def test_the_defaults(self) -> None:
        """eps 1e-5 (see the module's docstring), atol 1e-4, rtol 1e-3; keyword-only."""
        assert Tolerance() == Tolerance(eps=1e-5, atol=1e-4, rtol=1e-3)
        with pytest.raises(TypeError):
            Tolerance(1e-5)  # type: ignore[misc]

    @pytest.mark.parametrize(
        ("kwargs", "message"),
        [
            ({"eps": 0.0}, "eps must be a finite number > 0, got 0.0"),
            ({"eps": -1e-5}, "eps must be a finite number > 0, got -1e-05"),
            ({"eps": math.inf}, "eps must be a finite number > 0, got inf"),
            ({"eps": math.nan}, "eps must be a finite number > 0, got nan"),
            ({"atol": -1.0}, "atol must be a finite number >= 0, got -1.0"),
            ({"atol": math.nan}, "atol must be a finite number >= 0, got nan"),
            ({"rtol": -1e-9}, "rtol must be a finite number >= 0, got -1e-09"),
            ({"rtol": math.inf}, "rtol must be a finite number >= 0, got inf"),
        ],
    )
    def test_bad_values_are_refused(self, kwargs: dict[str, float], message: str) -> None:
        """Each bad number is named with what was expected and what came."""
        with pytest.raises(ValueError) as info:
            Tolerance(**kwargs)
        assert str(info.value) == message


class TestBadInput:
    @pytest.mark.parametrize("inputs", [[], [1.5], [Value(1.0), 2.0], None])
    def test_inputs_must_be_values(self, inputs: Any) -> None:
        """No inputs, numbers or None: a TypeError that says what is expected."""
        with pytest.raises(TypeError) as info:
            gradcheck(lambda *xs: xs[0], inputs)
        assert str(info.value) == "inputs must be a non-empty sequence of Value"

    def test_the_same_input_twice(self) -> None:
        """Each input is perturbed alone: the same Value twice cannot be."""
        x = Value(1.0)
        with pytest.raises(ValueError) as info:
            gradcheck(lambda a, b: a * b, [x, x])
        assert str(info.value) == "each input must be a different Value"

    def test_f_must_return_a_value(self) -> None:
        """A float has no backward()."""
        with pytest.raises(TypeError) as info:
            gradcheck(lambda x: x.data * 2.0, [Value(1.0)])
        assert str(info.value) == "f must return a Value, got float"

    def test_an_infinite_forward_is_refused(self) -> None:
        """No difference of infinities can stand for a derivative."""
        with pytest.raises(ValueError) as info:
            gradcheck(lambda x: _node(math.inf, (x,), lambda out: None), [Value(1.0)])
        assert str(info.value) == "f is not finite at [1.0]: inf"

    def test_a_nan_gradient_fails(self) -> None:
        """NaN is never close to anything."""

        def f(x: Value) -> Value:
            def step(out: Value) -> None:
                x.grad += math.nan

            return _node(x.data, (x,), step)

        with pytest.raises(GradcheckError) as info:
            gradcheck(f, [Value(1.0)])
        assert info.value.check == "gradient" and math.isnan(info.value.actual)
