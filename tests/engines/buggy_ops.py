"""Buggy: abs(x) and +x drop their parents (gradient 0), logcosh's derivative is twice too big."""

import math


class Value:
    def __init__(self, data, _children=()):
        self.data = float(data)
        self.grad = 0.0
        self._prev = tuple(_children)
        self._backward = lambda: None

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

    def __pow__(self, other):
        if isinstance(other, Value):
            out = Value(self.data**other.data, (self, other))

            def _backward():
                self.grad += other.data * self.data ** (other.data - 1) * out.grad
                other.grad += out.data * math.log(self.data) * out.grad

            out._backward = _backward
            return out
        out = Value(self.data**other, (self,))

        def _backward():
            self.grad += other * self.data ** (other - 1) * out.grad

        out._backward = _backward
        return out

    def __rpow__(self, base):
        out = Value(base**self.data, (self,))

        def _backward():
            self.grad += out.data * math.log(base) * out.grad

        out._backward = _backward
        return out

    def __abs__(self):
        return Value(abs(self.data))  # the bug: no parents, no backward step

    def __pos__(self):
        return Value(self.data)  # the bug: no parents, no backward step

    def sigmoid(self):
        s = 1.0 / (1.0 + math.exp(-self.data))
        out = Value(s, (self,))

        def _backward():
            self.grad += s * (1.0 - s) * out.grad

        out._backward = _backward
        return out

    def sin(self):
        out = Value(math.sin(self.data), (self,))

        def _backward():
            self.grad += math.cos(self.data) * out.grad

        out._backward = _backward
        return out

    def softplus(self):
        out = Value(math.log1p(math.exp(self.data)), (self,))

        def _backward():
            self.grad += out.grad / (1.0 + math.exp(-self.data))

        out._backward = _backward
        return out

    def logcosh(self):
        out = Value(math.log(math.cosh(self.data)), (self,))

        def _backward():
            self.grad += 2.0 * math.tanh(self.data) * out.grad

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
