"""An op whose dunder only calls a method of its own (tinygrad-classroom's shape): `__pow__`
returns `self.pow(exponent)`, whose closure is pow's backward step; `__truediv__` multiplies by
`other.pow(-1.0)`, so div is built from mul and pow; `__rmul__` only calls `self.__mul__`, an
op's own method, so rmul is built from mul."""

import math


class Value:
    def __init__(self, data, _prev=()):
        self.data = float(data)
        self.grad = 0.0
        self._prev = tuple(_prev)
        self._backward = lambda: None

    @staticmethod
    def ensure(other):
        return other if isinstance(other, Value) else Value(other)

    def __add__(self, other):
        other = Value.ensure(other)
        out = Value(self.data + other.data, (self, other))

        def _backward():
            self.grad += out.grad
            other.grad += out.grad

        out._backward = _backward
        return out

    def __mul__(self, other):
        other = Value.ensure(other)
        out = Value(self.data * other.data, (self, other))

        def _backward():
            self.grad += other.data * out.grad
            other.grad += self.data * out.grad

        out._backward = _backward
        return out

    def pow(self, exponent):
        out = Value(self.data**exponent, (self,))

        def _backward():
            self.grad += exponent * self.data ** (exponent - 1) * out.grad

        out._backward = _backward
        return out

    def __pow__(self, exponent):
        """x ** exponent, for a number exponent."""
        return self.pow(exponent)

    def tanh(self):
        t = math.tanh(self.data)
        out = Value(t, (self,))

        def _backward():
            self.grad += (1 - t * t) * out.grad

        out._backward = _backward
        return out

    def __truediv__(self, other):
        return self * Value.ensure(other).pow(-1.0)

    def __neg__(self):
        return self * -1.0

    def __sub__(self, other):
        return self + (-Value.ensure(other))

    def __radd__(self, other):
        return self + other

    def __rmul__(self, other):
        return self.__mul__(other)

    def backward(self):
        topo, seen = [], set()

        def build(v):
            if v not in seen:
                seen.add(v)
                for child in v._prev:
                    build(child)
                topo.append(v)

        build(self)
        self.grad = 1.0
        for node in reversed(topo):
            node._backward()
