"""Check analytic gradients against central finite differences.

Why central differences: by Taylor,

    (f(x + h) - f(x - h)) / 2h = f'(x) + h**2 / 6 * f'''(x) + O(h**4)

so the truncation error is O(h**2), against O(h) for a one-sided difference.

Why ``eps = 1e-5``: each value of f carries a rounding error of about
``macheps * |f|`` (macheps = 2.2e-16), and dividing the difference by 2h blows it
up to ``macheps * |f| / h``.  The total error ``h**2 |f'''| / 6 + macheps |f| / h``
is smallest near ``h = (3 macheps)**(1/3)``, about 1e-5, where both terms are near
1e-10, far below ``atol``.  At 1e-12 cancellation dominates (error ~1e-4); at 1e-2
truncation does (error ~1e-5 times f''').

Two more checks run by default, because a plain comparison is blind to them:

* *accumulation*: an input whose ``.grad`` is pre-seeded must end with
  seed + gradient.  An op that writes ``=`` instead of ``+=`` fails it.
* *upstream scaling*: the gradient of ``w * f`` must be ``w`` times the gradient
  of ``f``.  An op that drops its ``* out.grad`` factor passes every test whose
  upstream gradient is 1, and fails this one.

``gradcheck`` works on any micrograd-style engine: inputs need ``.data``,
``.grad`` and ``.backward()``; graph nodes list their children in ``._prev``.
``f`` must rebuild its graph from the inputs on every call, as micrograd code does.
"""

from __future__ import annotations

import math
import operator
import random
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

__all__ = ["GradcheckError", "Tolerance", "gradcheck", "graph_nodes", "signed_uniform"]


@dataclass(frozen=True)
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

    def allowed(self, expected: float) -> float:
        """The largest |expected - actual| accepted around `expected`."""
        return self.atol + self.rtol * abs(expected)

    def accepts(self, expected: float, actual: float) -> bool:
        """Within tolerance; NaN and infinities never are (inf would allow anything)."""
        finite = math.isfinite(expected) and math.isfinite(actual)
        return finite and abs(expected - actual) <= self.allowed(expected)


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
    ) -> None:
        self.check = check
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


def _is_value(x: object) -> bool:
    return hasattr(x, "data") and hasattr(x, "grad") and callable(getattr(x, "backward", None))


def _describe(x: object) -> str:
    return f"{type(x).__name__} {x!r}"[:80]


def graph_nodes(root: Any) -> Iterator[Any]:
    """Every node reachable from `root` through `._prev`, each once, without recursion."""
    seen: set[int] = set()
    stack = [root]
    while stack:
        node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        yield node
        stack.extend(getattr(node, "_prev", ()))


# Random draws are kept O(1) and away from 0 and 1: a seed of 0 or a weight of 1
# would make the property checks blind.
_SIGNS = (-1.0, 1.0)
_SEED_RANGE = (0.5, 1.5)
_WEIGHT_RANGE = (1.5, 3.0)


def signed_uniform(rng: random.Random, low: float, high: float) -> float:
    """A draw with |v| uniform in [low, high] and a random sign."""
    return rng.choice(_SIGNS) * rng.uniform(low, high)


class _Checker:
    """One gradcheck run: f, its inputs, the tolerance, and the private check steps."""

    def __init__(
        self, f: Callable[..., Any], inputs: Sequence[Any], tol: Tolerance, case: str | None
    ):
        self.f = f
        self.inputs = inputs
        self.tol = tol
        self.case = case

    def _fail(self, check: str, reason: str, **fields: Any) -> GradcheckError:
        return GradcheckError(check, reason, case=self.case, **fields)

    def _forward(self) -> Any:
        out = self.f(*self.inputs)
        if not _is_value(out):
            raise TypeError(f"f must return a Value, got {_describe(out)}")
        if not math.isfinite(out.data):
            raise self._fail("finite", f"f returned a non-finite value ({out.data!r})")
        return out

    def _backward_from(self, out: Any, seeds: Sequence[float] = ()) -> list[float]:
        """Zero every gradient in out's graph (closed-over values too), seed, backprop."""
        for node in (*graph_nodes(out), *self.inputs):  # inputs f ignores are not in the graph
            node.grad = 0.0
        for i, seed in enumerate(seeds):
            self.inputs[i].grad = seed
        out.backward()
        return [float(x.grad) for x in self.inputs]

    def analytic(self) -> list[float]:
        grads = self._backward_from(self._forward())
        for i, g in enumerate(grads):
            if not math.isfinite(g):
                raise self._fail("finite", f"analytic gradient is {g!r}", index=i, actual=g)
        return grads

    def _shifted(self, steps: Sequence[float]) -> float:
        """f at inputs + steps, restoring every `.data` afterwards whatever happens."""
        originals = [x.data for x in self.inputs]
        try:
            for i, x in enumerate(self.inputs):
                x.data = originals[i] + steps[i]
            return float(self._forward().data)
        finally:
            for i, x in enumerate(self.inputs):
                x.data = originals[i]

    def _central_difference(self, direction: Sequence[float]) -> float:
        """(f(x + eps u) - f(x - eps u)) / 2 eps: the derivative of f along u."""
        eps = self.tol.eps
        plus = self._shifted([eps * u for u in direction])
        minus = self._shifted([-eps * u for u in direction])
        return (plus - minus) / (2.0 * eps)

    def _compare(
        self, check: str, reason: str, index: int | None, expected: float, actual: float
    ) -> None:
        """Fail unless actual is within tolerance of expected (NaN and inf never are)."""
        if not self.tol.accepts(expected, actual):
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
            unit = [1.0 if j == i else 0.0 for j in range(len(self.inputs))]
            expected = self._central_difference(unit)
            self._compare(
                "gradient",
                "analytic gradient (actual) differs from the central difference (expected)",
                i,
                expected,
                actual,
            )

    def check_directions(self, analytic: Sequence[float], probes: int, rng: random.Random) -> None:
        """Fast mode: compare grad . u with the derivative along u for a few random u.

        Costs 2 * probes forward passes whatever the number of inputs.  One probe
        can miss bugs whose errors cancel along it, so several random sign
        vectors are used; a failure falls back to per-input mode to name the index.
        """
        for probe in range(probes):
            direction = [rng.choice(_SIGNS) for _ in self.inputs]
            expected = self._central_difference(direction)
            actual = math.fsum(map(operator.mul, analytic, direction))
            if not self.tol.accepts(expected, actual):
                self.check_each_input(analytic)
                self._compare(
                    "directional",
                    f"grad . u differs from the derivative along random direction #{probe}",
                    None,
                    expected,
                    actual,
                )

    def check_accumulation(self, analytic: Sequence[float], rng: random.Random) -> None:
        """Pre-seeded gradients must end as seed + gradient: backward accumulates."""
        out = self._forward()
        seeds = [signed_uniform(rng, *_SEED_RANGE) for _ in self.inputs]
        grads = self._backward_from(out, seeds)
        for i, x in enumerate(self.inputs):
            if x is not out:  # backward() resets the root's own grad to 1 by design
                self._compare(
                    "accumulation",
                    f"input pre-seeded with .grad = {seeds[i]:.6g} must end with seed + gradient;"
                    " a backward step overwrites (=) instead of accumulating (+=)",
                    i,
                    seeds[i] + analytic[i],
                    grads[i],
                )

    def check_upstream(self, analytic: Sequence[float], rng: random.Random) -> None:
        """d(w * f)/dx must be w * df/dx for w != 1: every op scales by out.grad."""
        weight = signed_uniform(rng, *_WEIGHT_RANGE)
        out = self._forward()
        if not hasattr(type(out), "__mul__"):  # an engine without `*` cannot scale its output
            return
        grads = self._backward_from(out * weight)
        for i, actual in enumerate(grads):
            self._compare(
                "upstream",
                f"gradient of w * f with w = {weight:.6g} must be w * gradient;"
                " a backward step drops its upstream factor out.grad",
                i,
                weight * analytic[i],
                actual,
            )


def _validated_inputs(inputs: Sequence[Any]) -> Sequence[Any]:
    if isinstance(inputs, str | bytes) or not isinstance(inputs, Sequence):
        raise TypeError(f"inputs must be a list or tuple of Values, got {_describe(inputs)}")
    if not inputs:
        raise ValueError("gradcheck needs at least one input")
    for i, x in enumerate(inputs):
        if not _is_value(x):
            raise TypeError(
                f"input {i} must be a Value (with .data, .grad and .backward()), got {_describe(x)}"
            )
    return inputs


def gradcheck(
    f: Callable[..., Any],
    inputs: Sequence[Any],
    *,
    eps: float = 1e-5,
    atol: float = 1e-4,
    rtol: float = 1e-3,
    fast: bool = False,
    probes: int = 4,
    properties: bool = True,
    seed: int = 0,
    name: str | None = None,
) -> bool:
    """Check the gradients of ``f(*inputs)`` w.r.t. each input; True or GradcheckError.

    ``fast=True`` compares directional derivatives along ``probes`` random
    directions instead of one derivative per input.  ``properties`` runs the
    accumulation and upstream-scaling checks.  ``name`` labels failures.
    """
    tol = Tolerance(eps, atol, rtol)
    if probes < 1:
        raise ValueError(f"probes must be >= 1, got {probes!r}")
    checker = _Checker(f, _validated_inputs(inputs), tol, name)
    rng = random.Random(seed)
    analytic = checker.analytic()
    if fast:
        checker.check_directions(analytic, probes, rng)
    else:
        checker.check_each_input(analytic)
    if properties:
        checker.check_accumulation(analytic, rng)
        checker.check_upstream(analytic, rng)
    return True
