"""The forward oracle: every known op on plain floats with `math`, tracing which ops ran.

A case's function runs once on :class:`Ref` values to learn what it computes
(the value every engine must match) and which ops it needs.  Named ops are
called through :class:`Calls`, which uses the engine's own spelling
(`x.reLU()` on one engine, `x.relu()` on another) and the oracle's on a Ref.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from minigrad_tool import ops as catalogue

__all__ = ["Calls", "NoOracle", "Ref", "RefContext", "trace_ops"]


class NoOracle(Exception):
    """The op has no forward oracle: its forward cannot be checked against plain math."""


@dataclass
class RefContext:
    """Shared by the Refs of one evaluation: the ops called, and op parameters."""

    trace: list[str] = field(default_factory=list)
    parameters: Mapping[str, float] = field(default_factory=dict)


def _num(x: object) -> float:
    return x.data if isinstance(x, Ref) else float(x)  # type: ignore[arg-type]


class Ref:
    """A float that computes like a node and records the ops applied to it."""

    __slots__ = ("context", "data")

    def __init__(self, data: float, context: RefContext) -> None:
        self.data = float(data)
        self.context = context

    def _new(self, data: float, op: str) -> Ref:
        self.context.trace.append(op)
        return Ref(data, self.context)

    def __add__(self, o: object) -> Ref:
        return self._new(self.data + _num(o), "add")

    def __radd__(self, o: object) -> Ref:
        return self._new(_num(o) + self.data, "radd")

    def __sub__(self, o: object) -> Ref:
        return self._new(self.data - _num(o), "sub")

    def __rsub__(self, o: object) -> Ref:
        return self._new(_num(o) - self.data, "rsub")

    def __mul__(self, o: object) -> Ref:
        return self._new(self.data * _num(o), "mul")

    def __rmul__(self, o: object) -> Ref:
        return self._new(_num(o) * self.data, "rmul")

    def __truediv__(self, o: object) -> Ref:
        return self._new(self.data / _num(o), "div")

    def __rtruediv__(self, o: object) -> Ref:
        return self._new(_num(o) / self.data, "rdiv")

    def __pow__(self, k: object) -> Ref:
        return self._new(self.data ** _num(k), "vpow" if isinstance(k, Ref) else "pow")

    def __rpow__(self, base: object) -> Ref:
        return self._new(_num(base) ** self.data, "rpow")

    def __neg__(self) -> Ref:
        return self._new(-self.data, "neg")

    def __pos__(self) -> Ref:
        return self._new(+self.data, "pos")

    def __abs__(self) -> Ref:
        return self._new(abs(self.data), "abs")

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

    `calls.relu(x)` is `x.reLU()` on an engine that spells it so, and the
    oracle's relu on a Ref.
    """

    def __init__(self, methods: Mapping[str, str]) -> None:
        self._methods = dict(methods)

    def __getattr__(self, name: str) -> Callable[[Any], Any]:
        method = self._methods.get(name, name)

        def call(x: Any) -> Any:
            if isinstance(x, Ref):
                return x.apply(name)
            return getattr(x, method)()

        return call


def trace_ops(
    fn: Callable[..., Any], point: tuple[float, ...], parameters: Mapping[str, float]
) -> tuple[float, list[str]]:
    """fn's value on plain floats and the ops it called; NoOracle if one has no oracle."""
    context = RefContext([], parameters)
    out = fn(*(Ref(x, context) for x in point))
    return _num(out), context.trace
