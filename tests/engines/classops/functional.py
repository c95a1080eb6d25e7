"""Each op a class with static forward and backward methods; the module names their
forwards (`add = Add.forward`), and the node's methods call those names."""

from __future__ import annotations

import math

from . import value


def _node(x):
    return x if isinstance(x, value.Value) else value.Value(x)


class Function:
    @staticmethod
    def forward(*args):
        raise NotImplementedError

    @staticmethod
    def backward(out, *children):
        raise NotImplementedError


class Add(Function):
    @staticmethod
    def forward(left, right):
        right = _node(right)
        return value.Value(left.data + right.data, (left, right), Add.backward)

    @staticmethod
    def backward(out, left, right):
        left.grad += out.grad
        right.grad += out.grad


class Multiply(Function):
    @staticmethod
    def forward(left, right):
        right = _node(right)
        return value.Value(left.data * right.data, (left, right), Multiply.backward)

    @staticmethod
    def backward(out, left, right):
        left.grad += right.data * out.grad
        right.grad += left.data * out.grad


class Tanh(Function):
    @staticmethod
    def forward(x):
        return value.Value(math.tanh(x.data), (x,), Tanh.backward)

    @staticmethod
    def backward(out, x):
        x.grad += (1.0 - out.data**2) * out.grad


class Exp(Function):
    @staticmethod
    def forward(x):
        return value.Value(math.exp(x.data), (x,), Exp.backward)

    @staticmethod
    def backward(out, x):
        x.grad += out.data * out.grad


add = Add.forward
multiply = Multiply.forward
tanh = Tanh.forward
exp = Exp.forward
