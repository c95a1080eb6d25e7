"""The ops that are not operators: functions of tensors (matmul of two), each with its
backward step."""

from __future__ import annotations

import numpy as np

from .tensor import Tensor, unbroadcast


def sum(x, axis=None, keepdims=False):
    out = Tensor(x.data.sum(axis=axis, keepdims=keepdims), (x,))

    def _backward():
        grad = out.grad
        if axis is not None and not keepdims:
            grad = np.expand_dims(grad, axis)
        x.grad += np.broadcast_to(grad, x.shape)

    out._backward = _backward
    return out


def exp(x):
    out = Tensor(np.exp(x.data), (x,))

    def _backward():
        x.grad += out.data * out.grad

    out._backward = _backward
    return out


def relu(x):
    out = Tensor(np.maximum(x.data, 0.0), (x,))

    def _backward():
        x.grad += (x.data > 0) * out.grad

    out._backward = _backward
    return out


def tanh(x):
    """Built from the other ops: its gradient is theirs."""
    e = exp(x * 2.0)
    return (e + -1.0) * reciprocal(e + 1.0)


def reciprocal(x):
    out = Tensor(1.0 / x.data, (x,))

    def _backward():
        x.grad += -(out.data**2) * out.grad

    out._backward = _backward
    return out


def matmul(a, b):
    """numpy's matmul, as a function of two nodes (the class has no `@`)."""
    out = Tensor(a.data @ b.data, (a, b))

    def _backward():
        left = a.data[None, :] if a.data.ndim == 1 else a.data
        right = b.data[:, None] if b.data.ndim == 1 else b.data
        g = out.grad
        if b.data.ndim == 1:  # its axis was removed last: put it back first
            g = np.expand_dims(g, -1)
        if a.data.ndim == 1:
            g = np.expand_dims(g, -2)
        a.grad += unbroadcast(g @ np.swapaxes(right, -1, -2), left.shape).reshape(a.shape)
        b.grad += unbroadcast(np.swapaxes(left, -1, -2) @ g, right.shape).reshape(b.shape)

    out._backward = _backward
    return out
