"""The node: its methods hand every op to functional.py."""

from __future__ import annotations

from . import functional as F


class Value:
    def __init__(self, data, children=(), grad_fn=None):
        self.data = float(data)
        self.grad = 0.0
        self.children = tuple(children)
        self.grad_fn = grad_fn

    def __add__(self, other):
        return F.add(self, other)

    def __radd__(self, other):
        return F.add(self, other)

    def __mul__(self, other):
        return F.multiply(self, other)

    def __rmul__(self, other):
        return F.multiply(self, other)

    def __neg__(self):
        return self * -1.0

    def __sub__(self, other):
        return self + (-other)

    def tanh(self):
        return F.tanh(self)

    def exp(self):
        return F.exp(self)

    def backward(self):
        order, seen = [], set()

        def visit(node):
            if id(node) not in seen:
                seen.add(id(node))
                for child in node.children:
                    visit(child)
                order.append(node)

        visit(self)
        self.grad = 1.0
        for node in reversed(order):
            if node.grad_fn is not None:
                node.grad_fn(node, *node.children)
