"""A scalar reverse-mode autodiff engine with micrograd's API.

Every op computes its forward value and, right below it, has its own backward
step, ``Value._<op>_backward``, applying the chain rule for that op alone.  For
``out = op(a, b)`` it does

    a.grad += d(out)/d(a) * out.grad

It *accumulates* (``+=``), so a node used twice receives both contributions,
and it *scales by out.grad*, the gradient flowing down from above.  Those are
the two properties a lazy finite-difference test cannot see, and the ones the
mutation operators of minigrad-tool (`minigrad mutate`) break on purpose.

Why a backward step per op and not, as in micrograd, a closure per node: a
closure is a new function object on every node (152 bytes before its cells,
measured with tracemalloc on CPython 3.11), which alone is more than half the
memory budget of a node.  Here a node stores a reference to its op's shared
backward function and finds its operands in ``out._prev``; the step reads the
same as micrograd's closure, line for line.

micrograd's contract still holds for new ops: assign a zero-argument closure
to ``out._backward`` and ``backward()`` calls it, as in micrograd.
"""

from __future__ import annotations

import math
from collections.abc import Callable

__all__ = ["Value"]


def _power(base: float, exponent: float) -> float:
    """base ** exponent, with overflow said in words."""
    try:
        return float(base**exponent)
    except OverflowError:
        raise OverflowError(f"{base!r} ** {exponent!r} overflows a float") from None


def _leaf_backward(out: Value) -> None:
    """The backward step of a leaf: nothing below it to propagate to."""


class _Closure:
    """A micrograd-style zero-argument closure, called as a backward step."""

    __slots__ = ("fn",)

    def __init__(self, fn: Callable[[], None]) -> None:
        self.fn = fn

    def __call__(self, out: Value) -> None:
        self.fn()


def _as_float(data: object) -> float:
    """An int or float as a float; anything else is a TypeError that names it."""
    if not isinstance(data, int | float):
        raise TypeError(f"Value() needs an int or float, got {type(data).__name__}: {data!r}")
    return float(data)


def _lift(x: object) -> Value | None:
    """`x` as a Value: Values pass through, numbers are wrapped, anything else is None."""
    if isinstance(x, Value):
        return x
    if isinstance(x, int | float):
        return Value(x)
    return None


class Value:
    """A scalar in a computation graph, with the gradient of the final output w.r.t. it."""

    __slots__ = ("_op", "_prev", "_step", "data", "grad")

    def __init__(
        self,
        data: float,
        _children: tuple[Value, ...] = (),
        _op: str = "",
        _backward: Callable[[Value], None] = _leaf_backward,
    ) -> None:
        self.data = _as_float(data)
        self.grad = 0.0
        # A tuple, in operand order: the backward order is then deterministic,
        # which keeps mutation verdicts stable from run to run.
        self._prev = _children
        self._op = _op
        self._step = _backward  # called as step(node) by backward()

    @property
    def _backward(self) -> Callable[[], None]:
        """This node's backward step, callable with no argument as in micrograd."""
        return lambda: self._step(self)

    @_backward.setter
    def _backward(self, fn: Callable[[], None]) -> None:
        # micrograd's way of adding an op: `out._backward = _backward`, a closure.
        self._step = _Closure(fn)

    # --- binary ops ---------------------------------------------------------

    def __add__(self, other: Value | float) -> Value:
        if not isinstance(other, Value):
            if not isinstance(other, int | float):
                return NotImplemented
            other = Value(other)
        return Value(self.data + other.data, (self, other), "+", Value._add_backward)

    @staticmethod
    def _add_backward(out: Value) -> None:
        self, other = out._prev
        # d(a + b)/da = 1, d(a + b)/db = 1
        self.grad += out.grad
        other.grad += out.grad

    def __sub__(self, other: Value | float) -> Value:
        if not isinstance(other, Value):
            if not isinstance(other, int | float):
                return NotImplemented
            other = Value(other)
        return Value(self.data - other.data, (self, other), "-", Value._sub_backward)

    @staticmethod
    def _sub_backward(out: Value) -> None:
        self, other = out._prev
        # d(a - b)/da = 1, d(a - b)/db = -1
        self.grad += out.grad
        other.grad -= out.grad

    def __mul__(self, other: Value | float) -> Value:
        if not isinstance(other, Value):
            if not isinstance(other, int | float):
                return NotImplemented
            other = Value(other)
        return Value(self.data * other.data, (self, other), "*", Value._mul_backward)

    @staticmethod
    def _mul_backward(out: Value) -> None:
        self, other = out._prev
        # d(a * b)/da = b, d(a * b)/db = a
        self.grad += other.data * out.grad
        other.grad += self.data * out.grad

    def __truediv__(self, other: Value | float) -> Value:
        if not isinstance(other, Value):
            if not isinstance(other, int | float):
                return NotImplemented
            other = Value(other)
        if other.data == 0.0:
            raise ZeroDivisionError(f"division by zero: {self.data!r} / {other.data!r}")
        return Value(self.data / other.data, (self, other), "/", Value._div_backward)

    @staticmethod
    def _div_backward(out: Value) -> None:
        self, other = out._prev
        # d(a / b)/da = 1 / b, d(a / b)/db = -a / b**2 = -(a / b) / b: the
        # quotient divided again, since b**2 underflows to 0 for |b| < 1e-162
        self.grad += out.grad / other.data
        other.grad -= out.data / other.data * out.grad

    def __pow__(self, other: Value | int | float) -> Value:
        if isinstance(other, Value):
            if self.data <= 0.0:
                raise ValueError(
                    f"{self.data!r} ** Value: a Value exponent needs a positive base "
                    "(its gradient is base**exponent * log(base))"
                )
            data = _power(self.data, other.data)
            return Value(data, (self, other), "**", Value._vpow_backward)
        if not isinstance(other, int | float):
            return NotImplemented
        if self.data < 0.0 and not float(other).is_integer():
            raise ValueError(
                f"negative base {self.data!r} with non-integer exponent {other!r} is not real"
            )
        if other == 0:  # x**0 = 1 is a constant: no path for gradients
            return Value(1.0)
        if self.data == 0.0 and other < 1:
            raise ZeroDivisionError(
                f"0.0 ** {other!r}: at a zero base, an exponent below 1 makes the power "
                "or its derivative infinite"
            )
        # The exponent rides along as a constant leaf: the backward step needs it.
        exponent = Value(other)
        data = _power(self.data, other)
        return Value(data, (self, exponent), f"**{other}", Value._pow_backward)

    @staticmethod
    def _pow_backward(out: Value) -> None:
        self, k = out._prev
        # d(x**k)/dx = k * x**(k - 1)
        self.grad += k.data * self.data ** (k.data - 1) * out.grad

    @staticmethod
    def _vpow_backward(out: Value) -> None:
        self, other = out._prev
        # d(a**b)/da = b * a**(b - 1), d(a**b)/db = a**b * log(a)
        self.grad += other.data * self.data ** (other.data - 1) * out.grad
        other.grad += out.data * math.log(self.data) * out.grad

    def __rpow__(self, other: int | float) -> Value:
        if not isinstance(other, int | float):
            return NotImplemented
        if other <= 0:
            raise ValueError(
                f"{other!r} ** Value: the base must be positive (the gradient is "
                "base**x * log(base))"
            )
        # The base rides along as a constant leaf: the backward step needs it.
        base = Value(other)
        return Value(_power(base.data, self.data), (self, base), "rpow", Value._rpow_backward)

    @staticmethod
    def _rpow_backward(out: Value) -> None:
        self, base = out._prev
        # d(c**x)/dx = c**x * log(c)
        self.grad += out.data * math.log(base.data) * out.grad

    # Reflected forms: a number on the left.  Addition and multiplication
    # commute; subtraction and division lift the number and reuse the ops.
    def __radd__(self, other: float) -> Value:
        return self.__add__(other)

    def __rmul__(self, other: float) -> Value:
        return self.__mul__(other)

    def __rsub__(self, other: float) -> Value:
        left = _lift(other)
        if left is None:
            return NotImplemented
        return left - self

    def __rtruediv__(self, other: float) -> Value:
        left = _lift(other)
        if left is None:
            return NotImplemented
        return left / self

    # --- unary ops ----------------------------------------------------------

    def __neg__(self) -> Value:
        return Value(-self.data, (self,), "neg", Value._neg_backward)

    @staticmethod
    def _neg_backward(out: Value) -> None:
        (self,) = out._prev
        # d(-x)/dx = -1
        self.grad -= out.grad

    def relu(self) -> Value:
        # x for x > 0, else +0.0: relu(-0.0) is +0.0 (max(x, 0.0) would keep -0.0)
        return Value(self.data if self.data > 0.0 else 0.0, (self,), "ReLU", Value._relu_backward)

    @staticmethod
    def _relu_backward(out: Value) -> None:
        (self,) = out._prev
        # d relu(x)/dx = 1 for x > 0, else 0 (we take 0 at the kink, as micrograd does)
        self.grad += (out.data > 0.0) * out.grad

    def tanh(self) -> Value:
        return Value(math.tanh(self.data), (self,), "tanh", Value._tanh_backward)

    @staticmethod
    def _tanh_backward(out: Value) -> None:
        (self,) = out._prev
        # d tanh(x)/dx = 1 - tanh(x)**2, reusing the forward value
        self.grad += (1.0 - out.data**2) * out.grad

    def exp(self) -> Value:
        if self.data > 709.0:
            raise OverflowError(f"exp({self.data!r}) overflows a float")
        return Value(math.exp(self.data), (self,), "exp", Value._exp_backward)

    @staticmethod
    def _exp_backward(out: Value) -> None:
        (self,) = out._prev
        # d exp(x)/dx = exp(x), reusing the forward value
        self.grad += out.data * out.grad

    def log(self) -> Value:
        if self.data <= 0.0:
            raise ValueError(f"log of non-positive value {self.data!r}")
        return Value(math.log(self.data), (self,), "log", Value._log_backward)

    @staticmethod
    def _log_backward(out: Value) -> None:
        (self,) = out._prev
        # d log(x)/dx = 1 / x
        self.grad += out.grad / self.data

    # --- the graph ----------------------------------------------------------

    def _topo(self) -> list[Value]:
        """Every node below `self`, children before parents, found without recursion."""
        topo: list[Value] = []
        visited: set[Value] = set()
        # A None on the stack means: the node under it has had all its children emitted.
        stack: list[Value | None] = [self]
        while stack:
            node = stack.pop()
            if node is None:
                topo.append(stack.pop())  # type: ignore[arg-type]
            elif node not in visited:
                visited.add(node)
                stack.append(node)
                stack.append(None)
                stack.extend(reversed(node._prev))
        return topo

    def backward(self) -> None:
        """Accumulate d(self)/d(node) into every node's `.grad` (reverse-mode sweep)."""
        topo = self._topo()
        self.grad = 1.0
        for node in reversed(topo):
            node._step(node)

    def zero_grad(self) -> None:
        """Set `.grad` to 0 on every node of the graph below `self`, `self` included."""
        for node in self._topo():
            node.grad = 0.0

    def __repr__(self) -> str:
        return f"Value(data={self.data}, grad={self.grad})"
