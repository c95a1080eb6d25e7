"""The forward oracle: every known op on plain floats with `math`, tracing which ops ran.

A case's function runs once on :class:`Ref` values to learn what it computes
(the value every engine must match) and which ops it needs.  Named ops are
called through :class:`Calls`, which uses the engine's own spelling
(`x.reLU()` on one engine, `x.relu()` on another) and the oracle's on a Ref.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from minigrad_tool import ops as catalogue
from minigrad_tool.adapter.profile import resolve_function

__all__ = [
    "Calls",
    "NoOracle",
    "NoTruth",
    "Ref",
    "RefContext",
    "evaluate",
    "slope",
    "spelling",
    "trace_ops",
    "truth",
]


class NoOracle(Exception):
    """The op has no forward oracle: its forward cannot be checked against plain math."""


@dataclass
class RefContext:
    """Shared by the Refs of one evaluation: the ops called, op parameters, and whether a
    node an op made is an operand more than once (`shared`: t in `t * t + t`, not x in
    `x * x`), where a backward() that walks a reused node wrongly goes wrong."""

    trace: list[str] = field(default_factory=list)
    parameters: Mapping[str, float] = field(default_factory=dict)
    shared: bool = False


def _num(x: object) -> float:
    return x.data if isinstance(x, Ref) else float(x)  # type: ignore[arg-type]


class Ref:
    """A float that computes like a node and records the ops applied to it."""

    __slots__ = ("context", "data", "uses")
    STANDS_FOR_A_NODE = True  # adapter.profile.bound calls its ops as methods

    def __init__(self, data: float, context: RefContext, made: bool = False) -> None:
        self.data = float(data)
        self.context = context
        # a node an op made: has an op used it yet (an input: None, not counted)
        self.uses: bool | None = False if made else None

    def _new(self, data: float, op: str, other: object = None) -> Ref:
        context = self.context
        context.trace.append(op)
        if not context.shared:  # once a node is shared, no more counting
            self._used()
            if type(other) is Ref:
                other._used()  # t * t uses t twice
        return Ref(data, context, True)

    def _used(self) -> None:
        if self.uses is not None:
            self.context.shared = self.uses
            self.uses = True

    def __add__(self, o: object) -> Ref:
        return self._new(self.data + _num(o), "add", o)

    def __radd__(self, o: object) -> Ref:
        return self._new(_num(o) + self.data, "radd", o)

    def __sub__(self, o: object) -> Ref:
        return self._new(self.data - _num(o), "sub", o)

    def __rsub__(self, o: object) -> Ref:
        return self._new(_num(o) - self.data, "rsub", o)

    def __mul__(self, o: object) -> Ref:
        return self._new(self.data * _num(o), "mul", o)

    def __rmul__(self, o: object) -> Ref:
        return self._new(_num(o) * self.data, "rmul", o)

    def __truediv__(self, o: object) -> Ref:
        return self._new(self.data / _num(o), "div", o)

    def __rtruediv__(self, o: object) -> Ref:
        return self._new(_num(o) / self.data, "rdiv", o)

    def __pow__(self, k: object) -> Ref:
        return self._new(self.data ** _num(k), "vpow" if isinstance(k, Ref) else "pow", k)

    def __rpow__(self, base: object) -> Ref:
        return self._new(_num(base) ** self.data, "rpow", base)

    def __neg__(self) -> Ref:
        return self._new(-self.data, "neg")

    def __pos__(self) -> Ref:
        return self._new(+self.data, "pos")

    def __abs__(self) -> Ref:
        return self._new(abs(self.data), "abs")

    # Alias methods of the arithmetic operators (`x.add(y)`), traced as the operator.
    def add(self, o: object) -> Ref:
        return self.__add__(o)

    def sub(self, o: object) -> Ref:
        return self.__sub__(o)

    def mul(self, o: object) -> Ref:
        return self.__mul__(o)

    def div(self, o: object) -> Ref:
        return self.__truediv__(o)

    subtract, multiply, divide, truediv = sub, mul, div, div

    def apply(self, name: str) -> Ref:
        """A named op by its canonical name (relu, tanh, sigmoid, ...)."""
        known = catalogue.KNOWN.get(name)
        if known is None:
            raise NoOracle(name)
        parameter = self.context.parameters.get(name, known.parameter)
        return self._new(known.forward(self.data, parameter), name)

    def __getattr__(self, name: str) -> Callable[[], Ref]:
        canonical = catalogue.canonical(name)
        if canonical is None:
            raise NoOracle(name)
        return lambda: self.apply(canonical)


class Calls:
    """Named ops by canonical name, called the way the engine spells them.

    `calls.relu(x)` is `x.reLU()` on an engine that spells it so, `engine.relu(x)` on one
    whose module has it as a function ("engine:relu", Op.function), and the oracle's relu
    on a Ref.
    """

    def __init__(self, methods: Mapping[str, str]) -> None:
        self._methods = dict(methods)

    def __getattr__(self, name: str) -> Callable[[Any], Any]:
        method = self._methods.get(name, name)

        def call(x: Any) -> Any:
            if isinstance(x, Ref):
                return x.apply(name)
            if ":" in method:  # in the child that runs the case, where the engine is imported
                return resolve_function(method)(x)
            return getattr(x, method)()

        return call


def spelling(ops: Iterable[Any]) -> dict[str, str]:
    """Calls' table of an engine's named scalar ops (adapter.profile.Op): each known op's
    method, or "module:function" where the op is a function of the engine's module."""
    return {op.oracle: op.function or op.method for op in ops if op.call == "method" and op.oracle}


def trace_ops(
    fn: Callable[..., Any], point: tuple[float, ...], parameters: Mapping[str, float]
) -> tuple[float, list[str]]:
    """fn's value on plain floats and the ops it called; NoOracle if one has no oracle."""
    value, context = evaluate(fn, point, parameters)
    return value, context.trace


def evaluate(
    fn: Callable[..., Any], point: tuple[float, ...], parameters: Mapping[str, float]
) -> tuple[float, RefContext]:
    """fn's value on plain floats, and what its evaluation recorded (the ops it called)."""
    context = RefContext([], parameters)
    out = fn(*(Ref(x, context) for x in point))
    return _num(out), context


class NoTruth(Exception):
    """No trustworthy expected value here: an op without an oracle, a kink, or a domain error."""


# Central differences of plain math, in float64, Richardson-extrapolated: D(h) has error
# c2 h^2 + c4 h^4, so (4 D(h/2) - D(h)) / 3 cancels the h^2 term.  h = 1e-3 (relative to
# |x|) keeps the rounding error near 1e-13 / 1e-3 = 1e-13 relative, and leaves
# truncation near h^4 = 1e-12: far inside a written test's 1e-6.
_STEP = 1e-3
# A kink (relu, abs) within the step shows as one-sided slopes that disagree: from a step of
# 1e-7 they differ by about 1e-7 f'' where the function is smooth.
_SIDE_STEP = 1e-7
_SIDE_AGREE = 1e-4
# Two extrapolations (from h and from h/2) must agree this well, else the slope is not
# resolved (a nearby kink, an overflow): no truth.
_RESOLVED = 1e-8


def _value(
    fn: Callable[..., Any], point: Sequence[float], parameters: Mapping[str, float]
) -> float:
    try:
        value, _ = trace_ops(fn, tuple(point), parameters)
    except (ArithmeticError, ValueError, TypeError) as err:
        raise NoTruth(f"plain math raises {type(err).__name__} at {tuple(point)}") from None
    if not math.isfinite(value):
        raise NoTruth(f"plain math gives {value} at {tuple(point)}")
    return value


def slope(f: Callable[[float], float], x: float) -> float:
    """df/dx at x: Richardson-extrapolated central differences, refused at a kink."""
    scale = max(1.0, abs(x))

    def central(h: float) -> float:
        return (f(x + h) - f(x - h)) / (2.0 * h)

    side = _SIDE_STEP * scale
    here = f(x)
    left, right = (here - f(x - side)) / side, (f(x + side) - here) / side
    h = _STEP * scale
    d1, d2, d3 = central(h), central(h / 2.0), central(h / 4.0)
    fine, finer = (4.0 * d2 - d1) / 3.0, (4.0 * d3 - d2) / 3.0
    if abs(left - right) > _SIDE_AGREE * (1.0 + abs(finer)):
        raise NoTruth(f"a kink at x={x!r}: the slope from the left and the right differ")
    if abs(fine - finer) > _RESOLVED * (1.0 + abs(finer)):
        raise NoTruth(f"the slope at x={x!r} is not resolved by central differences")
    return finer


def truth(
    fn: Callable[..., Any], point: Sequence[float], parameters: Mapping[str, float]
) -> tuple[float, list[float], list[str]]:
    """What a correct engine gives for `fn` at `point`: the value from plain math, each
    input's gradient from float64 central differences of it, and the ops `fn` calls.
    NoTruth if that cannot be established (an op without an oracle, a kink, a domain error)."""
    try:
        value, trace = trace_ops(fn, tuple(point), parameters)
    except NoOracle as err:
        raise NoTruth(f"minigrad has no oracle for {err}") from None
    except (ArithmeticError, ValueError, TypeError) as err:
        raise NoTruth(f"plain math raises {type(err).__name__} at {tuple(point)}") from None
    if not math.isfinite(value):
        raise NoTruth(f"plain math gives {value} at {tuple(point)}")
    grads = []
    for i in range(len(point)):

        def along(t: float, i: int = i) -> float:
            moved = list(point)
            moved[i] = t
            return _value(fn, moved, parameters)

        grads.append(slope(along, point[i]))
    return value, grads, trace
