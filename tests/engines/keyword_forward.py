"""Style: class Node, children in `prev`, forwards computed into a local, passed by keyword."""

import math


class Node:
    def __init__(self, data, prev=(), op=""):
        self.data = float(data)
        self.grad = 0.0
        self.prev = prev
        self.op = op
        self._backward = lambda: None

    def __add__(self, other):
        other = other if isinstance(other, Node) else Node(other)
        total = self.data + other.data
        out = Node(data=total, prev=(self, other), op="+")

        def _backward():
            self.grad += out.grad
            other.grad += out.grad

        out._backward = _backward
        return out

    def __mul__(self, other):
        other = other if isinstance(other, Node) else Node(other)
        product = self.data * other.data
        out = Node(data=product, prev=(self, other), op="*")

        def _backward():
            self.grad += other.data * out.grad
            other.grad += self.data * out.grad

        out._backward = _backward
        return out

    def exp(self):
        e = math.exp(self.data)
        out = Node(data=e, prev=(self,), op="exp")

        def _backward():
            self.grad += e * out.grad

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
                for p in v.prev:
                    visit(p)
                order.append(v)

        visit(self)
        self.grad = 1.0
        for v in reversed(order):
            v._backward()
