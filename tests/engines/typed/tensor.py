"""The node class: a tensor type, a step function and parents per node."""

from __future__ import annotations

import enum

import numpy as np


class TensorType(enum.IntEnum):
    INPUT = 0
    PARAMETER = 1
    INTERMEDIATE = 2


def unbroadcast(grad, shape):
    while grad.ndim > len(shape):
        grad = grad.sum(axis=0)
    for axis, size in enumerate(shape):
        if size == 1 and grad.shape[axis] != 1:
            grad = grad.sum(axis=axis, keepdims=True)
    return grad


class Tensor:
    def __init__(self, data, tensor_type=TensorType.INPUT):
        self.data = np.asarray(data, dtype=np.float64)
        self.grad = np.zeros_like(self.data)
        self.tensor_type = tensor_type
        self.grad_fn = None
        self.parents = ()

    @property
    def shape(self):
        return self.data.shape

    @staticmethod
    def node(data, grad_fn, parents):
        out = Tensor(data)
        if any(p.tensor_type != TensorType.INPUT for p in parents):
            out.tensor_type = TensorType.INTERMEDIATE
            out.grad_fn, out.parents = grad_fn, parents
        return out

    def __add__(self, other):
        from .grad import add_backward

        other = other if isinstance(other, Tensor) else Tensor(other)
        return Tensor.node(self.data + other.data, add_backward, (self, other))

    def __mul__(self, other):
        from .grad import mul_backward

        other = other if isinstance(other, Tensor) else Tensor(other)
        return Tensor.node(self.data * other.data, mul_backward, (self, other))

    def __radd__(self, other):
        return self + other

    def __rmul__(self, other):
        return self * other

    def backward(self):
        if self.tensor_type == TensorType.INPUT:
            raise RuntimeError("Tensor does not require gradients")
        topo, seen = [], set()

        def build(v):
            if id(v) not in seen:
                seen.add(id(v))
                for parent in v.parents:
                    build(parent)
                topo.append(v)

        build(self)
        self.grad = np.ones_like(self.data)
        for v in reversed(topo):
            if v.grad_fn is None:
                continue
            for parent, grad in zip(v.parents, v.grad_fn(v, v.grad), strict=True):
                if parent.tensor_type != TensorType.INPUT:
                    parent.grad = parent.grad + unbroadcast(grad, parent.shape)
