import numpy as np

from registry.tensor import Function, register


def _unbroadcast(grad, shape):
    grad = grad.sum(axis=tuple(range(grad.ndim - len(shape))))
    axes = tuple(i for i, size in enumerate(shape) if size == 1 and grad.shape[i] != 1)
    return grad.sum(axis=axes, keepdims=True) if axes else grad


class Add(Function):
    @staticmethod
    def forward(ctx, x, y):
        ctx.save_for_backward(x.shape, y.shape)
        return x + y

    @staticmethod
    def backward(ctx, grad_output):
        shape_x, shape_y = ctx.saved
        return _unbroadcast(grad_output, shape_x), _unbroadcast(grad_output, shape_y)


register("add", Add)


class Mul(Function):
    @staticmethod
    def forward(ctx, x, y):
        ctx.save_for_backward(x, y)
        return x * y

    @staticmethod
    def backward(ctx, grad_output):
        x, y = ctx.saved
        return _unbroadcast(y * grad_output, x.shape), _unbroadcast(x * grad_output, y.shape)


register("mul", Mul)


class Sum(Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x.shape)
        return np.array(x.sum())

    @staticmethod
    def backward(ctx, grad_output):
        (shape,) = ctx.saved
        return grad_output * np.ones(shape)


register("sum", Sum)


class Exp(Function):
    @staticmethod
    def forward(ctx, x):
        out = np.exp(x)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, grad_output):
        (out,) = ctx.saved
        return grad_output * out


register("exp", Exp)


class Mean(Function):  # built on Mul's step in a sense: mean runs Sum and Mul both
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x.shape)
        return np.array(x.mean())

    @staticmethod
    def backward(ctx, grad_output):
        (shape,) = ctx.saved
        return grad_output * np.ones(shape) / np.prod(shape)


register("mean", Mean)
