"""An engine that computes in float32: every number is rounded to 32 bits, as NumPy's would be."""

import math
import struct


def f32(x):
    return struct.unpack("f", struct.pack("f", float(x)))[0]


class Value:
    def __init__(self, data, _children=()):
        self.data = f32(data)
        self.grad = 0.0
        self._prev = tuple(_children)
        self._backward = lambda: None

    def __add__(self, other):
        other = other if isinstance(other, Value) else Value(other)
        out = Value(f32(self.data + other.data), (self, other))

        def _backward():
            self.grad = f32(self.grad + out.grad)
            other.grad = f32(other.grad + out.grad)

        out._backward = _backward
        return out

    def __mul__(self, other):
        other = other if isinstance(other, Value) else Value(other)
        out = Value(f32(self.data * other.data), (self, other))

        def _backward():
            self.grad = f32(self.grad + other.data * out.grad)
            other.grad = f32(other.grad + self.data * out.grad)

        out._backward = _backward
        return out

    def tanh(self):
        t = f32(math.tanh(self.data))
        out = Value(t, (self,))

        def _backward():
            self.grad = f32(self.grad + (1 - t * t) * out.grad)

        out._backward = _backward
        return out

    def __radd__(self, other):
        return self + other

    def __rmul__(self, other):
        return self * other

    def backward(self):
        order, seen = [], set()

        def visit(v):
            if id(v) not in seen:
                seen.add(id(v))
                for p in v._prev:
                    visit(p)
                order.append(v)

        visit(self)
        self.grad = 1.0
        for v in reversed(order):
            v._backward()
