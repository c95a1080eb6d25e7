# mypy: ignore-errors
import math

import minitorch

from . import operators
from .autodiff import Context


class ScalarFunction:
    """An op: `forward(ctx, *numbers)` gives a number, `backward(ctx, d)` one per input."""

    @classmethod
    def apply(cls, *values):
        scalars = [v if isinstance(v, minitorch.Scalar) else minitorch.Scalar(v) for v in values]
        ctx = Context()
        out = float(cls.forward(ctx, *(s.data for s in scalars)))
        return minitorch.Scalar(out, minitorch.ScalarHistory(cls, ctx, tuple(scalars)))

    @classmethod
    def backward_all(cls, ctx, d_output):
        d = cls.backward(ctx, d_output)
        return d if isinstance(d, tuple) else (d,)


class Add(ScalarFunction):
    @staticmethod
    def forward(ctx, a, b):
        return a + b

    @staticmethod
    def backward(ctx, d_output):
        return d_output, d_output


class Mul(ScalarFunction):
    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return a * b

    @staticmethod
    def backward(ctx, d_output):
        a, b = ctx.saved_values
        return d_output * b, d_output * a


class Neg(ScalarFunction):
    @staticmethod
    def forward(ctx, a):
        return -a

    @staticmethod
    def backward(ctx, d_output):
        return -d_output


class Inv(ScalarFunction):
    @staticmethod
    def forward(ctx, a):
        ctx.save_for_backward(a)
        return operators.inv(a)

    @staticmethod
    def backward(ctx, d_output):
        (a,) = ctx.saved_values
        return operators.inv_back(a, d_output)


class Log(ScalarFunction):
    @staticmethod
    def forward(ctx, a):
        ctx.save_for_backward(a)
        return operators.log(a)

    @staticmethod
    def backward(ctx, d_output):
        (a,) = ctx.saved_values
        return operators.log_back(a, d_output)


class Exp(ScalarFunction):
    @staticmethod
    def forward(ctx, a):
        out = math.exp(a)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, d_output):
        (out,) = ctx.saved_values
        return d_output * out


class Sigmoid(ScalarFunction):
    @staticmethod
    def forward(ctx, a):
        s = operators.sigmoid(a)
        ctx.save_for_backward(s)
        return s

    @staticmethod
    def backward(ctx, d_output):
        (s,) = ctx.saved_values
        return d_output * s * (1.0 - s)


class ReLU(ScalarFunction):
    @staticmethod
    def forward(ctx, a):
        ctx.save_for_backward(a)
        return a if a > 0 else 0.0

    @staticmethod
    def backward(ctx, d_output):
        (a,) = ctx.saved_values
        return operators.relu_back(a, d_output)
