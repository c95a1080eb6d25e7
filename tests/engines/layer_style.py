"""A tensor engine shaped like spladtool's reverse mode (a course project on PyPI): a node
keeps its inputs in `.dependency` and the op that made it in `.layer`; each op is a `Layer`
class whose `backward(*inputs, g)` calls each input's own `backward(grad)` (a recursive
pass, no topological order); the operators hand their work to module functions (`prod`,
`sumup`, `div`, `inv`, `neg`) that build the layers, two calls deep for division; `.grad`
is a read-only property over `._grad`.  Operands of one shape only, as spladtool's."""

import numpy as np


class Tensor:
    def __init__(self, x):
        self.data = np.array(x, dtype=float)
        self._grad = np.zeros_like(self.data)
        self.dependency = None
        self.layer = None

    @property
    def grad(self):
        return self._grad

    @property
    def shape(self):
        return self.data.shape

    def zero_grad(self):
        self._grad = np.zeros_like(self.data)

    def backward(self, g=None):
        if g is None:
            g = np.ones_like(self.data)
        self._grad = self._grad + g
        if self.dependency is not None:
            self.layer.backward(*self.dependency, g)

    def __add__(self, y):
        return sumup(self, y)

    def __radd__(self, y):
        return sumup(self, y)

    def __mul__(self, y):
        return prod(self, y)

    def __rmul__(self, y):
        return prod(self, y)

    def __neg__(self):
        return neg(self)

    def __sub__(self, y):
        return sumup(self, neg(y)) if isinstance(y, Tensor) else sumup(self, -y)

    def __truediv__(self, y):
        return div(self, y)

    def __pow__(self, p):
        return Power(p)(self)

    def exp(self):
        return Exp()(self)

    def sum(self):
        return Sum()(self)


class Layer:
    def __call__(self, *args):
        return self.forward(*args)

    def made(self, data, *inputs):
        out = Tensor(data)
        out.dependency = list(inputs)
        out.layer = self
        return out


class TensorSum(Layer):
    def forward(self, x, y):
        assert x.shape == y.shape
        return self.made(x.data + y.data, x, y)

    def backward(self, x, y, g):
        x.backward(g.copy())
        y.backward(g.copy())


class NumSum(Layer):
    def __init__(self, c):
        self.c = c

    def forward(self, x):
        return self.made(x.data + self.c, x)

    def backward(self, x, g):
        x.backward(g.copy())


class TensorProd(Layer):
    def forward(self, x, y):
        assert x.shape == y.shape
        return self.made(x.data * y.data, x, y)

    def backward(self, x, y, g):
        x.backward(g * y.data)
        y.backward(g * x.data)


class NumProd(Layer):
    def __init__(self, c):
        self.c = c

    def forward(self, x):
        return self.made(x.data * self.c, x)

    def backward(self, x, g):
        x.backward(g * self.c)


class TensorInv(Layer):
    def forward(self, x):
        return self.made(1.0 / x.data, x)

    def backward(self, x, g):
        x.backward(-g / x.data**2)


class Power(Layer):
    def __init__(self, p):
        self.p = p

    def forward(self, x):
        return self.made(x.data**self.p, x)

    def backward(self, x, g):
        x.backward(self.p * x.data ** (self.p - 1) * g)


class Exp(Layer):
    def forward(self, x):
        return self.made(np.exp(x.data), x)

    def backward(self, x, g):
        x.backward(np.exp(x.data) * g)


class Sum(Layer):
    def forward(self, x):
        return self.made(np.sum(x.data), x)

    def backward(self, x, g):
        x.backward(g * np.ones_like(x.data))


def sumup(x, y):
    return TensorSum()(x, y) if isinstance(y, Tensor) else NumSum(y)(x)


def prod(x, y):
    return TensorProd()(x, y) if isinstance(y, Tensor) else NumProd(y)(x)


def inv(x):
    return TensorInv()(x)


def div(x, y):
    return prod(x, inv(y)) if isinstance(y, Tensor) else prod(x, 1.0 / y)


def neg(x):
    return prod(x, -1)
