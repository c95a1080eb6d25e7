"""The ops that are not operators: functions of a tensor, each with its backward step."""

from __future__ import annotations

import numpy as np

from .tensor import Tensor


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
