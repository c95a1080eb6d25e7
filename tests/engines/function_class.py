"""Style: PyTorch-like Function classes with forward and backward; a node keeps its context."""

import math


class Function:
    @classmethod
    def apply(cls, *inputs):
        ctx = Context(cls, inputs)
        return Value(cls.forward(ctx, *(x.data for x in inputs)), ctx)


class Context:
    def __init__(self, fn, parents):
        self.fn = fn
        self.parents = parents
        self.saved = ()


class Add(Function):
    @staticmethod
    def forward(ctx, a, b):
        return a + b

    @staticmethod
    def backward(ctx, grad_output):
        return grad_output, grad_output


class Mul(Function):
    @staticmethod
    def forward(ctx, a, b):
        ctx.saved = (a, b)
        return a * b

    @staticmethod
    def backward(ctx, grad_output):
        a, b = ctx.saved
        return b * grad_output, a * grad_output


class Tanh(Function):
    @staticmethod
    def forward(ctx, a):
        t = math.tanh(a)
        ctx.saved = (t,)
        return t

    @staticmethod
    def backward(ctx, grad_output):
        (t,) = ctx.saved
        return ((1 - t * t) * grad_output,)


def _lift(x):
    return x if isinstance(x, Value) else Value(x)


class Value:
    def __init__(self, data, ctx=None):
        self.data = float(data)
        self.grad = 0.0
        self._ctx = ctx

    @property
    def _prev(self):
        return self._ctx.parents if self._ctx is not None else ()

    def __add__(self, other):
        return Add.apply(self, _lift(other))

    def __mul__(self, other):
        return Mul.apply(self, _lift(other))

    def tanh(self):
        return Tanh.apply(self)

    def __radd__(self, other):
        return self + other

    def __rmul__(self, other):
        return self * other

    def backward(self):
        order, seen = [], set()

        def visit(v):
            if id(v) not in seen:
                seen.add(id(v))
                for p in v._prev:
                    visit(p)
                order.append(v)

        visit(self)
        self.grad = 1.0
        for node in reversed(order):
            if node._ctx is None:
                continue
            grads = node._ctx.fn.backward(node._ctx, node.grad)
            for parent, g in zip(node._ctx.parents, grads, strict=True):
                parent.grad += g
