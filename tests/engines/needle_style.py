"""A tensor engine shaped like CMU's needle (the 10-714 course's, and gradflow's): `.data` is
a detached node, the array is `cached_data`, `.grad` does not exist until a backward sets it
(each backward sets it again: no accumulation across backwards), each op is a class whose
`gradient(out_grad, node)` returns its inputs' gradients as nodes, and `transpose(axes)` swaps
two axes (torch's transpose(dim0, dim1)), not numpy's permutation; `__sub__` builds the classes
of add and neg, `EWiseAdd()(self, Negate()(other))`, as needle's does."""

import numpy


def _unbroadcast(grad, shape):
    grad = grad.sum(axis=tuple(range(grad.ndim - len(shape))))
    for axis, size in enumerate(shape):
        if size == 1 and grad.shape[axis] != 1:
            grad = grad.sum(axis=axis, keepdims=True)
    return grad


class Op:
    def __call__(self, *args):
        out = Tensor.__new__(Tensor)
        out.op, out.inputs = self, list(args)
        out.cached_data = self.compute(*[a.cached_data for a in args])
        return out

    def gradient_as_tuple(self, out_grad, node):
        grads = self.gradient(out_grad, node)
        return grads if isinstance(grads, tuple) else (grads,)


class EWiseAdd(Op):
    def compute(self, a, b):
        return a + b

    def gradient(self, out_grad, node):
        a, b = node.inputs
        g = out_grad.cached_data
        return Tensor(_unbroadcast(g, a.shape)), Tensor(_unbroadcast(g, b.shape))


class EWiseMul(Op):
    def compute(self, a, b):
        return a * b

    def gradient(self, out_grad, node):
        a, b = node.inputs
        g = out_grad.cached_data
        return (
            Tensor(_unbroadcast(g * b.cached_data, a.shape)),
            Tensor(_unbroadcast(g * a.cached_data, b.shape)),
        )


class Negate(Op):
    def compute(self, a):
        return -a

    def gradient(self, out_grad, node):
        return Tensor(-out_grad.cached_data)


class MulScalar(Op):
    def __init__(self, scalar):
        self.scalar = scalar

    def compute(self, a):
        return a * self.scalar

    def gradient(self, out_grad, node):
        return Tensor(out_grad.cached_data * self.scalar)


class Exp(Op):
    def compute(self, a):
        return numpy.exp(a)

    def gradient(self, out_grad, node):
        return Tensor(out_grad.cached_data * node.cached_data)


class Summation(Op):
    def __init__(self, axes=None):
        self.axes = (axes,) if isinstance(axes, int) else axes

    def compute(self, a):
        return a.sum(axis=self.axes)

    def gradient(self, out_grad, node):
        shape = node.inputs[0].shape
        axes = range(len(shape)) if self.axes is None else self.axes
        kept = list(shape)
        for axis in axes:
            kept[axis % len(shape)] = 1
        return Tensor(numpy.broadcast_to(out_grad.cached_data.reshape(kept), shape).copy())


class MatMul(Op):
    def compute(self, a, b):
        return a @ b

    def gradient(self, out_grad, node):
        a, b = (n.cached_data for n in node.inputs)
        a2 = a[None, :] if a.ndim == 1 else a  # a vector is a matrix of one row, or column
        b2 = b[:, None] if b.ndim == 1 else b
        g = out_grad.cached_data.reshape((a2 @ b2).shape)
        ga = _unbroadcast(g @ numpy.swapaxes(b2, -1, -2), a2.shape).reshape(a.shape)
        gb = _unbroadcast(numpy.swapaxes(a2, -1, -2) @ g, b2.shape).reshape(b.shape)
        return Tensor(ga), Tensor(gb)


class Transpose(Op):
    def __init__(self, axes):
        self.axes = axes

    def compute(self, a):
        return numpy.swapaxes(a, self.axes[0], self.axes[1])

    def gradient(self, out_grad, node):
        return Tensor(Transpose(self.axes).compute(out_grad.cached_data))


class Tensor:
    grad: "Tensor"

    def __init__(self, array, requires_grad=True):
        self.op, self.inputs = None, []
        self.cached_data = numpy.array(array, dtype=numpy.float64)
        self.requires_grad = requires_grad

    @property
    def data(self):
        return Tensor(self.cached_data)

    @property
    def shape(self):
        return self.cached_data.shape

    def numpy(self):
        return self.cached_data

    def __add__(self, other):
        return EWiseAdd()(self, other if isinstance(other, Tensor) else Tensor(other))

    def __mul__(self, other):
        if isinstance(other, Tensor):
            return EWiseMul()(self, other)
        return MulScalar(other)(self)

    __radd__ = __add__
    __rmul__ = __mul__

    def __neg__(self):
        return Negate()(self)

    def __sub__(self, other):  # needle's: the classes of add and neg
        return EWiseAdd()(self, Negate()(other if isinstance(other, Tensor) else Tensor(other)))

    def __matmul__(self, other):
        return MatMul()(self, other)

    def exp(self):
        return Exp()(self)

    def sum(self, axes=None):
        return Summation(axes)(self)

    def transpose(self, axes):
        return Transpose(axes)(self)

    def backward(self, out_grad=None):
        out_grad = out_grad if out_grad else Tensor(numpy.ones(self.shape))
        grads = {id(self): [out_grad]}
        for node in reversed(_topo_order(self)):
            node.grad = Tensor(sum(g.cached_data for g in grads[id(node)]))
            if node.op is None:
                continue
            for child, grad in zip(
                node.inputs, node.op.gradient_as_tuple(node.grad, node), strict=True
            ):
                grads.setdefault(id(child), []).append(grad)


def _topo_order(root):
    order, seen = [], set()

    def visit(node):
        if id(node) in seen:
            return
        seen.add(id(node))
        for child in node.inputs:
            visit(child)
        order.append(node)

    visit(root)
    return order
