# mypy: ignore-errors

"""A scalar engine whose .grad is read-only (reset with null_grad()), whose leaves need
requires_grad, which defaults to None."""

import math


class Value:
    def __init__(self, data, _children=(), requires_grad=None):
        self.data = data
        self._grad = 0.0
        self.requires_grad = requires_grad
        self._backward = lambda: None
        self._prev = tuple(_children)

    @property
    def grad(self):
        return self._grad

    def null_grad(self):
        self._grad = 0.0

    def __add__(self, other):
        other = other if isinstance(other, Value) else Value(other)
        out = Value(self.data + other.data, (self, other), True)

        def _backward():
            self._grad += out._grad
            other._grad += out._grad

        out._backward = _backward
        return out

    def __mul__(self, other):
        other = other if isinstance(other, Value) else Value(other)
        out = Value(self.data * other.data, (self, other), True)

        def _backward():
            self._grad += other.data * out._grad
            other._grad += self.data * out._grad

        out._backward = _backward
        return out

    def tanh(self):
        t = math.tanh(self.data)
        out = Value(t, (self,), True)

        def _backward():
            self._grad += (1 - t * t) * out._grad

        out._backward = _backward
        return out

    def __neg__(self):
        return self * -1

    def __sub__(self, other):
        return self + (-other)

    def __radd__(self, other):
        return self + other

    def __rmul__(self, other):
        return self * other

    def backward(self):
        if self.requires_grad is None:
            raise RuntimeError("element does not require grad")
        topo, seen = [], set()

        def build(v):
            if id(v) not in seen:
                seen.add(id(v))
                for c in v._prev:
                    build(c)
                topo.append(v)

        build(self)
        self._grad = 1.0
        for v in reversed(topo):
            v._backward()
