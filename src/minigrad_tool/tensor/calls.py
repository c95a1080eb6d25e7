"""Calling a tensor engine's ops the way it spells them.

Engines differ in how an op takes its arguments: `x.sum(axis=1)` or
`x.sum(dim=1)`, `keepdims` or `keepdim` (or none, and a default of True),
`x.reshape((3, 2))` or `x.reshape(3, 2)`, `x.transpose((2, 0, 1))` or
`x.permute(2, 0, 1)`.  Discovery records the spelling in the op
(:attr:`~minigrad_tool.adapter.profile.Op.keywords`); :class:`TensorCalls`
turns the battery's one spelling into the engine's.  A call the engine has no
spelling for (keepdims on an engine without it) raises :class:`NotSupported`:
the case is listed as not supported, never failed.
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from typing import Any

from minigrad_tool.adapter.profile import Op, Profile

__all__ = ["REDUCTIONS", "NotSupported", "TensorCalls"]

Axis = int | tuple[int, ...] | None

REDUCTIONS = ("sum", "mean", "max")

_BINARY: dict[str, Callable[[Any, Any], Any]] = {
    "+": operator.add,
    "-": operator.sub,
    "*": operator.mul,
    "/": operator.truediv,
    "@": operator.matmul,
    "**": operator.pow,
}


class NotSupported(Exception):
    """The engine has no way to make this call: a case that needs it is not supported."""


class TensorCalls:
    """The engine's ops, by minigrad's names, callable with minigrad's arguments."""

    def __init__(self, profile: Profile) -> None:
        self.ops = {op.name: op for op in profile.ops}

    def has(self, *names: str) -> bool:
        return all(n in self.ops for n in names)

    def op(self, name: str) -> Op:
        found = self.ops.get(name)
        if found is None:
            raise NotSupported(f"the engine has no {name}")
        return found

    def binary(self, name: str, a: Any, b: Any) -> Any:
        """`a <op> b`; either side may be a Python float (through the reflected dunder)."""
        symbol = {"add": "+", "sub": "-", "mul": "*", "div": "/", "matmul": "@"}[name]
        return _BINARY[symbol](a, b)

    def neg(self, a: Any) -> Any:
        self.op("neg")
        return -a

    def pow(self, a: Any, exponent: float) -> Any:
        self.op("pow")
        return a**exponent

    def method(self, name: str, a: Any) -> Any:
        return getattr(a, self.op(name).method)()

    def reduce(self, name: str, a: Any, axis: Axis = None, keepdims: bool = False) -> Any:
        op = self.op(name)
        axis_kw, keep_kw = (*op.keywords, "", "")[:2]
        args: list[Any] = []
        kwargs: dict[str, Any] = {}
        if axis is not None:
            if axis_kw == "":
                raise NotSupported(f"{op.method}() takes no axis")
            if axis_kw == "*":
                args.append(axis)
            else:
                kwargs[axis_kw] = axis
        if keepdims != op.keepdims_default:
            if keep_kw == "":
                raise NotSupported(f"{op.method}() has no keepdims keyword")
            kwargs[keep_kw] = keepdims
        return getattr(a, op.method)(*args, **kwargs)

    def _shape_call(self, name: str, a: Any, shape: tuple[int, ...]) -> Any:
        op = self.op(name)
        method = getattr(a, op.method)
        return method(*shape) if op.keywords[:1] == ("args",) else method(shape)

    def reshape(self, a: Any, shape: tuple[int, ...]) -> Any:
        return self._shape_call("reshape", a, shape)

    def transpose(self, a: Any, axes: tuple[int, ...]) -> Any:
        return self._shape_call("transpose", a, axes)

    def broadcast_to(self, a: Any, shape: tuple[int, ...]) -> Any:
        return self._shape_call("broadcast_to", a, shape)

    def index(self, a: Any, index: Any) -> Any:
        self.op("getitem")
        return a[index]
