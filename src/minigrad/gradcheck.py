"""Check analytic gradients against central finite differences: the lab's model answer.

Why central differences: by Taylor,

    (f(x + h) - f(x - h)) / 2h = f'(x) + h**2 / 6 * f'''(x) + O(h**4)

so the error is O(h**2), against O(h) for a one-sided difference.  Why
``eps = 1e-5``: each value of f carries a rounding error of about
``macheps * |f|`` (2.2e-16 in float64), which the division by 2h blows up to
``macheps * |f| / h``; the sum of both errors is smallest near
``h = (3 macheps)**(1/3)``, about 1e-5, where each is near 1e-10.

A plain comparison runs backward() once, from a fresh graph, with an upstream
gradient of 1, so two more checks follow:

* *accumulation*: an input whose ``.grad`` is pre-seeded must end with
  seed + gradient (a step that writes ``=`` instead of ``+=`` fails it);
* *upstream scaling*: the gradient of ``w * f`` must be ``w`` times that of
  ``f`` (a step that drops its ``* out.grad`` passes whenever w is 1).

This checker is for the lab's :class:`~minigrad.engine.Value`.  The full one
(any engine, float32, a fast mode, tensors) is the tool's:
``from minigrad_tool import gradcheck``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from minigrad.engine import Value

__all__ = ["GradcheckError", "Tolerance", "gradcheck"]

SEED = 0.37  # a pre-seeded .grad that is neither 0 nor 1
WEIGHT = -1.7  # an upstream gradient that is not 1, and negative: it shows a lost sign too


@dataclass(frozen=True, kw_only=True)
class Tolerance:
    """The step, and how close is close: ``|expected - actual| <= atol + rtol * |expected|``."""

    eps: float = 1e-5
    atol: float = 1e-4
    rtol: float = 1e-3

    def __post_init__(self) -> None:
        if not (math.isfinite(self.eps) and self.eps > 0.0):
            raise ValueError(f"eps must be a finite number > 0, got {self.eps!r}")
        for name, value in (("atol", self.atol), ("rtol", self.rtol)):
            if not (math.isfinite(value) and value >= 0.0):
                raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")

    def accepts(self, expected: float, actual: float) -> bool:
        """Within tolerance; NaN and infinities never are."""
        allowed = self.atol + self.rtol * abs(expected)
        return math.isfinite(actual) and abs(expected - actual) <= allowed


class GradcheckError(AssertionError):
    """A check failed: which check, for which input, what was expected and what came."""

    def __init__(self, check: str, index: int, expected: float, actual: float) -> None:
        self.check, self.index, self.expected, self.actual = check, index, expected, actual
        super().__init__(
            f"{check} check failed for input {index}: expected {expected!r}, got {actual!r}"
        )


def _value(f: Callable[..., Value], inputs: Sequence[Value]) -> Value:
    out = f(*inputs)
    if not isinstance(out, Value):
        raise TypeError(f"f must return a Value, got {type(out).__name__}")
    if not math.isfinite(out.data):
        raise ValueError(f"f is not finite at {[x.data for x in inputs]}: {out.data!r}")
    return out


def _backward(
    f: Callable[..., Value], inputs: Sequence[Value], seed: float, w: float
) -> list[float]:
    """Each input's .grad after backward() from `w * f`, every .grad set to `seed` first."""
    for x in inputs:
        x.grad = seed
    (_value(f, inputs) * w).backward()
    return [x.grad for x in inputs]


def gradcheck(
    f: Callable[..., Value], inputs: Sequence[Value], *, tol: Tolerance = Tolerance()
) -> bool:
    """True if backward() gives f's gradient w.r.t. each input; else GradcheckError.

    `f` must build its graph from the inputs on every call, as micrograd code does.
    """
    if not inputs or not all(isinstance(x, Value) for x in inputs):
        raise TypeError("inputs must be a non-empty sequence of Value")
    if len({id(x) for x in inputs}) != len(inputs):
        raise ValueError("each input must be a different Value")
    analytic = _backward(f, inputs, 0.0, 1.0)
    for i, x in enumerate(inputs):
        x0 = x.data
        try:
            x.data = x0 + tol.eps
            plus = _value(f, inputs).data
            x.data = x0 - tol.eps
            minus = _value(f, inputs).data
        finally:
            x.data = x0
        numeric = (plus - minus) / (2 * tol.eps)
        if not tol.accepts(numeric, analytic[i]):
            raise GradcheckError("gradient", i, numeric, analytic[i])
    for check, seed, w in (("accumulation", SEED, 1.0), ("upstream", 0.0, WEIGHT)):
        for i, got in enumerate(_backward(f, inputs, seed, w)):
            if not tol.accepts(seed + w * analytic[i], got):
                raise GradcheckError(check, i, seed + w * analytic[i], got)
    return True
