"""A tensor engine shaped like fygrad: a node takes a label before its value
(`Node("x", value)`), keeps its array in its own `Data` wrapper (`node.value.data`), made at
least 2-D (a number is (1, 1), a vector (1, n)); `.grad` is None until a backward puts a
`Data` there; each step computes a local `grad_a` and hands it to `Node._add_grad(a, ...)`,
which adds it."""

import numpy


class Data:
    def __init__(self, data):
        self.data = numpy.asarray(data, dtype=numpy.float64)
        if self.data.ndim < 2:
            self.data = self.data.reshape((1,) * (2 - self.data.ndim) + self.data.shape)

    @property
    def shape(self):
        return self.data.shape

    def __add__(self, other):
        return Data(self.data + other.data)

    def __float__(self):
        return float(self.data)


def _sum_to_shape(grad, shape):
    grad = grad.sum(axis=tuple(range(grad.ndim - len(shape))))
    axes = tuple(i for i, size in enumerate(shape) if size == 1 and grad.shape[i] != 1)
    return grad.sum(axis=axes, keepdims=True) if axes else grad


class Node:
    def __init__(self, label, value, children=()):
        self.label = label
        self.value = value if isinstance(value, Data) else Data(value)
        self.grad = None
        self.children = list(children)
        self._backward = lambda: None

    @staticmethod
    def _add_grad(node, delta):
        node.grad = delta if node.grad is None else node.grad + delta

    def __add__(self, other):
        other = other if isinstance(other, Node) else Node("c", other)
        out = Node("+", self.value.data + other.value.data, (self, other))

        def backward():
            grad_a = out.grad.data
            Node._add_grad(self, Data(_sum_to_shape(grad_a, self.value.shape)))
            grad_b = out.grad.data
            Node._add_grad(other, Data(_sum_to_shape(grad_b, other.value.shape)))

        out._backward = backward
        return out

    def __mul__(self, other):
        other = other if isinstance(other, Node) else Node("c", other)
        out = Node("*", self.value.data * other.value.data, (self, other))

        def backward():
            grad_a = out.grad.data * other.value.data
            Node._add_grad(self, Data(_sum_to_shape(grad_a, self.value.shape)))
            grad_b = out.grad.data * self.value.data
            Node._add_grad(other, Data(_sum_to_shape(grad_b, other.value.shape)))

        out._backward = backward
        return out

    __radd__ = __add__
    __rmul__ = __mul__

    def exp(self):
        out = Node("exp", numpy.exp(self.value.data), (self,))

        def backward():
            grad = out.grad.data * out.value.data
            Node._add_grad(self, Data(grad))

        out._backward = backward
        return out

    def sum(self, axis=None, keepdims=False):
        out = Node("sum", self.value.data.sum(axis=axis, keepdims=keepdims), (self,))

        def backward():
            grad = out.grad.data
            if axis is not None and not keepdims:
                grad = numpy.expand_dims(grad, axis)
            Node._add_grad(self, Data(grad * numpy.ones_like(self.value.data)))

        out._backward = backward
        return out

    def backward(self):
        order, seen = [], set()

        def visit(node):
            if id(node) not in seen:
                seen.add(id(node))
                for child in node.children:
                    visit(child)
                order.append(node)

        visit(self)
        self.grad = Data(numpy.ones(self.value.shape))
        for node in reversed(order):
            node._backward()
