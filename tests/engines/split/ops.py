"""Each op's forward and its backward step: closures, and one Function-style class."""

from __future__ import annotations

import math


def add(a, b):
    from .engine import Value

    out = Value(a.data + b.data, (a, b), "+")

    def _backward():
        a.grad += out.grad
        b.grad += out.grad

    out._backward = _backward
    return out


def mul(a, b):
    from .engine import Value

    out = Value(a.data * b.data, (a, b), "*")

    def _backward():
        a.grad += b.data * out.grad
        b.grad += a.data * out.grad

    out._backward = _backward
    return out


def tanh(a):
    from .engine import Value

    t = math.tanh(a.data)
    out = Value(t, (a,), "tanh")

    def _backward():
        a.grad += (1 - t**2) * out.grad

    out._backward = _backward
    return out


class Exp:
    """A Function-style op: the node keeps the bound `backward` as its step."""

    def __call__(self, a):
        from .engine import Value

        self.a = a
        self.out = Value(math.exp(a.data), (a,), "exp")
        self.out._backward = self.backward
        return self.out

    def backward(self):
        a, out = self.a, self.out
        a.grad += out.data * out.grad
