"""A micrograd-style engine whose tanh and sigmoid are functions of the module, not methods
of `Value` (`tanh(x)`, as some students write them): correct.  Its `_scale` helper, named
like no op, is never called as one."""

import math


class Value:
    def __init__(self, data, _children=()):
        self.data = data
        self.grad = 0.0
        self._backward = lambda: None
        self._prev = set(_children)

    def __add__(self, other):
        other = other if isinstance(other, Value) else Value(other)
        out = Value(self.data + other.data, (self, other))

        def _backward():
            self.grad += out.grad
            other.grad += out.grad

        out._backward = _backward
        return out

    def __mul__(self, other):
        other = other if isinstance(other, Value) else Value(other)
        out = Value(self.data * other.data, (self, other))

        def _backward():
            self.grad += other.data * out.grad
            other.grad += self.data * out.grad

        out._backward = _backward
        return out

    def __neg__(self):
        return self * -1

    def __radd__(self, other):
        return self + other

    def __rmul__(self, other):
        return self * other

    def __sub__(self, other):
        return self + (-other)

    def backward(self):
        topo, visited = [], set()

        def build(v):
            if v not in visited:
                visited.add(v)
                for child in v._prev:
                    build(child)
                topo.append(v)

        build(self)
        self.grad = 1.0
        for v in reversed(topo):
            v._backward()


def _scale(x, k):
    return x * k


def tanh(x):
    t = math.tanh(x.data)
    out = Value(t, (x,))

    def _backward():
        x.grad += (1 - t**2) * out.grad

    out._backward = _backward
    return out


def sigmoid(x):
    s = 1 / (1 + math.exp(-x.data))
    out = Value(s, (x,))

    def _backward():
        x.grad += s * (1 - s) * out.grad

    out._backward = _backward
    return out
