"""The tool's full gradient checker (`from minigrad_tool import gradcheck`): each check can fail.

Central differences per input or along random directions (fast mode), the
accumulation and upstream checks, tolerances scaled to an engine's precision,
exact messages, and bad input.  Hand-broken engines are built on our own Value.
"""

from __future__ import annotations

import itertools
import math
import random
from typing import Any

import pytest

from minigrad.engine import Value
from minigrad_tool import GradcheckError, Tolerance, gradcheck
from minigrad_tool.adapter import Loaded, NodeAccess
from minigrad_tool.battery import Case, run_case

# --- hand-broken engines: each check must be able to fail ------------------------------------


class BadSub(Value):
    """A hand-written wrong backward, micrograd's way: the right operand of `-` loses its minus."""

    __slots__ = ()

    def __sub__(self, other: Value | float) -> Value:
        other = other if isinstance(other, Value) else BadSub(other)
        out = BadSub(self.data - other.data, (self, other), "-")

        def _backward() -> None:
            self.grad += out.grad
            other.grad += out.grad  # the bug: should be -=

        out._backward = _backward
        return out


def _node(data: float, inputs: tuple[Value, ...], grads: Any, *, assign: bool = False) -> Value:
    """A node over `inputs` whose backward adds grads[i] * out.grad to input i (or assigns it)."""
    out = Value(data, inputs, "custom")

    def _backward() -> None:
        for x, g in zip(inputs, grads, strict=True):
            if assign:
                x.grad = g * out.grad
            else:
                x.grad += g * out.grad

    out._backward = _backward
    return out


def _overwriting_mul(a: Value, b: Value) -> Value:
    """`=` where `+=` belongs."""
    return _node(a.data * b.data, (a, b), (b.data, a.data), assign=True)


def _unscaled_mul(a: Value, b: Value) -> Value:
    """The upstream factor out.grad is dropped."""
    out = Value(a.data * b.data, (a, b), "*")

    def _backward() -> None:
        a.grad += b.data
        b.grad += a.data

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
        for needle in ("'sub'", "input index: 1", "expected: -1.0", "actual:   1.0", "abs diff: 2"):
            assert needle in text

    def test_an_output_cut_from_the_graph_is_named(self) -> None:
        """A gradient of 0 because the op returned a fresh node (lilgrad 0.6.0's `__pos__`):
        the reason says the output keeps no children.  A missing step (children kept,
        nothing propagated) gets no such words."""

        def cut(x: Value) -> Value:
            return Value(x.data)  # a copy, without x among its children

        def no_step(x: Value) -> Value:
            return Value(x.data, (x,), "copy")  # x kept, but its _backward does nothing

        with pytest.raises(GradcheckError) as info:
            gradcheck(cut, [Value(1.5)])
        assert "the output keeps no children (its ._prev is empty)" in info.value.reason
        with pytest.raises(GradcheckError) as info:
            gradcheck(no_step, [Value(1.5)])
        assert info.value.actual == 0 and "keeps no children" not in info.value.reason

    def test_fast_mode_rejects_and_names_index(self) -> None:
        """Fast mode catches the same bug and falls back to per-input mode to name the index."""
        with pytest.raises(GradcheckError) as info:
            gradcheck(lambda x, y: x - y, [BadSub(1.5), BadSub(-2.0)], fast=True)
        assert (info.value.check, info.value.index) == ("gradient", 1)

    def test_battery_case_fails_on_bad_engine(self, engine: Loaded) -> None:
        """The battery's `sub` case reports a failure, naming the input, on the broken class."""
        if engine.cls is not Value:
            pytest.skip("BadSub is built on minigrad's own Value")
        case = next(c for c in _cases() if c.name == "sub")
        result = run_case(case, NodeAccess(BadSub, "_prev"))
        assert result.status == "fail"
        assert "input index: 1" in result.detail


def _cases() -> tuple[Case, ...]:
    from minigrad_tool.adapter import load_in_process
    from minigrad_tool.battery import build_battery

    return build_battery(load_in_process("minigrad.engine").profile).cases


class TestPropertyChecks:
    def test_accumulation_catches_assignment(self) -> None:
        """`=` instead of `+=` passes the plain comparison but fails the accumulation check."""
        with pytest.raises(GradcheckError) as info:
            gradcheck(_overwriting_mul, [Value(1.5), Value(-2.0)])
        assert info.value.check == "accumulation"
        assert "accumulation check" in str(info.value)

    def test_upstream_catches_dropped_factor(self) -> None:
        """A dropped `* out.grad` passes when the upstream gradient is 1, not under scaling."""
        with pytest.raises(GradcheckError) as info:
            gradcheck(_unscaled_mul, [Value(1.5), Value(-2.0)])
        assert info.value.check == "upstream"
        # without out.grad the result is b.data whatever the weight; w * gradient is not
        assert (info.value.index, info.value.actual) == (0, -2.0)
        assert info.value.expected != pytest.approx(-2.0)

    def test_zero_upstream_catches_a_constant_below_every_tolerance(self) -> None:
        """A step adding 1e-7 "for stability" passes the comparisons (atol 1e-4) and the
        property checks, and fails under a zero upstream gradient, which allows nothing."""

        def offset_mul(a: Value, b: Value) -> Value:
            out = Value(a.data * b.data, (a, b), "*")

            def _backward() -> None:
                a.grad += b.data * out.grad + 1e-7
                b.grad += a.data * out.grad

            out._backward = _backward
            return out

        with pytest.raises(GradcheckError) as info:
            gradcheck(offset_mul, [Value(1.5), Value(-2.0)])
        assert info.value.check == "zero upstream"
        assert (info.value.index, info.value.expected) == (0, 0.0)
        assert info.value.actual == pytest.approx(1e-7)
        assert gradcheck(lambda a, b: a * b, [Value(1.5), Value(-2.0)])

    def test_reentrant_catches_a_value_saved_on_the_class(self) -> None:
        """tanh's step reads the `t` its op's latest forward saved on the class (a `Function`
        object shared by every call does the same): right for one graph at a time, so every
        other check passes; wrong once a second graph is built before the backward."""

        class Saved(Value):
            __slots__ = ()

            def tanh(self) -> Value:
                t = math.tanh(self.data)
                type(self)._t = t  # type: ignore[attr-defined]
                out = Saved(t, (self,), "tanh")

                def _backward() -> None:
                    self.grad += (1 - type(self)._t ** 2) * out.grad  # type: ignore[attr-defined]

                out._backward = _backward
                return out

        with pytest.raises(GradcheckError) as info:
            gradcheck(lambda x: x.tanh(), [Saved(0.3)])
        assert info.value.check == "reentrant"
        assert info.value.expected == pytest.approx(1 - math.tanh(0.3) ** 2)
        assert "saved by a later forward" in str(info.value)
        assert gradcheck(lambda x: x.tanh(), [Value(0.3)])

    def test_unused_input_must_keep_gradient_zero(self) -> None:
        """The unused input is a fresh leaf f never sees: a gradient on it after f's backward
        fails the check (here the leaf the engine makes already holds one), 0 passes.  (A leaf
        that starts with a gradient in a real engine fails earlier: the checker's zero is a
        fresh leaf's gradient.)"""
        from minigrad_tool.checker import _Checker

        checker = _Checker(lambda x: x * x, [Value(0.3)], Tolerance(), "square")
        checker.check_unused_input()

        class Dirty(NodeAccess):
            def leaf(self, x: float) -> Any:
                node = Value(x)
                node.grad = 0.25
                return node

        checker.access = Dirty(Value, "_prev")
        with pytest.raises(GradcheckError) as info:
            checker.check_unused_input()
        assert (info.value.check, info.value.expected, info.value.actual) == (
            "unused input",
            0.0,
            0.25,
        )

    def test_accumulation_skips_the_root_itself(self) -> None:
        """f returning its own input is fine: backward() seeds the root with 1 by design."""
        assert gradcheck(lambda x: x, [Value(2.0)])


class _SavedTanh(Value):
    """tanh's step reads the `t` its latest forward saved on the class (reentrant bug); with
    `unscaled`, it also drops out.grad (upstream bug)."""

    __slots__ = ()
    unscaled = False

    def tanh(self) -> Value:
        t = math.tanh(self.data)
        type(self)._t = t  # type: ignore[attr-defined]
        out = type(self)(t, (self,), "tanh")

        def _backward() -> None:
            upstream = 1.0 if self.unscaled else out.grad
            self.grad += (1 - type(self)._t ** 2) * upstream  # type: ignore[attr-defined]

        out._backward = _backward
        return out


class _UnscaledSavedTanh(_SavedTanh):
    __slots__ = ()
    unscaled = True


class TestSharedGraph:
    """Accumulation, reentrant and unused input are screened on one graph (checker
    `screen_graph_properties`); where the screen does not pass, the checks run one by one
    and report what they would alone."""

    def test_a_correct_engine_is_screened_in_two_passes(self) -> None:
        """The graph at x and the second graph: no check runs alone (f returning its own
        input included, whose root gradient is left out)."""
        for f in (lambda x: x.tanh() * x, lambda x: x):
            counted = Counting(f)
            assert gradcheck(counted, [Value(0.3)])
            assert counted.calls == 1 + 2 + 2 + 2

    def test_each_wrong_step_fails_the_screen(self) -> None:
        """The three bugs the screen stands for each make it hand over."""
        from minigrad_tool.checker import _Checker

        def screen(f: Any, inputs: list[Value], access: NodeAccess | None = None) -> bool:
            checker = _Checker(f, inputs, Tolerance(), None)
            checker.access = access or checker.access
            return checker.screen_graph_properties(checker.analytic(), random.Random(0))

        class Dirty(NodeAccess):
            def leaf(self, x: float) -> Any:
                node = Value(x)
                node.grad = 0.25
                return node

        square = lambda x: x * x  # noqa: E731
        assert screen(square, [Value(0.3)])
        assert not screen(_overwriting_mul, [Value(1.5), Value(-2.0)])
        assert not screen(lambda x: x.tanh(), [_SavedTanh(0.3)])
        assert not screen(square, [Value(0.3)], Dirty(Value, "_prev"))

    def test_two_wrong_steps_are_reported_in_the_order_of_the_checks(self) -> None:
        """A step that drops out.grad and reads a saved value fails the screen on its
        reentrant part; upstream, which comes first one by one, is what is reported, with
        the weight it draws alone."""
        with pytest.raises(GradcheckError) as info:
            gradcheck(lambda x: x.tanh(), [_UnscaledSavedTanh(0.3)])
        assert info.value.check == "upstream"
        rng = random.Random(0)
        rng.choice((-1.0, 1.0)), rng.uniform(0.5, 1.5)  # the one input's seed
        weight = rng.choice((-1.0, 1.0)) * rng.uniform(1.5, 3.0)
        assert f"w = {weight:.6g}" in info.value.reason
        with pytest.raises(GradcheckError) as info:
            gradcheck(lambda x: x.tanh(), [_SavedTanh(0.3)])
        assert info.value.check == "reentrant"

    def test_an_error_in_the_screen_hands_over_with_the_draws_put_back(self) -> None:
        """An exception of the engine's in the screen: the checks one by one meet it, in
        their own context, and draw what they would have drawn."""
        from minigrad_tool.checker import _Checker, _screened

        class Broken(NodeAccess):
            def leaf(self, x: float) -> Any:
                raise RuntimeError("no leaves here")

        checker = _Checker(lambda x: x * x, [Value(0.3)], Tolerance(), None)
        checker.access = Broken(Value, "_prev")
        rng = random.Random(0)
        before = rng.getstate()
        assert not _screened(checker, checker.analytic(), rng)
        assert rng.getstate() == before


class TestTolerance:
    """The comparison is |num - ana| <= atol + rtol * |num|, at its boundary."""

    @pytest.mark.parametrize(("offset", "ok"), [(0.99, True), (1.01, False)])
    def test_boundary(self, offset: float, ok: bool) -> None:
        """A gradient just inside the tolerance passes; just outside, it fails."""
        tol = Tolerance(atol=1e-3, rtol=1e-2)
        slope = 3.0
        wrong = slope + offset * tol.allowed(slope)

        def f(x: Value) -> Value:
            return _node(slope * x.data, (x,), (wrong,))

        if ok:
            assert gradcheck(f, [Value(0.5)], tol=tol) is True
        else:
            with pytest.raises(GradcheckError) as info:
                gradcheck(f, [Value(0.5)], tol=tol)
            assert info.value.tolerance == pytest.approx(tol.allowed(slope))

    def test_accepts(self) -> None:
        """Tolerance.accepts is inclusive at the boundary and relative to the expected value."""
        tol = Tolerance(eps=1e-5, atol=0.5, rtol=0.25)
        assert tol.allowed(-4.0) == 1.5
        assert tol.accepts(-4.0, -2.5)
        assert not tol.accepts(-4.0, -2.49)
        assert not tol.accepts(4.0, 5.51)
        assert not tol.accepts(math.nan, math.nan)
        assert not tol.accepts(math.inf, math.inf)

    def test_for_precision(self) -> None:
        """float64 keeps the defaults; float32 takes eps = (3 macheps)^(1/3) and looser bounds."""
        assert Tolerance.for_precision(2.0**-52) == Tolerance()
        f32 = Tolerance.for_precision(2.0**-23)
        assert f32.eps == pytest.approx((3 * 2.0**-23) ** (1 / 3))
        assert Tolerance().atol < f32.atol < 0.01
        assert Tolerance().rtol < f32.rtol < 0.1

    def test_tolerances_are_keyword_only(self) -> None:
        """Tolerance(1e-5, ...) is a TypeError: which number is which must be said."""
        with pytest.raises(TypeError):
            Tolerance(1e-5, 1e-4, 1e-3)  # type: ignore[misc]


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
        ],
    )
    def test_bad_tolerance(self, kwargs: dict[str, float], message: str) -> None:
        """Nonsense step sizes and tolerances are a ValueError, never a pass."""
        with pytest.raises(ValueError, match=message):
            Tolerance(**kwargs)

    def test_zero_tolerances_are_allowed(self) -> None:
        """atol = rtol = 0 is a legal (strict) setting, not an error."""
        with pytest.raises(GradcheckError):
            gradcheck(lambda x: x.tanh(), [Value(1.0)], tol=Tolerance(atol=0.0, rtol=0.0))

    def test_non_value_input(self) -> None:
        """A float among the inputs names its index and type."""
        with pytest.raises(TypeError, match=r"input 1 must be a Value.*got float 2\.0"):
            gradcheck(lambda x, y: x * y, [Value(1.0), 2.0])

    def test_a_node_that_names_its_gradient_or_pass_otherwise_is_told_what_it_lacks(
        self,
    ) -> None:
        """`.gradient`, `updateGradients()`: "must be a Value ..., got Value" said nothing of
        what was wrong; now what it lacks, and where such names are taken."""

        class Node:
            def __init__(self, data: float) -> None:
                self.data, self.gradient = data, 0.0

            def updateGradients(self) -> None:
                self.gradient = 1.0

        with pytest.raises(TypeError) as raised:
            gradcheck(lambda x: x, [Node(1.0)])
        said = str(raised.value)
        assert said.startswith("input 0 (Node) has no .grad (it keeps a number in .gradient")
        assert "has no backward()" in said and "Value" not in said
        assert "checks an engine that names them otherwise: .gradient, backwards()" in said

    @pytest.mark.parametrize("inputs", ["ab", 3, None])
    def test_inputs_not_a_sequence(self, inputs: Any) -> None:
        """Inputs must be a list or tuple."""
        with pytest.raises(TypeError, match="inputs must be a list or tuple"):
            gradcheck(lambda x: x, inputs)

    def test_no_inputs(self) -> None:
        """An empty input list is an error, not a vacuous pass."""
        with pytest.raises(ValueError, match="at least one input"):
            gradcheck(lambda: Value(1.0), [])

    def test_same_input_twice(self) -> None:
        """The same Value twice is rejected: perturbing one input would move the other."""
        a = Value(2.0)
        with pytest.raises(ValueError, match="inputs 0 and 1 are the same Value"):
            gradcheck(lambda x, y: x * y, [a, a])

    def test_f_returns_float(self) -> None:
        """f must return a Value; a float is a TypeError naming what came back."""
        with pytest.raises(TypeError, match=r"f must return a Value, got float 2\.0"):
            gradcheck(lambda x: x.data * 2.0, [Value(1.0)])

    def test_nan_gradient(self) -> None:
        """A NaN gradient is a failure that says NaN."""
        with pytest.raises(GradcheckError, match="analytic gradient is nan") as info:
            gradcheck(lambda x: _node(x.data, (x,), (math.nan,)), [Value(1.0)])
        assert (info.value.check, info.value.index) == ("finite", 0)

    def test_complex_gradient(self) -> None:
        """A gradient that is not a real number is a failure, not a crash."""
        with pytest.raises(GradcheckError, match="not a real number"):
            gradcheck(lambda x: _node(x.data, (x,), (1j,)), [Value(1.0)])

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

    def test_per_input_pass_count(self) -> None:
        """Per-input mode: 1 analytic pass, 2 per input, 2 for the graph shared by the
        accumulation, reentrant and unused-input checks (its second graph too), 1 each for
        upstream and zero upstream."""
        f = Counting(lambda a, b, c: a * b + c)
        gradcheck(f, [Value(1.0), Value(2.0), Value(3.0)])
        assert f.calls == 1 + 2 * 3 + 2 + 2


class Counting:
    """Wrap f and count its calls: each call is one forward pass."""

    def __init__(self, f: Any) -> None:
        self.f = f
        self.calls = 0

    def __call__(self, *xs: Any) -> Any:
        self.calls += 1
        return self.f(*xs)


def _dot(weights: list[float], grads: list[float]) -> Any:
    """f(x) = sum(w_i x_i) in one node, whose backward gives grads[i] (right when == weights)."""

    def f(*xs: Value) -> Value:
        return _node(math.fsum(w * x.data for w, x in zip(weights, xs, strict=True)), xs, grads)

    return f


class TestFastMode:
    def test_cost_is_constant(self) -> None:
        """A correct function: 1 analytic pass, 4 per probe (steps h and 2h), 4 for the
        property, reentrant and unused-input checks."""
        f = Counting(lambda *xs: sum(xs[1:], xs[0]))
        assert gradcheck(f, [Value(0.1 * i) for i in range(30)], fast=True)
        assert f.calls == 1 + 2 * 4 + 4

    def test_no_error_at_all_never_falls_back(self) -> None:
        """f = 0 everywhere: error and bound are both exactly 0, so the screen stays quiet
        (`>`, not `>=`) and the cost stays constant."""
        f = Counting(lambda *xs: sum(xs[1:], xs[0]) * 0.0)
        assert gradcheck(f, [Value(0.1 * i) for i in range(30)], fast=True)
        assert f.calls == 1 + 2 * 4 + 4

    def test_cancelling_directions(self) -> None:
        """pytorch issue 59615: an error (-e, +e, 0) vanishes along sign vectors with u1 = u2.

        The gradient is (-7.78, +7.78, 0) and the engine returns 0 for both:
        Gaussian directions see it (a sign vector does with probability 1/2).
        """
        f = _dot([-7.78, 7.78, 0.0], [0.0, 0.0, 0.0])
        with pytest.raises(GradcheckError) as info:
            gradcheck(f, [Value(0.3), Value(-1.1), Value(0.7)], fast=True)
        assert info.value.index == 0

    @pytest.mark.parametrize("seed", range(4))
    def test_one_small_error_among_many_inputs(self, seed: int) -> None:
        """One gradient 1% off among 500: caught as per-input mode would catch it.

        A ±1 probe compares sums of 500 terms with a tolerance that grows with
        them, and missed this in 48 of 200 trials; the screen flags any
        disagreement beyond the difference's own error, then per-input decides.
        """
        rng = random.Random(seed)
        weights = [rng.uniform(-1.0, 1.0) for _ in range(500)]
        grads = list(weights)
        bad = rng.randrange(500)
        grads[bad] *= 1.01 if abs(weights[bad]) > 0.2 else 1.5
        xs = [Value(rng.uniform(-1.0, 1.0)) for _ in range(500)]
        with pytest.raises(GradcheckError) as info:
            gradcheck(_dot(weights, grads), xs, fast=True)
        assert info.value.index == bad

    def test_error_within_tolerance_passes(self) -> None:
        """A tiny disagreement trips the screen, and per-input mode accepts it."""
        f = _dot([1.0, 2.0], [1.0, 2.0 + 1e-6])
        assert gradcheck(f, [Value(0.5), Value(-0.5)], fast=True)

    def test_correct_many_input_function(self) -> None:
        """Fast mode accepts a correct many-input function built from engine ops."""
        xs = [Value(0.1 * i - 0.5) for i in range(12)]
        assert gradcheck(
            lambda *v: sum((a * b for a, b in itertools.pairwise(v)), Value(0.0)), xs, fast=True
        )


class TestCoarseEngines:
    def test_steps_are_those_the_engine_stores(self) -> None:
        """An engine that rounds its data: the difference divides by the step it really took."""

        class Rounding(Value):
            """Stores data rounded to 1e-6, like a coarse float type."""

            __slots__ = ()

            def __init__(self, data: float, *args: Any) -> None:
                super().__init__(round(float(data), 6), *args)

        x = Rounding(0.3)
        assert gradcheck(lambda v: v * v * v, [x], tol=Tolerance(eps=1.5e-4))
        assert x.data == 0.3


class TestOurConventions:
    """minigrad's own choices where any subgradient would do: pinned, so a change is seen."""

    def test_relu_gradient_at_zero_is_zero(self) -> None:
        """relu'(0) = 0, as PyTorch, JAX and micrograd."""
        for x in (0.0, -0.0):
            a = Value(x)
            a.relu().backward()
            assert a.grad == 0.0

    def test_relu_of_negative_zero_is_positive_zero(self) -> None:
        """relu(-0.0) is +0.0 (max(x, 0.0) would keep the sign)."""
        out = Value(-0.0).relu()
        assert out.data == 0.0 and math.copysign(1.0, out.data) == 1.0

    def test_relu_passes_gradient_for_positive_inputs(self) -> None:
        """relu' is 1 just above the kink, 0 just below."""
        up, down = Value(1e-300), Value(-1e-300)
        up.relu().backward()
        down.relu().backward()
        assert (up.grad, down.grad) == (1.0, 0.0)


class NoneGrad:
    """PyTorch's convention for "no gradient": `.grad` is None until one reaches the node.
    With `cut`, `*` gives its right operand nothing (its `.grad` stays None)."""

    cut = False

    def __init__(self, data: float, children: tuple[NoneGrad, ...] = ()) -> None:
        self.data = data
        self.grad: float | None = None
        self._prev = children
        self._backward: Any = lambda: None

    def add_grad(self, g: float) -> None:
        self.grad = g if self.grad is None else self.grad + g

    def __mul__(self, other: NoneGrad | float) -> NoneGrad:
        other = other if isinstance(other, NoneGrad) else type(self)(other)
        out = type(self)(self.data * other.data, (self, other))

        def _backward() -> None:
            assert out.grad is not None
            self.add_grad(other.data * out.grad)
            if not self.cut:
                other.add_grad(self.data * out.grad)

        out._backward = _backward
        return out

    def backward(self) -> None:
        order: list[NoneGrad] = []
        seen: set[int] = set()

        def visit(node: NoneGrad) -> None:
            if id(node) not in seen:
                seen.add(id(node))
                for child in node._prev:
                    visit(child)
                order.append(node)

        visit(self)
        self.grad = 1.0
        for node in reversed(order):
            node._backward()


class CutNoneGrad(NoneGrad):
    cut = True


class TestNoneForNoGradient:
    """An engine that keeps `.grad` None where no gradient reached a node (PyTorch's way):
    None reads as 0, so an input f does not use passes, and one it does use that gets no
    gradient fails, as 0, with its None said."""

    def test_an_input_f_does_not_use_may_keep_none(self) -> None:
        x, y = NoneGrad(1.5), NoneGrad(-2.0)
        assert gradcheck(lambda a, b: a * 2.0, [x, y])
        assert gradcheck(lambda a, b: a * 2.0, [x, y], fast=True)

    def test_an_input_f_uses_that_gets_no_gradient_fails_and_is_named(self) -> None:
        with pytest.raises(GradcheckError) as info:
            gradcheck(lambda a, b: a * b, [CutNoneGrad(1.5), CutNoneGrad(-2.0)])
        err = info.value
        assert (err.check, err.index, err.actual) == ("gradient", 1, 0.0)
        assert err.expected == pytest.approx(1.5)
        assert "input 1's .grad is None after backward(), read as 0" in str(err)

    def test_a_node_without_a_grad_attribute_is_still_no_number(self) -> None:
        class Bare:
            pass

        with pytest.raises(ValueError, match="grad is NoneType None, not a real number"):
            NodeAccess(Bare, None).grad(Bare())


def _recording(f: Any) -> tuple[Any, list[tuple[float, ...]]]:
    """f, and the list of input values it is called at (one tuple per forward pass)."""
    calls: list[tuple[float, ...]] = []

    def g(*xs: Value) -> Value:
        calls.append(tuple(x.data for x in xs))
        return f(*xs)

    return g, calls


class TestExactBehaviour:
    """What gradcheck does, pinned number by number, so that any change to it is seen."""

    def test_per_input_evaluation_points(self) -> None:
        """f at x, then x +- eps one input at a time, then x and -1.5 x for the graph shared by
        the accumulation, reentrant and unused-input checks, then x for upstream and x for
        zero upstream."""
        f, calls = _recording(lambda a, b: a * b)
        eps = 1e-3
        gradcheck(f, [Value(0.5), Value(-2.0)], tol=Tolerance(eps=eps))
        assert calls == [
            (0.5, -2.0),
            (0.5 + eps, -2.0),
            (0.5 - eps, -2.0),
            (0.5, -2.0 + eps),
            (0.5, -2.0 - eps),
            (0.5, -2.0),
            (-0.75, 3.0),
            (0.5, -2.0),
            (0.5, -2.0),
        ]

    def test_fast_evaluation_points(self) -> None:
        """Fast mode: x +- h u and x +- 2h u for two Gaussian u drawn from Random(0)."""
        f, calls = _recording(lambda a, b: a * b)
        h = 1e-3
        gradcheck(f, [Value(0.5), Value(-2.0)], tol=Tolerance(eps=h), fast=True)
        rng = random.Random(0)
        expected = [(0.5, -2.0)]
        for _ in range(2):
            u = (rng.gauss(), rng.gauss())
            for step in (h, -h, 2 * h, -2 * h):
                expected.append((0.5 + step * u[0], -2.0 + step * u[1]))
        expected += [(0.5, -2.0), (-0.75, 3.0)]  # the shared graph, then the second graph
        expected += [(0.5, -2.0)] * 2  # upstream, zero upstream
        assert calls == expected

    def test_seeds_and_weights_come_from_random_0(self) -> None:
        """Pre-seeds in [0.5, 1.5] and the weight in [1.5, 3], signed, drawn in that order."""
        rng = random.Random(0)
        seed = rng.choice((-1.0, 1.0)) * rng.uniform(0.5, 1.5)
        with pytest.raises(GradcheckError) as info:
            gradcheck(_overwriting_mul, [Value(1.5), Value(-2.0)])
        assert info.value.reason == (
            f"input pre-seeded with .grad = {seed:.6g} must end with seed + gradient; "
            "a backward step overwrites (=) instead of accumulating (+=)"
        )
        assert (info.value.index, info.value.expected) == (0, seed - 2.0)
        rng = random.Random(0)
        for _ in range(2):
            rng.choice((-1.0, 1.0)), rng.uniform(0.5, 1.5)
        weight = rng.choice((-1.0, 1.0)) * rng.uniform(1.5, 3.0)
        with pytest.raises(GradcheckError) as info:
            gradcheck(_unscaled_mul, [Value(1.5), Value(-2.0)])
        assert info.value.reason == (
            f"gradient of w * f with w = {weight:.6g} must be w * gradient; "
            "a backward step drops its upstream factor out.grad"
        )
        assert info.value.expected == pytest.approx(weight * -2.0)

    def test_gradient_reason(self) -> None:
        """The per-input check says which number is which."""
        with pytest.raises(GradcheckError) as info:
            gradcheck(lambda x, y: x - y, [BadSub(1.5), BadSub(-2.0)])
        assert info.value.reason == (
            "analytic gradient (actual) differs from the central difference (expected)"
        )

    def test_message_layout(self) -> None:
        """The message: a headline, then index, values, differences and tolerance, one per line."""
        err = GradcheckError(
            "gradient", "why", case="c", index=1, expected=-4.0, actual=2.0, tolerance=0.5
        )
        assert str(err) == (
            "gradcheck failed for case 'c': gradient check: why\n"
            "  input index: 1\n"
            "  expected: -4.0\n"
            "  actual:   2.0\n"
            "  abs diff: 6   rel diff: 1.5   tolerance: 0.5"
        )
        assert (err.abs_diff, err.rel_diff) == (6.0, 1.5)
        bare = GradcheckError("finite", "no values")
        assert str(bare) == "gradcheck failed: finite check: no values"
        one_side = GradcheckError("finite", "x", actual=math.nan, expected=1.0)
        assert "  expected: 1.0" in str(one_side) and "  actual:   nan" in str(one_side)
        assert GradcheckError("x", "y", expected=0.0, actual=1.0).rel_diff == math.inf

    def test_accepts_needs_both_finite(self) -> None:
        """A finite expected value never accepts an infinite actual one."""
        tol = Tolerance(atol=1e300)
        assert not tol.accepts(1.0, math.inf)
        assert not tol.accepts(math.inf, 1.0)
        assert tol.accepts(1.0, 2.0)

    def test_float32_numbers(self) -> None:
        """The float32 tolerances, exactly."""
        m = 2.0**-23
        tol = Tolerance.for_precision(m)
        assert (tol.eps, tol.atol, tol.rtol) == (
            (3 * m) ** (1 / 3),
            max(1e-4, 40 * m ** (2 / 3)),
            max(1e-3, 400 * m ** (2 / 3)),
        )

    def test_step_that_rounds_away(self) -> None:
        """x + eps that the engine rounds back to x is an error that says so, not 1/0."""
        with pytest.raises(GradcheckError) as info:
            gradcheck(lambda x: x * 2.0, [Value(1e12)])
        assert (info.value.check, info.value.index) == ("step", 0)
        assert info.value.reason == (
            "input 0 = 1000000000000.0 plus the step 1e-05 rounds back to 1000000000000.0 "
            "in the engine's numbers: use a larger eps"
        )

    def test_failure_fields(self) -> None:
        """NaN gradients, complex gradients and infinite values name their check and index."""
        with pytest.raises(GradcheckError) as info:
            gradcheck(lambda x: _node(x.data, (x,), (math.inf,)), [Value(1.0)])
        assert info.value.actual == math.inf
        with pytest.raises(GradcheckError) as info:
            gradcheck(lambda x: _node(x.data, (x,), (1j,)), [Value(1.0)])
        assert (info.value.check, info.value.index) == ("real number", 0)
        assert info.value.reason == "grad is 1j, not a real number"
        with pytest.raises(GradcheckError) as info:
            gradcheck(lambda x: x * math.inf, [Value(1.0)])
        assert info.value.check == "finite"
        assert info.value.reason == "f returned a non-finite value (inf)"

    def test_input_messages(self) -> None:
        """Bad inputs: each message, whole."""
        a = Value(2.0)
        with pytest.raises(ValueError) as value_error:
            gradcheck(lambda x, y: x * y, [a, a])
        assert str(value_error.value) == (
            "inputs 0 and 1 are the same Value: each input must be its own leaf (perturbing one "
            "would move the other); to check f(a, a), pass `lambda a: f(a, a)` with [a]"
        )
        with pytest.raises(ValueError) as value_error:
            gradcheck(lambda: a, [])
        assert str(value_error.value) == "gradcheck needs at least one input"
        with pytest.raises(TypeError) as type_error:
            gradcheck(lambda x: x, "x" * 200)
        message = str(type_error.value)
        assert message.startswith("inputs must be a list or tuple of Values, got str 'xxx")
        assert len(message.split("got ", 1)[1]) == 80


def test_fast_screen_threshold() -> None:
    """Fast mode hands a disagreement just above 64 macheps |f| / h to per-input mode.

    f = x + y is computed exactly enough that only the planted error delta in
    y's gradient shows: 1.2 times the threshold along the probe that sees it
    most is flagged (the per-input pass then accepts it, far below tolerance),
    0.8 times is not.
    """
    h = 1e-5
    threshold = 64 * 2.0**-52 * 2.0 / h
    rng = random.Random(0)
    us = [[rng.gauss(), rng.gauss()] for _ in range(2)]
    largest = max(abs(u[1]) for u in us)
    for factor, fell_back in ((1.2, True), (0.8, False)):
        delta = factor * threshold / largest
        f, calls = _recording(lambda x, y, d=delta: _node(x.data + y.data, (x, y), (1.0, 1.0 + d)))
        assert gradcheck(f, [Value(1.0), Value(1.0)], fast=True)
        per_input = [c for c in calls if (c[0] == 1.0) != (c[1] == 1.0)]  # one input moved
        assert len(per_input) == (4 if fell_back else 0)
