"""A scalar engine whose steps hand each input a function of the upstream gradient that
gives the input's own (`x.set_grad_fn(lambda ug: ...)`), which the input then applies, as
whalegrad 0.0.2's `Action.backward` methods do.  Correct."""

import math


class Value:
    def __init__(self, data, _children=()):
        self.data = data
        self.grad = 0.0
        self._prev = tuple(_children)
        self._backward = lambda: None
        self.grad_fn = None

    def set_grad_fn(self, fn):
        self.grad_fn = fn

    def take(self, upstream):
        self.grad += self.grad_fn(upstream)

    def __add__(self, other):
        other = other if isinstance(other, Value) else Value(other)
        out = Value(self.data + other.data, (self, other))

        def _backward():
            self.set_grad_fn(lambda ug: ug)
            self.take(out.grad)
            other.set_grad_fn(lambda ug: ug)
            other.take(out.grad)

        out._backward = _backward
        return out

    def __mul__(self, other):
        other = other if isinstance(other, Value) else Value(other)
        out = Value(self.data * other.data, (self, other))

        def _backward():
            self.set_grad_fn(lambda ug: other.data * ug)
            self.take(out.grad)
            other.set_grad_fn(lambda ug: self.data * ug)
            other.take(out.grad)

        out._backward = _backward
        return out

    def tanh(self):
        t = math.tanh(self.data)
        out = Value(t, (self,))

        def _backward():
            self.set_grad_fn(lambda ug: (1 - t**2) * ug)
            self.take(out.grad)

        out._backward = _backward
        return out

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

    def __radd__(self, other):
        return self + other

    def __rmul__(self, other):
        return self * other
