"""A scalar engine whose backward pass recurses: each step passes its inputs their share of the
gradient by calling their own backward(g), which adds it to .grad and recurses in turn
(gradzero 0.1.0's style, on scalars).  Correct: the chain rule is linear in the upstream
gradient, so summing over paths gives each node its gradient (in time exponential in depth)."""

import math


class Value:
    def __init__(self, data, _children=()):
        self.data = data
        self.grad = 0.0
        self._prev = tuple(_children)
        self._pass = None

    def backward(self, grad=1.0):
        self.grad += grad
        if self._pass is not None:
            self._pass(grad)

    def __add__(self, other):
        other = other if isinstance(other, Value) else Value(other)
        out = Value(self.data + other.data, (self, other))

        def _pass(g):
            self.backward(g)
            other.backward(g)

        out._pass = _pass
        return out

    def __mul__(self, other):
        other = other if isinstance(other, Value) else Value(other)
        out = Value(self.data * other.data, (self, other))

        def _pass(g):
            self.backward(other.data * g)
            other.backward(self.data * g)

        out._pass = _pass
        return out

    def tanh(self):
        t = math.tanh(self.data)
        out = Value(t, (self,))

        def _pass(g):
            local = 1 - t**2
            self.backward(local * g)

        out._pass = _pass
        return out

    def __radd__(self, other):
        return self + other

    def __rmul__(self, other):
        return self * other
