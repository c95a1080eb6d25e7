"""A numpy engine whose backward() sorts the graph with a stack, not a recursion, as an engine
on GitHub does: a node is pushed for each user that meets it unvisited, and popped (and put
in the topological list) each time it comes up.  Where a node's user reaches it both directly
and through another child, and the user's set of children gives that other child first, the
node is put in the list twice and its step runs twice: wrong in some graph orders only, so a
user's run is wrong or right by luck of the nodes' addresses.  Its ops are right."""

# mypy: ignore-errors

import numpy as np


def _unbroadcast(grad, shape):
    """grad summed over the axes its operand was broadcast along, to the operand's shape."""
    while grad.ndim > len(shape):
        grad = grad.sum(axis=0)
    for axis, size in enumerate(shape):
        if size == 1:
            grad = grad.sum(axis=axis, keepdims=True)
    return grad


class Tensor:
    def __init__(self, data, _children=()):
        self.data = np.array(data, dtype=np.float64)
        self.grad = np.zeros_like(self.data)
        self._backward = lambda: None
        self._prev = set(_children)

    def __add__(self, other):
        other = other if isinstance(other, Tensor) else Tensor(other)
        out = Tensor(self.data + other.data, (self, other))

        def _backward():
            self.grad += _unbroadcast(out.grad, self.data.shape)
            other.grad += _unbroadcast(out.grad, other.data.shape)

        out._backward = _backward
        return out

    def __mul__(self, other):
        other = other if isinstance(other, Tensor) else Tensor(other)
        out = Tensor(self.data * other.data, (self, other))

        def _backward():
            self.grad += _unbroadcast(other.data * out.grad, self.data.shape)
            other.grad += _unbroadcast(self.data * out.grad, other.data.shape)

        out._backward = _backward
        return out

    def sum(self):
        out = Tensor(self.data.sum(), (self,))

        def _backward():
            self.grad += np.ones_like(self.data) * out.grad

        out._backward = _backward
        return out

    def backward(self):
        topo, visited, stack = [], set(), [self]
        while stack:
            v = stack[-1]
            if v not in visited:
                visited.add(v)
                for child in v._prev:
                    if child not in visited:
                        stack.append(child)
            if stack[-1] is v:
                stack.pop()
                topo.append(v)
        self.grad = np.ones_like(self.data)
        for v in reversed(topo):
            v._backward()
