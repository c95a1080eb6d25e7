"""A tensor engine shaped like a GitHub `minigrad` (ManoahKinnaert's): a node keeps the
record of the op that made it in `.ctx`, whose `_prev` holds the inputs (children one level
down, as old tinygrad's `_ctx.parents` and DeZero's `creator.inputs`); each op is a class
whose static `forward` builds that record and whose static `backward(ctx, grad_out)` returns
the inputs' gradients; backward() hands them to each input's own backward (a recursive
pass).  Unlike that engine's tanh, which saved its output as a new node, every op here is
right."""

import numpy as np


class Context:
    def __init__(self, function, *inputs):
        self.function = function
        self._prev = inputs


def _unbroadcast(grad, shape):
    grad = grad.sum(axis=tuple(range(grad.ndim - len(shape))))
    for axis, size in enumerate(shape):
        if size == 1 and grad.shape[axis] != 1:
            grad = grad.sum(axis=axis, keepdims=True)
    return grad


class Tensor:
    def __init__(self, data, ctx=None):
        self.data = np.array(data, dtype=float)
        self.grad = np.zeros_like(self.data)
        self.ctx = ctx

    def __add__(self, other):
        return Add.forward(self, other if isinstance(other, Tensor) else Tensor(other))

    def __mul__(self, other):
        return Mul.forward(self, other if isinstance(other, Tensor) else Tensor(other))

    def tanh(self):
        return Tanh.forward(self)

    def sum(self):
        return Sum.forward(self)

    def backward(self, grad_out=None):
        grad_out = np.ones_like(self.data) if grad_out is None else grad_out
        self.grad = self.grad + grad_out
        if self.ctx is None:
            return
        grads = self.ctx.function.backward(self.ctx, grad_out)
        for node, grad in zip(self.ctx._prev, grads, strict=True):
            node.backward(grad)


class Add:
    @staticmethod
    def forward(x, y):
        return Tensor(x.data + y.data, Context(Add, x, y))

    @staticmethod
    def backward(ctx, grad_out):
        x, y = ctx._prev
        return _unbroadcast(grad_out, x.data.shape), _unbroadcast(grad_out, y.data.shape)


class Mul:
    @staticmethod
    def forward(x, y):
        return Tensor(x.data * y.data, Context(Mul, x, y))

    @staticmethod
    def backward(ctx, grad_out):
        x, y = ctx._prev
        return (
            _unbroadcast(grad_out * y.data, x.data.shape),
            _unbroadcast(grad_out * x.data, y.data.shape),
        )


class Tanh:
    @staticmethod
    def forward(x):
        return Tensor(np.tanh(x.data), Context(Tanh, x))

    @staticmethod
    def backward(ctx, grad_out):
        (x,) = ctx._prev
        return ((1 - np.tanh(x.data) ** 2) * grad_out,)


class Sum:
    @staticmethod
    def forward(x):
        return Tensor(x.data.sum(), Context(Sum, x))

    @staticmethod
    def backward(ctx, grad_out):
        (x,) = ctx._prev
        return (grad_out * np.ones_like(x.data),)
