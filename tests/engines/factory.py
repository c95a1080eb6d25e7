"""A scalar engine whose constructor is internal (every argument required: the value, its
children and the op that made it), whose leaves come from a factory: `value(x)`."""

import math


class Value:
    def __init__(self, data, children, op):
        self.data, self.grad = data, 0.0
        self._prev, self._op = tuple(children), op
        self._backward = lambda: None

    def __add__(self, other):
        other = other if isinstance(other, Value) else value(other)
        out = Value(self.data + other.data, (self, other), "+")

        def _backward():
            self.grad += out.grad
            other.grad += out.grad

        out._backward = _backward
        return out

    def __mul__(self, other):
        other = other if isinstance(other, Value) else value(other)
        out = Value(self.data * other.data, (self, other), "*")

        def _backward():
            self.grad += other.data * out.grad
            other.grad += self.data * out.grad

        out._backward = _backward
        return out

    __radd__ = __add__
    __rmul__ = __mul__

    def tanh(self):
        t = math.tanh(self.data)
        out = Value(t, (self,), "tanh")

        def _backward():
            self.grad += (1 - t * t) * out.grad

        out._backward = _backward
        return out

    def backward(self):
        order, seen = [], set()

        def visit(node):
            if id(node) not in seen:
                seen.add(id(node))
                for child in node._prev:
                    visit(child)
                order.append(node)

        visit(self)
        self.grad = 1.0
        for node in reversed(order):
            node._backward()


def value(data):
    """A leaf."""
    return Value(data, (), "")
