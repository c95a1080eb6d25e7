"""A tensor engine whose backward(gradient=None) adds the gradient it is given to its own
node, once, then runs each node's step over a topological order (the published `minitorch`
0.1.0's shape, its sum over an axis made right).  Correct.  1e-6 added to that seed scales
every gradient by a relative 1e-6: no mutant of it (mutation.operators.operator_offset)."""

import numpy as np


class Tensor:
    def __init__(self, data, requires_grad=False, prev=()):
        self.data = np.array(data, dtype=float)
        self.grad = np.zeros_like(self.data) if requires_grad else None
        self.requires_grad = requires_grad
        self.prev = tuple(prev)
        self._backward = lambda: None

    def __add__(self, other):
        other = other if isinstance(other, Tensor) else Tensor(other)
        grads = self.requires_grad or other.requires_grad
        out = Tensor(self.data + other.data, grads, (self, other))

        def _backward():
            if self.requires_grad:
                self.grad += _unbroadcast(out.grad, self.data.shape)
            if other.requires_grad:
                other.grad += _unbroadcast(out.grad, other.data.shape)

        out._backward = _backward
        return out

    def __mul__(self, other):
        other = other if isinstance(other, Tensor) else Tensor(other)
        grads = self.requires_grad or other.requires_grad
        out = Tensor(self.data * other.data, grads, (self, other))

        def _backward():
            if self.requires_grad:
                self.grad += _unbroadcast(other.data * out.grad, self.data.shape)
            if other.requires_grad:
                other.grad += _unbroadcast(self.data * out.grad, other.data.shape)

        out._backward = _backward
        return out

    def sum(self, axis=None, keepdims=False):
        out = Tensor(np.sum(self.data, axis=axis, keepdims=keepdims), self.requires_grad, (self,))

        def _backward():
            if self.requires_grad:
                grad = out.grad
                if axis is not None and not keepdims:
                    grad = np.expand_dims(grad, axis)
                self.grad += np.ones_like(self.data) * grad

        out._backward = _backward
        return out

    def backward(self, gradient=None):
        if not self.requires_grad:
            return
        if gradient is None:
            gradient = np.ones_like(self.data)
        if self.grad is None:
            self.grad = np.zeros_like(self.data)
        self.grad += gradient
        topo, visited = [], set()

        def build_topo(v):
            if id(v) not in visited and v.requires_grad:
                visited.add(id(v))
                for prev in v.prev:
                    build_topo(prev)
                topo.append(v)

        build_topo(self)
        for node in reversed(topo):
            node._backward()


def _unbroadcast(grad, shape):
    while grad.ndim > len(shape):
        grad = grad.sum(axis=0)
    for i, size in enumerate(shape):
        if size == 1 and grad.shape[i] != 1:
            grad = grad.sum(axis=i, keepdims=True)
    return grad
