"""A tensor engine written for these tests whose `.grad` is itself a node, and whose steps
add into its array in place, as atomic-autograd's do: `self.grad.data += ...`."""

# mypy: ignore-errors

import numpy as np


def _unbroadcast(grad, shape):
    while grad.ndim > len(shape):
        grad = grad.sum(axis=0)
    for axis, size in enumerate(shape):
        if size == 1 and grad.shape[axis] != 1:
            grad = grad.sum(axis=axis, keepdims=True)
    return grad


class Tensor:
    def __init__(self, data, _children=(), _is_grad=False):
        self.data = np.array(data, dtype=np.float64)
        self._prev = tuple(_children)
        self._backward = lambda: None
        self.grad = None if _is_grad else Tensor(np.zeros_like(self.data), _is_grad=True)

    def __add__(self, other):
        other = other if isinstance(other, Tensor) else Tensor(other)
        out = Tensor(self.data + other.data, (self, other))

        def _backward():
            self.grad.data += _unbroadcast(out.grad.data, self.data.shape)
            other.grad.data += _unbroadcast(out.grad.data, other.data.shape)

        out._backward = _backward
        return out

    def __mul__(self, other):
        other = other if isinstance(other, Tensor) else Tensor(other)
        out = Tensor(self.data * other.data, (self, other))

        def _backward():
            self.grad.data += _unbroadcast(other.data * out.grad.data, self.data.shape)
            other.grad.data += _unbroadcast(self.data * out.grad.data, other.data.shape)

        out._backward = _backward
        return out

    def __radd__(self, other):
        return self + other

    def __rmul__(self, other):
        return self * other

    def sum(self):
        out = Tensor(self.data.sum(), (self,))

        def _backward():
            self.grad.data += np.broadcast_to(out.grad.data, self.data.shape)

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
        self.grad = Tensor(np.ones_like(self.data), _is_grad=True)
        for v in reversed(topo):
            v._backward()
