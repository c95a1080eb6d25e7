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
import re
from collections.abc import Callable
from typing import Any

from minigrad_tool.adapter.profile import Op, Profile, bound, call_text

__all__ = ["ALL_AXES", "BINARY", "SYMBOLS", "NotSupported", "SourceCalls", "TensorCalls"]

Axis = int | tuple[int, ...] | None

BINARY: dict[str, Callable[[Any, Any], Any]] = {  # symbol -> Python's operator
    "+": operator.add,
    "-": operator.sub,
    "*": operator.mul,
    "/": operator.truediv,
    "@": operator.matmul,
    "**": operator.pow,
}


SYMBOLS = {"add": "+", "sub": "-", "mul": "*", "div": "/", "matmul": "@"}


# A reduction's third keyword entry: its axis defaults to one axis, so `axis=None` is said.
ALL_AXES = "axis=None"


class NotSupported(Exception):
    """The engine has no way to make this call: a case that needs it is not supported.
    `why`: the reason without the case's call and shapes, which the cases it skips share."""

    def __init__(self, message: str, why: str = "") -> None:
        super().__init__(message)
        self.why = why or message


class TensorCalls:
    """The engine's ops, by minigrad's names, callable with minigrad's arguments."""

    def __init__(self, profile: Profile) -> None:
        self.ops = {op.name: op for op in profile.ops}

    def op(self, name: str) -> Op:
        found = self.ops.get(name)
        if found is None:
            raise NotSupported(f"the engine has no {name}")
        return found

    def binary(self, name: str, a: Any, b: Any) -> Any:
        """`a <op> b`; either side may be a Python float (through the reflected dunder).  An
        engine with no operator for it has it as a function, `F.matmul(a, b)`."""
        op = self.ops.get(name)
        if op is not None and op.function:
            return bound(op, a)(b)
        return BINARY[SYMBOLS[name]](a, b)

    def alias(self, name: str, a: Any, b: Any) -> Any:
        """`a.add(b)`: the method an engine spells a binary op with beside its operator."""
        return bound(self.op(f"{name}_method"), a)(b)

    def neg(self, a: Any) -> Any:
        self.op("neg")
        return -a

    def pow(self, a: Any, exponent: float) -> Any:
        self.op("pow")
        return a**exponent

    def power(self, a: Any, b: Any) -> Any:
        """`a ** b` with a node exponent: an engine whose `**` takes numbers only (micrograd's
        assertion, numpy's TypeError) does not support it."""
        self.op("pow")
        try:
            return a**b
        except Exception as err:
            raise NotSupported(f"x ** y with a node y raised {type(err).__name__}: {err}") from err

    def method(self, name: str, a: Any) -> Any:
        return bound(self.op(name), a)()

    def reduce_arguments(
        self, name: str, axis: Axis, keepdims: bool
    ) -> tuple[list[Any], dict[str, Any]]:
        """The positional and keyword arguments of a reduction, in the engine's spelling."""
        op = self.op(name)
        axis_kw, keep_kw = (*op.keywords, "", "")[:2]
        args: list[Any] = []
        kwargs: dict[str, Any] = {}
        if axis is None and ALL_AXES in op.keywords[2:]:
            kwargs[axis_kw] = None  # its default axis is not every axis
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
        return args, kwargs

    def reduce(self, name: str, a: Any, axis: Axis = None, keepdims: bool = False) -> Any:
        args, kwargs = self.reduce_arguments(name, axis, keepdims)
        return bound(self.op(name), a)(*args, **kwargs)

    def shape_arguments(self, name: str, shape: tuple[int, ...]) -> list[Any]:
        """A shape or an axis order as the engine takes it: one tuple, or its entries."""
        return list(shape) if self.op(name).keywords[:1] == ("args",) else [shape]

    def _shape_call(self, name: str, a: Any, shape: tuple[int, ...]) -> Any:
        return bound(self.op(name), a)(*self.shape_arguments(name, shape))

    def reshape(self, a: Any, shape: tuple[int, ...]) -> Any:
        return self._shape_call("reshape", a, shape)

    def transpose(self, a: Any, axes: tuple[int, ...]) -> Any:
        return self._shape_call("transpose", a, axes)

    def broadcast_to(self, a: Any, shape: tuple[int, ...]) -> Any:
        return self._shape_call("broadcast_to", a, shape)

    def index(self, a: Any, index: Any) -> Any:
        self.op("getitem")
        return a[index]


def _text(value: Any) -> str:
    """Source for an operand or an index: an expression as it is, a number or an index array
    as a literal, a slice as `1:` or `::2`."""
    if isinstance(value, str):
        return value
    if isinstance(value, slice):
        parts = ["" if v is None else str(v) for v in (value.start, value.stop, value.step)]
        return ":".join(parts[:2]) + (f":{parts[2]}" if value.step is not None else "")
    if isinstance(value, tuple):
        return ", ".join(_text(v) for v in value)
    if hasattr(value, "tolist"):  # a numpy index array
        return f"np.array({value.tolist()!r})"
    return repr(value)


class SourceCalls:
    """The same calls as :class:`TensorCalls`, written as source in the engine's spelling
    (`x.sum(dim=1, keepdim=True)`): the tests `--suggest` writes build their graphs so.

    Each call is a statement `tK = ...`; :meth:`statements` inlines every intermediate used
    once, so a node used twice (softmax's `e`) stays one shared node, as in the case.
    """

    def __init__(self, calls: TensorCalls) -> None:
        self.calls = calls
        self.lines: list[tuple[str, str]] = []

    def _new(self, expression: str) -> str:
        name = f"t{len(self.lines) + 1}"
        self.lines.append((name, expression))
        return name

    def statements(self, result: str) -> list[str]:
        """`name = expression` lines computing `out` from the inputs."""
        pending = dict(self.lines)
        uses = {name: 0 for name in pending}
        for _, expression in self.lines:
            for used in re.findall(r"\bt\d+\b", expression):
                uses[used] += 1
        inline = {n for n, k in uses.items() if k == 1}
        text: dict[str, str] = {}
        kept: list[str] = []
        for name, expression in self.lines:
            expression = re.sub(r"\bt\d+\b", lambda m: text.get(m.group(), m.group()), expression)
            if name == result:
                kept.append(f"out = {_unwrapped(expression)}")
            elif name in inline:
                text[name] = expression
            else:
                kept.append(f"{name} = {_unwrapped(expression)}")
        return kept if result in pending else [f"out = {result}"]

    def binary(self, name: str, a: Any, b: Any) -> str:
        op = self.calls.ops.get(name)
        if op is not None and op.function:
            return self._new(call_text(op, _text(a), [_text(b)]))
        return self._new(f"({_text(a)} {SYMBOLS[name]} {_text(b)})")

    def alias(self, name: str, a: str, b: str) -> str:
        return self._new(f"{a}.{self.calls.op(f'{name}_method').method}({b})")

    def neg(self, a: str) -> str:
        return self._new(f"(-{a})")

    def pow(self, a: str, exponent: float) -> str:
        return self._new(f"({a} ** {exponent!r})")

    def power(self, a: str, b: str) -> str:
        return self._new(f"({a} ** {b})")

    def method(self, name: str, a: str) -> str:
        return self._new(call_text(self.calls.op(name), a, []))

    def reduce(self, name: str, a: str, axis: Axis = None, keepdims: bool = False) -> str:
        args, kwargs = self.calls.reduce_arguments(name, axis, keepdims)
        text = [repr(v) for v in args] + [f"{k}={v!r}" for k, v in kwargs.items()]
        return self._new(call_text(self.calls.op(name), a, text))

    def _shape_call(self, name: str, a: str, shape: tuple[int, ...]) -> str:
        text = [repr(v) for v in self.calls.shape_arguments(name, shape)]
        return self._new(call_text(self.calls.op(name), a, text))

    def reshape(self, a: str, shape: tuple[int, ...]) -> str:
        return self._shape_call("reshape", a, shape)

    def transpose(self, a: str, axes: tuple[int, ...]) -> str:
        return self._shape_call("transpose", a, axes)

    def broadcast_to(self, a: str, shape: tuple[int, ...]) -> str:
        return self._shape_call("broadcast_to", a, shape)

    def index(self, a: str, index: Any) -> str:
        return self._new(f"{a}[{_text(index)}]")


def _unwrapped(expression: str) -> str:
    """`(x + y)` -> `x + y`, when the outer parentheses enclose the whole expression."""
    if not (expression.startswith("(") and expression.endswith(")")):
        return expression
    depth = 0
    for i, ch in enumerate(expression):
        depth += ch == "("
        depth -= ch == ")"
        if depth == 0 and i < len(expression) - 1:
            return expression
    return expression[1:-1]
