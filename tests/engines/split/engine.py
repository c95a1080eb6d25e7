"""The node class: each op hands its work to ops.py, where its backward step is."""

from __future__ import annotations

from . import ops


class Value:
    def __init__(self, data, _children=(), _op=""):
        self.data = data
        self.grad = 0.0
        self._backward = lambda: None
        self._prev = tuple(_children)
        self._op = _op

    def __add__(self, other):
        return ops.add(self, other if isinstance(other, Value) else Value(other))

    def __radd__(self, other):
        return self + other

    def __mul__(self, other):
        return ops.mul(self, other if isinstance(other, Value) else Value(other))

    def __rmul__(self, other):
        return self * other

    def __neg__(self):
        return self * -1

    def __sub__(self, other):
        return self + (-other)

    def tanh(self):
        return ops.tanh(self)

    def exp(self):
        return ops.Exp()(self)

    def backward(self):
        topo, seen = [], set()

        def build(v):
            if id(v) not in seen:
                seen.add(id(v))
                for child in v._prev:
                    build(child)
                topo.append(v)

        build(self)
        self.grad = 1.0
        for v in reversed(topo):
            v._backward()
