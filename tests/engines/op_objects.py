"""A tensor engine shaped like tidygrad: each op is an object that keeps its inputs in
`self.parents` and its output in `self.out`, and whose `backward()` adds into
`self.parents[0].grad`: the nodes a step names are attributes and indexes, not names."""

import numpy as np


class Tensor:
    def __init__(self, data, op=None):
        self.data = np.array(data, dtype=np.float64)
        self.grad = np.zeros_like(self.data)
        self.op = op

    def __add__(self, other):
        return Add(self, other if isinstance(other, Tensor) else Tensor(other)).out

    def __mul__(self, other):
        return Mul(self, other if isinstance(other, Tensor) else Tensor(other)).out

    __radd__ = __add__
    __rmul__ = __mul__

    def sum(self):
        return Sum(self).out

    def backward(self):
        order, seen = [], set()

        def visit(node):
            if id(node) not in seen:
                seen.add(id(node))
                for parent in node.op.parents if node.op else ():
                    visit(parent)
                order.append(node)

        visit(self)
        self.grad = np.ones_like(self.data)
        for node in reversed(order):
            if node.op is not None:
                node.op.backward()


def _unbroadcast(grad, shape):
    grad = grad.sum(axis=tuple(range(grad.ndim - len(shape))))
    axes = tuple(i for i, size in enumerate(shape) if size == 1 and grad.shape[i] != 1)
    return grad.sum(axis=axes, keepdims=True) if axes else grad


class Add:
    def __init__(self, a, b):
        self.parents = (a, b)
        self.out = Tensor(a.data + b.data, self)

    def backward(self):
        self.parents[0].grad += _unbroadcast(self.out.grad, self.parents[0].data.shape)
        self.parents[1].grad += _unbroadcast(self.out.grad, self.parents[1].data.shape)


class Mul:
    def __init__(self, a, b):
        self.parents = (a, b)
        self.out = Tensor(a.data * b.data, self)

    def backward(self):
        a, b = self.parents
        self.parents[0].grad += _unbroadcast(self.out.grad * b.data, a.data.shape)
        self.parents[1].grad += _unbroadcast(self.out.grad * a.data, b.data.shape)


class Sum:
    def __init__(self, a):
        self.parents = (a,)
        self.out = Tensor(a.data.sum(), self)

    def backward(self):
        self.parents[0].grad += self.out.grad * np.ones_like(self.parents[0].data)
