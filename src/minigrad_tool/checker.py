"""The tool's gradient checker, public as ``from minigrad_tool import gradcheck``.

Analytic gradients against central finite differences, for any engine.

Why central differences: by Taylor,

    (f(x + h) - f(x - h)) / 2h = f'(x) + h**2 / 6 * f'''(x) + O(h**4)

so the truncation error is O(h**2), against O(h) for a one-sided difference.

Why ``eps = 1e-5``: each value of f carries a rounding error of about
``macheps * |f|`` (macheps = 2.2e-16 in float64), and dividing the difference
by 2h blows it up to ``macheps * |f| / h``.  The total error
``h**2 |f'''| / 6 + macheps |f| / h`` is smallest near ``h = (3 macheps)**(1/3)``,
about 1e-5, where both terms are near 1e-10, far below ``atol``.  An engine that
computes in float32 (macheps 1.2e-7) has its best step near 7e-3 and errors
near 1e-5: :meth:`Tolerance.for_precision` scales all three numbers with it.

Five more checks run on every call, because a plain comparison is blind to them:

* *accumulation*: an input whose ``.grad`` is pre-seeded must end with
  seed + gradient.  An op that writes ``=`` instead of ``+=`` fails it.
* *upstream scaling*: the gradient of ``w * f`` must be ``w`` times the gradient
  of ``f``.  An op that drops its ``* out.grad`` factor passes every test whose
  upstream gradient is 1, and fails this one.
* *zero upstream*: the gradient of ``0 * f`` must be exactly 0.  A step that adds
  a constant, however small, fails it (torch's gradcheck makes the same check).
* *reentrant*: a graph built before another forward (at a nearby point) must
  backpropagate the gradients it had alone.  A step that reads a value the op
  saved somewhere shared (the class, a reused ``Function``) reads the later
  forward's instead (torch checks that two backward passes agree).
* *unused input*: an input ``f`` does not use gets gradient 0 (or None, the
  engine's "no gradient"), not an error or a number left from elsewhere.

Accumulation, reentrant and unused input share one graph, screened first
(``_Checker.screen_graph_properties``): two forward passes where they take four
one by one.  Where the screen does not pass, they run one by one, in the order
above, with the same random draws, and the first that fails is the one reported:
what the screen decides is only that none of them needs to run.

Two modes: :func:`gradcheck` for scalar engines, input by input (or along random
directions with ``fast``); :func:`directional` for tensor engines, whose battery
(:mod:`minigrad_tool.tensor.cases`) compares the loss's derivative along random
directions with the vector-Jacobian product, as torch's fast gradcheck does.

``gradcheck`` works on any micrograd-style engine: inputs need ``.data``,
``.grad`` and ``.backward()``; :mod:`minigrad_tool.adapter.nodes` knows the rest
(where nodes keep their children, what number type they store).  ``f`` must
rebuild its graph from the inputs on every call, as micrograd code does.
"""

from __future__ import annotations

import contextlib
import math
import random
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from minigrad_tool.adapter.nodes import (
    NodeAccess,
    NotANumber,
    backward_resets,
    cut_from_graph,
    grad_name,
    is_node,
)

__all__ = [
    "REENTRANT_SHARE",
    "Directional",
    "GradcheckError",
    "Tolerance",
    "directional",
    "gradcheck",
    "second_points",
]


@dataclass(frozen=True, kw_only=True)
class Tolerance:
    """Step size and tolerances: ``|expected - actual| <= atol + rtol * |expected|``."""

    eps: float = 1e-5
    atol: float = 1e-4
    rtol: float = 1e-3

    def __post_init__(self) -> None:
        if not (math.isfinite(self.eps) and self.eps > 0.0):
            raise ValueError(f"eps must be a finite number > 0, got {self.eps!r}")
        for label, tol in (("atol", self.atol), ("rtol", self.rtol)):
            if not (math.isfinite(tol) and tol >= 0.0):
                raise ValueError(f"{label} must be a finite number >= 0, got {tol!r}")

    @classmethod
    def for_precision(cls, macheps: float) -> Tolerance:
        """The defaults for float64; for a coarser engine, eps = (3 macheps)^(1/3).

        At that eps both error terms are about macheps^(2/3) (2.4e-5 in float32),
        so the tolerances grow with it, with room for the rounding of a few ops.
        """
        if macheps <= 2.0**-52:
            return cls()
        scale = macheps ** (2.0 / 3.0)
        return cls(
            eps=(3.0 * macheps) ** (1.0 / 3.0),
            atol=max(1e-4, 40.0 * scale),
            rtol=max(1e-3, 400.0 * scale),
        )

    def allowed(self, expected: float) -> float:
        """The largest |expected - actual| accepted around `expected`."""
        return self.atol + self.rtol * abs(expected)

    def accepts(self, expected: float, actual: float) -> bool:
        """Within tolerance; NaN and infinities never are (inf would allow anything)."""
        finite = math.isfinite(expected) and math.isfinite(actual)
        return finite and abs(expected - actual) <= self.allowed(expected)

    def describe(self) -> str:
        return f"eps {self.eps:.3g}, atol {self.atol:.3g}, rtol {self.rtol:.3g}"


class GradcheckError(AssertionError):
    """A gradient check failed.  The fields say which check, where, and by how much."""

    def __init__(
        self,
        check: str,
        reason: str,
        *,
        case: str | None = None,
        index: int | None = None,
        expected: float = math.nan,
        actual: float = math.nan,
        tolerance: float = math.nan,
        point: tuple[float, ...] | None = None,
        why: str = "",
    ) -> None:
        self.check = check
        self.point = point  # the input it failed at, where the caller knows it
        self.why = why or reason  # the check's own words, without where it was
        self.reason = reason
        self.case = case
        self.index = index
        self.expected = expected
        self.actual = actual
        self.abs_diff = abs(expected - actual)
        self.rel_diff = self.abs_diff / abs(expected) if expected else math.inf
        self.tolerance = tolerance
        super().__init__(self._message())

    def _message(self) -> str:
        where = f" for case {self.case!r}" if self.case else ""
        lines = [f"gradcheck failed{where}: {self.check} check: {self.reason}"]
        if self.index is not None:
            lines.append(f"  input index: {self.index}")
        if not (math.isnan(self.expected) and math.isnan(self.actual)):
            lines += [
                f"  expected: {self.expected!r}",
                f"  actual:   {self.actual!r}",
                f"  abs diff: {self.abs_diff:.6g}   rel diff: {self.rel_diff:.6g}"
                f"   tolerance: {self.tolerance:.6g}",
            ]
        return "\n".join(lines)


def _describe(x: object) -> str:
    return f"{type(x).__name__} {x!r}"[:80]


# Random draws are kept O(1) and away from 0 and 1: a seed of 0 or a weight of 1
# would make the property checks blind.
_SIGNS = (-1.0, 1.0)
_SEED_RANGE = (0.5, 1.5)
_WEIGHT_RANGE = (1.5, 3.0)
# The reentrant check: the second graph is built at -1.5 x (the other sign, so a value read from
# it shows across a kink, and another magnitude, so it shows for an even derivative such as
# tanh's), else at x + 0.5 (1 + |x|), else x - 0.5 (1 + |x|), whichever f accepts first.  The
# second graph is only a disturbance: a correct engine's first gradients never depend on it.
_SECOND_FLIP = -1.5
_SECOND_SHIFT = 0.5
# ... and its tolerance, a thousandth of the gradient check's (the tensor battery's too): the same
# graph at the same point gives the same gradients up to the order of a sum (children in a set).
REENTRANT_SHARE = 1e-3
_UNUSED_VALUE = 0.7  # the unused input's value: any number would do
# Fast mode: Gaussian directions.  A sign vector makes errors cancel
# structurally (pytorch issue 59615: an error (+e, -e) is invisible along any
# direction whose first two signs agree); a Gaussian one only with probability 0.
PROBES = 2
# Fast mode's screening threshold, in units of the rounding error macheps |f| / h.
_ROUNDING_UNITS = 64.0


def signed_uniform(rng: random.Random, low: float, high: float) -> float:
    """A draw with |v| uniform in [low, high] and a random sign."""
    return rng.choice(_SIGNS) * rng.uniform(low, high)


class _Checker:
    """One gradcheck run: f, its inputs, the tolerance, and the private check steps."""

    def __init__(
        self, f: Callable[..., Any], inputs: Sequence[Any], tol: Tolerance, case: str | None
    ) -> None:
        self.f = f
        self.inputs = inputs
        self.tol = tol
        self.case = case
        self.access = NodeAccess.infer(inputs[0])
        # The inputs whose .grad was None after the last backward(): read as 0, and said so
        self.unreached: frozenset[int] = frozenset()

    @property
    def _grad(self) -> str:
        """`.grad`, or the engine's own name for it (`.gradient`: adapter.nodes.alias_grad)."""
        return f".{grad_name(self.access.cls)}"

    def _fail(self, check: str, reason: str, **fields: Any) -> GradcheckError:
        return GradcheckError(check, reason, case=self.case, **fields)

    def _read(self, read: Callable[[Any], float], node: Any, index: int | None) -> float:
        try:
            return read(node)
        except NotANumber as err:
            raise self._fail("real number", str(err), index=index) from None

    def _forward(self) -> Any:
        out = self.f(*self.inputs)
        if not is_node(out):
            raise TypeError(f"f must return a Value, got {_describe(out)}")
        value = self._read(self.access.value, out, None)
        if not math.isfinite(value):
            raise self._fail("finite", f"f returned a non-finite value ({value!r})")
        return out

    def _backward_from(self, out: Any, seeds: Sequence[float] = ()) -> list[float]:
        """Zero every gradient in out's graph (closed-over values too), seed, backprop."""
        for node in (*self.access.nodes_below(out), *self.inputs):
            self.access.zero_grad(node)
        for i, seed in enumerate(seeds):
            self.access.set_grad(self.inputs[i], seed)
        out.backward()
        self.unreached = frozenset(
            i for i, x in enumerate(self.inputs) if getattr(x, "grad", 0.0) is None
        )
        return [self._read(self.access.grad, x, i) for i, x in enumerate(self.inputs)]

    def analytic(self) -> list[float]:
        grads = self._backward_from(self._forward())
        for i, g in enumerate(grads):
            if not math.isfinite(g):
                raise self._fail("finite", f"analytic gradient is {g!r}", index=i, actual=g)
        return grads

    def _evaluate(self, steps: Mapping[int, float]) -> tuple[float, dict[int, float]]:
        """f with input i moved by steps[i], and the steps the engine really took.

        An engine stores numbers in its own type and may round x + step; the
        difference is divided by the step it took.  A step that rounds to
        nothing is an error, not a division by zero.  Every `.data` is put
        back afterwards, whatever happens.
        """
        originals = {i: self.access.value(self.inputs[i]) for i in steps}
        taken: dict[int, float] = {}
        try:
            for i, step in steps.items():
                taken[i] = self.access.set_value(self.inputs[i], originals[i] + step) - originals[i]
                if not taken[i]:
                    raise self._fail(
                        "step",
                        f"input {i} = {originals[i]!r} plus the step {step!r} rounds back to "
                        f"{originals[i]!r} in the engine's numbers: use a larger eps",
                        index=i,
                    )
            return self._read(self.access.value, self._forward(), None), taken
        finally:
            for i, x in originals.items():
                self.access.set_value(self.inputs[i], x)

    def _difference(
        self, direction: Mapping[int, float], h: float
    ) -> tuple[float, dict[int, float], float]:
        """f(x + h u) - f(x - h u), the total step taken per input, and max |f| seen."""
        plus, up = self._evaluate({i: h * u for i, u in direction.items()})
        minus, down = self._evaluate({i: -h * u for i, u in direction.items()})
        return plus - minus, {i: up[i] - down[i] for i in up}, max(abs(plus), abs(minus))

    def _compare(
        self, check: str, reason: str, index: int | None, expected: float, actual: float
    ) -> None:
        """Fail unless actual is within tolerance of expected (NaN and inf never are)."""
        if not self.tol.accepts(expected, actual):
            if index in self.unreached:
                reason += f"; input {index}'s {self._grad} is None after backward(), read as 0: no "
                reason += "gradient reached it (is the graph cut between it and the output?)"
            raise self._fail(
                check,
                reason,
                index=index,
                expected=expected,
                actual=actual,
                tolerance=self.tol.allowed(expected),
            )

    def check_each_input(self, analytic: Sequence[float]) -> None:
        """Per-input mode: one central difference per input, 2n forward passes."""
        for i, actual in enumerate(analytic):
            delta, taken, _ = self._difference({i: 1.0}, self.tol.eps)
            expected = delta / taken[i]
            reason = "analytic gradient (actual) differs from the central difference (expected)"
            if actual == 0 and not self.tol.accepts(expected, actual):
                reason += self._cut_off()
            self._compare("gradient", reason, i, expected, actual)

    def _cut_off(self) -> str:
        """Why a gradient is 0 that should not be, where the graph says it (cut_from_graph)."""
        return cut_from_graph(self._forward(), self.access.children_attr, self.inputs)

    def check_directions(self, analytic: Sequence[float], rng: random.Random) -> None:
        """Fast mode: screen grad . u against the derivative along Gaussian directions u.

        Costs 4 forward passes per probe whatever the number of inputs.  The
        screen is far tighter than the tolerance: it flags any disagreement
        larger than the numerical error of the difference itself, estimated
        from steps h and 2h (their difference measures the truncation error)
        plus the rounding error macheps |f| / h.  A flagged probe hands over to
        per-input mode, which gives the verdict at the user's tolerance and
        names the input.  So fast mode passes only what per-input mode would,
        unless every probe direction is nearly orthogonal to the error: for an
        error e, a Gaussian u has |e . u| below a threshold t with probability
        about 0.8 t / |e| per probe.
        """
        h = self.tol.eps
        macheps = self.access.macheps()
        for _ in range(PROBES):
            direction = {i: rng.gauss() for i in range(len(self.inputs))}
            near, size = self._error_along(direction, analytic, h)
            far, size2 = self._error_along(direction, analytic, 2 * h)
            # A right gradient leaves only the difference's own error, c h**2 + rounding:
            # c h**2 grows fourfold from h to 2h, so |far - near| = 3 |c| h**2 bounds it.
            # A wrong one adds e . u to both, which far - near cancels and near keeps.
            bound = abs(far - near) + _ROUNDING_UNITS * macheps * max(size, size2) / h
            if abs(near) > bound:  # strictly: a zero error within a zero bound is no error
                self.check_each_input(analytic)  # raises with the index, or accepts
                return

    def _error_along(
        self, direction: Mapping[int, float], analytic: Sequence[float], h: float
    ) -> tuple[float, float]:
        """(numerical - analytic) derivative along `direction` with step h, and max |f| seen.

        The analytic prediction uses the steps the engine really took, so the
        rounding of the inputs to its number type cancels out.
        """
        delta, taken, size = self._difference(direction, h)
        predicted = math.fsum(analytic[i] * step for i, step in taken.items())
        return (delta - predicted) / (2 * h), size

    def check_accumulation(self, analytic: Sequence[float], rng: random.Random) -> None:
        """Pre-seeded gradients must end as seed + gradient: backward accumulates.  Where
        the engine owns `.grad` (nothing can be pre-seeded), a second graph backpropagated
        into the same inputs, without a reset, must leave twice the gradient instead; once
        again where backward() sets every gradient it reaches to zero first (its convention,
        measured: adapter.nodes.backward_resets)."""
        if not self.access.grad_writable:
            self._check_second_backward(analytic)
            return
        out = self._forward()
        seeds = [signed_uniform(rng, *_SEED_RANGE) for _ in self.inputs]
        grads = self._backward_from(out, seeds)
        for i, x in enumerate(self.inputs):
            if x is not out:  # backward() resets the root's own grad to 1 by design
                self._compare(
                    "accumulation",
                    f"input pre-seeded with {self._grad} = {seeds[i]:.6g} must end with seed + "
                    "gradient;"
                    " a backward step overwrites (=) instead of accumulating (+=)",
                    i,
                    seeds[i] + analytic[i],
                    grads[i],
                )

    def _check_second_backward(self, analytic: Sequence[float]) -> None:
        out = self._forward()
        self._backward_from(out)
        self._forward().backward()  # a fresh graph, into inputs that keep their gradients
        resets = backward_resets(self.access.cls)
        reason = (
            "a second backward into the same input must give its gradient once again: this "
            "engine's backward() sets every gradient it reaches to zero first (measured on "
            "the engine as it was given)"
            if resets
            else "a second backward into the same input must add its gradient again;"
            " a backward step overwrites (=) instead of accumulating (+=)"
        )
        for i, x in enumerate(self.inputs):
            if x is not out:
                self._compare(
                    "accumulation",
                    reason,
                    i,
                    (1 if resets else 2) * analytic[i],
                    self._read(self.access.grad, x, i),
                )

    def check_upstream(self, analytic: Sequence[float], rng: random.Random) -> None:
        """d(w * f)/dx must be w * df/dx for w != 1: every op scales by out.grad."""
        out, weight = self.access.scaled(self._forward(), signed_uniform(rng, *_WEIGHT_RANGE))
        grads = self._backward_from(out)
        for i, actual in enumerate(grads):
            self._compare(
                "upstream",
                f"gradient of w * f with w = {weight:.6g} must be w * gradient;"
                f" a backward step drops its upstream factor out{self._grad}",
                i,
                weight * analytic[i],
                actual,
            )

    def check_zero_upstream(self) -> None:
        """d(0 * f)/dx must be exactly 0: every correct step multiplies by its upstream
        gradient, so a zero one gives zero, with no tolerance.  A step that adds a constant
        (an epsilon "for stability", `local * out.grad or 1e-12`) fails it, however small the
        constant: torch's gradcheck makes the same check."""
        out, weight = self.access.scaled(self._forward(), 0.0)
        if weight != 0.0:  # the engine cannot multiply by a number: nothing to check
            return
        for i, actual in enumerate(self._backward_from(out)):
            if actual != 0.0:
                raise self._fail(
                    "zero upstream",
                    "the gradient of 0 * f must be exactly 0; a backward step adds something "
                    f"that does not scale with out{self._grad} (a constant)",
                    index=i,
                    expected=0.0,
                    actual=actual,
                    tolerance=0.0,
                )

    def check_reentrant(self, analytic: Sequence[float]) -> None:
        """A graph built at x, then another at another point (second_points), then backward
        on the first: its gradients must be those it had alone.  Where the second graph
        cannot be built (f leaves its domain at every one), there is nothing to compare."""
        first = self._forward()
        here = tuple(self.access.value(x) for x in self.inputs)
        if not any(self._second_graph(here, there) for there in second_points(here)):
            return
        grads = self._backward_from(first)
        for i, (expected, actual) in enumerate(zip(analytic, grads, strict=True)):
            allowed = REENTRANT_SHARE * self.tol.allowed(expected)
            if not abs(expected - actual) <= allowed:  # NaN never is
                raise self._fail(
                    "reentrant",
                    "the gradients of a graph change once another graph is built (at "
                    f"{_SECOND_FLIP:g} x or x +- {_SECOND_SHIFT:g} (1 + |x|)) before its "
                    "backward: a backward step reads"
                    " a value saved by a later forward (state shared between graphs)",
                    index=i,
                    expected=expected,
                    actual=actual,
                    tolerance=allowed,
                )

    def screen_graph_properties(self, analytic: Sequence[float], rng: random.Random) -> bool:
        """Accumulation, reentrant and unused input on one graph: an unused leaf, the graph at
        x, a second graph (second_points), then the first's backward with pre-seeded inputs.
        Each input must end with seed + gradient (accumulation), its gradient, the seed taken
        off, within the reentrant check's tolerance of the one it had alone, and the leaf with
        gradient 0 or None.  Two forward passes where the checks one by one take four.

        True when all three hold.  False (or an exception of the engine's) hands over to the
        checks one by one, with `rng` as it was, which say which fails and why, as they
        would alone: the screen only decides that none needs to run.  The root's own
        gradient is left out (backward() sets it to 1 by design)."""
        unused = self.access.leaf(_UNUSED_VALUE)
        first = self._forward()
        here = tuple(self.access.value(x) for x in self.inputs)
        second = any(self._second_graph(here, there) for there in second_points(here))
        seeds = [signed_uniform(rng, *_SEED_RANGE) for _ in self.inputs]
        grads = self._backward_from(first, seeds)
        for i, x in enumerate(self.inputs):
            if x is first:
                continue
            if not self.tol.accepts(seeds[i] + analytic[i], grads[i]):
                return False
            alone = grads[i] - seeds[i]  # the gradient the graph gives, the seed taken off
            allowed = REENTRANT_SHARE * self.tol.allowed(analytic[i])
            if second and not abs(analytic[i] - alone) <= allowed:  # NaN never is
                return False
        return unused.grad is None or self._read(self.access.grad, unused, None) == 0.0

    def _second_graph(self, here: Sequence[float], there: Sequence[float]) -> bool:
        """Build f's graph at `there` (inputs put back after): was it built?"""
        shift = {i: b - a for i, (a, b) in enumerate(zip(here, there, strict=True)) if b != a}
        try:
            self._evaluate(shift)
        except Exception:  # the second graph is only a disturbance: none, no check
            return False
        return True

    def check_unused_input(self) -> None:
        """An input f does not use (a fresh leaf) must end with gradient 0 after f's
        backward, or None where the engine keeps None for "no gradient"."""
        unused = self.access.leaf(_UNUSED_VALUE)
        self._backward_from(self._forward())
        grad = unused.grad
        if grad is None:
            return
        actual = self._read(self.access.grad, unused, None)
        if actual != 0.0:
            raise self._fail(
                "unused input",
                "an input f does not use must keep gradient 0 after backward(); it has a "
                f"gradient from elsewhere (a leaf's {self._grad} starts non-zero, or backward() "
                "reaches nodes outside the graph)",
                expected=0.0,
                actual=actual,
                tolerance=0.0,
            )


def second_points(point: Sequence[float]) -> list[tuple[float, ...]]:
    """Where a second graph is built before backward() on the first (the reentrant check and
    its probes), in the order tried: -1.5 x (unless x is all zeros), x + 0.5 (1 + |x|), then
    x - 0.5 (1 + |x|); rounded to 6 decimals, so that a written test spells them exactly."""
    shifted = [
        tuple(round(x + sign * _SECOND_SHIFT * (1.0 + abs(x)), 6) for x in point)
        for sign in (1.0, -1.0)
    ]
    flipped = [tuple(round(_SECOND_FLIP * x, 6) for x in point)] if any(point) else []
    return flipped + shifted


@dataclass(frozen=True)
class Directional:
    """The derivative of phi(t) at t = 0, by Richardson's extrapolation of two central
    differences (steps h and 2h), and how far an analytic value may be from it."""

    numeric: float
    allowed: float

    def accepts(self, analytic: float) -> bool:
        return abs(analytic - self.numeric) <= self.allowed  # NaN never is


def directional(
    phi: Callable[[float], float], h: float, *, scale: float, rtol: float, macheps: float
) -> Directional:
    """The tensor mode's check: the loss along a direction u, phi(t) = L(x + t u), against the
    vector-Jacobian product grad . u (whose absolute terms sum to `scale`).

    d1 = (phi(h) - phi(-h)) / 2h and d2 = (phi(2h) - phi(-2h)) / 4h both carry c h**2 of
    truncation (4 c h**2 for d2); (4 d1 - d2) / 3 cancels it, leaving O(h**4).  The error
    allowed is the relative tolerance, plus |d1 - d2| (which bounds the h**2 term that was
    cancelled, so the extrapolation's own error) plus the rounding of phi's values divided by
    h (`_ROUNDING_UNITS` ulps of the largest |phi|).
    """
    p = {k: phi(k * h) for k in (-2, -1, 1, 2)}
    d1 = (p[1] - p[-1]) / (2 * h)
    d2 = (p[2] - p[-2]) / (4 * h)
    numeric = (4 * d1 - d2) / 3
    rounding = _ROUNDING_UNITS * macheps * (1 + max(abs(v) for v in p.values())) / h
    return Directional(numeric, rtol * (scale + abs(numeric)) + rounding + abs(d1 - d2))


def _not_a_node(x: object) -> str:
    """Why `x` is no node this checker can use: what it lacks where it is something's node (a
    `.gradient` or an `updateGradients()` of its own), else what it is."""
    from minigrad_tool.adapter.classes import what_is_missing
    from minigrad_tool.adapter.nodes import find_data_attribute

    plain = isinstance(x, int | float | complex | str)
    holds_a_number = not plain and (hasattr(x, "data") or find_data_attribute(x) is not None)
    missing = what_is_missing(x) if holds_a_number else ""
    if not missing:  # no number in it either: something else than a node
        return f"must be a Value (with .data, .grad and .backward()), got {_describe(x)}"
    return (
        f"({type(x).__name__}) {missing}: gradcheck() reads .grad and calls .backward() in "
        "your own process, by those names only (`minigrad gradcheck --engine ...` checks an "
        "engine that names them otherwise: .gradient, backwards(), --backward NAME)"
    )


def _validated_inputs(inputs: Sequence[Any]) -> Sequence[Any]:
    if isinstance(inputs, str | bytes) or not isinstance(inputs, Sequence):
        raise TypeError(f"inputs must be a list or tuple of Values, got {_describe(inputs)}")
    if not inputs:
        raise ValueError("gradcheck needs at least one input")
    first: dict[int, int] = {}
    for i, x in enumerate(inputs):
        if not is_node(x):
            raise TypeError(f"input {i} {_not_a_node(x)}")
        if id(x) in first:
            raise ValueError(
                f"inputs {first[id(x)]} and {i} are the same Value: each input must be its own "
                "leaf (perturbing one would move the other); to check f(a, a), pass "
                "`lambda a: f(a, a)` with [a]"
            )
        first[id(x)] = i
    return inputs


DEFAULT_TOLERANCE = Tolerance()


def gradcheck(
    f: Callable[..., Any],
    inputs: Sequence[Any],
    *,
    tol: Tolerance = DEFAULT_TOLERANCE,
    fast: bool = False,
    name: str | None = None,
) -> bool:
    """Check the gradients of ``f(*inputs)`` w.r.t. each input; True or GradcheckError.

    ``tol`` holds the step and tolerances (:class:`Tolerance`).  ``fast=True``
    screens directional derivatives along a few Gaussian directions, with O(1)
    forward passes, and falls back to one difference per input when a direction
    disagrees (see ``_Checker.check_directions`` for what it can miss).
    ``name`` labels failures.  Random draws are seeded: runs are reproducible.
    """
    checker = _Checker(f, _validated_inputs(inputs), tol, name)
    rng = random.Random(0)
    with _during("plain backward"):
        analytic = checker.analytic()
    with _during("gradient"):
        if fast:
            checker.check_directions(analytic, rng)
        else:
            checker.check_each_input(analytic)
    if _screened(checker, analytic, rng):
        with _during("scaled (upstream)"):
            checker.check_upstream(analytic, rng)
        with _during("zero upstream"):
            checker.check_zero_upstream()
        return True
    with _during("pre-seeded (accumulation)"):
        checker.check_accumulation(analytic, rng)
    with _during("scaled (upstream)"):
        checker.check_upstream(analytic, rng)
    with _during("zero upstream"):
        checker.check_zero_upstream()
    with _during("reentrant"):
        checker.check_reentrant(analytic)
    with _during("unused input"):
        checker.check_unused_input()
    return True


def _screened(checker: _Checker, analytic: Sequence[float], rng: random.Random) -> bool:
    """Did the shared-graph screen pass accumulation, reentrant and unused input?  If not,
    `rng` is put back, so the checks one by one draw the seeds and weight they would have
    drawn alone (the same messages, the same numbers).  An engine whose `.grad` cannot be
    written is not screened: its accumulation check builds graphs of its own."""
    if not checker.access.grad_writable:
        return False
    state = rng.getstate()
    with contextlib.suppress(Exception):  # the checks one by one meet it, and say during which
        if checker.screen_graph_properties(analytic, rng):
            return True
    rng.setstate(state)
    return False


@contextlib.contextmanager
def _during(check: str) -> Iterator[None]:
    """An exception of the engine's says which check it came from (a note on it)."""
    try:
        yield
    except GradcheckError:
        raise
    except Exception as err:
        err.add_note(f"during the {check} check")
        raise
