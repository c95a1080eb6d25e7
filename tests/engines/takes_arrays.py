"""A scalar engine whose nodes also take arrays (nanotorch's shape): a list becomes a numpy
array and numpy carries the ops through, but there is no sum(), so no loss of an array can be
built; `.grad` starts as the float 0.0.  `relu` and `tanh` hand their work to module
functions of this file, whose closures are the steps."""

import math

import numpy as np


class Node:
    def __init__(self, data, children=()):
        if isinstance(data, (list, tuple, np.ndarray)):
            data = np.array(data)
        self.data = data
        self.grad = 0.0
        self.children = tuple(children)
        self.grad_fn = lambda: None

    def __add__(self, other):
        other = other if isinstance(other, Node) else Node(other)
        out = Node(self.data + other.data, (self, other))

        def grad_fn():
            self.grad += out.grad
            other.grad += out.grad

        out.grad_fn = grad_fn
        return out

    def __mul__(self, other):
        other = other if isinstance(other, Node) else Node(other)
        out = Node(self.data * other.data, (self, other))

        def grad_fn():
            self.grad += other.data * out.grad
            other.grad += self.data * out.grad

        out.grad_fn = grad_fn
        return out

    def __neg__(self):
        return self * -1

    def __sub__(self, other):
        return self + (-other)

    def __radd__(self, other):
        return self + other

    def __rmul__(self, other):
        return self * other

    def relu(self):
        return relu(self)

    def tanh(self):
        return tanh(self)

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
            node.grad_fn()


def relu(x):
    out = Node(x.data if x.data > 0 else 0.0, (x,))

    def grad_fn():
        x.grad += (out.data > 0) * out.grad

    out.grad_fn = grad_fn
    return out


def tanh(x):
    out = Node(math.tanh(x.data), (x,))

    def grad_fn():
        x.grad += (1.0 - out.data**2) * out.grad

    out.grad_fn = grad_fn
    return out
