"""A numpy tensor engine that owns its gradients, as mygrad does: `.grad` is a read-only
property, reset by `null_grad()`, and each backward() sets the gradients of its graph (it
clears them first), so a second backward does not add to the first's."""

from __future__ import annotations

import numpy as np


def unbroadcast(grad, shape):
    while grad.ndim > len(shape):
        grad = grad.sum(axis=0)
    for axis, size in enumerate(shape):
        if size == 1 and grad.shape[axis] != 1:
            grad = grad.sum(axis=axis, keepdims=True)
    return grad


class Tensor:
    def __init__(self, data, _children=()):
        self.data = np.asarray(data, dtype=np.float64)
        self._grad = np.zeros_like(self.data)
        self._backward = lambda: None
        self._prev = tuple(_children)

    @property
    def grad(self):
        return self._grad

    def null_grad(self):
        self._grad = np.zeros_like(self.data)

    @property
    def shape(self):
        return self.data.shape

    def __add__(self, other):
        other = other if isinstance(other, Tensor) else Tensor(other)
        out = Tensor(self.data + other.data, (self, other))

        def _backward():
            self._grad += unbroadcast(out._grad, self.shape)
            other._grad += unbroadcast(out._grad, other.shape)

        out._backward = _backward
        return out

    def __mul__(self, other):
        other = other if isinstance(other, Tensor) else Tensor(other)
        out = Tensor(self.data * other.data, (self, other))

        def _backward():
            self._grad += unbroadcast(other.data * out._grad, self.shape)
            other._grad += unbroadcast(self.data * out._grad, other.shape)

        out._backward = _backward
        return out

    def __radd__(self, other):
        return self + other

    def __rmul__(self, other):
        return self * other

    def __neg__(self):
        return self * -1.0

    def __sub__(self, other):
        return self + (-other)

    def exp(self):
        out = Tensor(np.exp(self.data), (self,))

        def _backward():
            self._grad += out.data * out._grad

        out._backward = _backward
        return out

    def sum(self, axis=None, keepdims=False):
        out = Tensor(self.data.sum(axis=axis, keepdims=keepdims), (self,))

        def _backward():
            grad = out._grad
            if axis is not None and not keepdims:
                grad = np.expand_dims(grad, axis)
            self._grad += np.broadcast_to(grad, self.shape)

        out._backward = _backward
        return out

    def backward(self):
        topo, seen = [], set()

        def build(v):
            if id(v) not in seen:
                seen.add(id(v))
                for child in v._prev:
                    build(child)
                topo.append(v)

        build(self)
        for v in topo:  # this backward sets the graph's gradients: earlier ones are cleared
            v.null_grad()
        self._grad = np.ones_like(self.data)
        for v in reversed(topo):
            v._backward()
