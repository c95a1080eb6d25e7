"""A torch-style numpy tensor engine for tests: `Function` classes with a `ctx`, PyTorch's
spellings (`dim`, `keepdim`, `view(*shape)`, `permute(*dims)`, `expand(*sizes)`), and a
sweep that adds the gradients each `backward(ctx, grad)` returns to the parents' `.grad`."""

from __future__ import annotations

from typing import Any

import numpy as np


def sum_to(grad: Any, shape: tuple[int, ...]) -> Any:
    while grad.ndim > len(shape):
        grad = grad.sum(axis=0)
    for i, n in enumerate(shape):
        if n == 1 and grad.shape[i] != 1:
            grad = grad.sum(axis=i, keepdims=True)
    return grad


def restore(grad: Any, shape: tuple[int, ...], dim: Any, keepdim: bool) -> Any:
    if dim is None:
        dims = tuple(range(len(shape)))
    elif isinstance(dim, int):
        dims = (dim % len(shape),)
    else:
        dims = tuple(sorted(d % len(shape) for d in dim))
    if not keepdim:
        grad = np.expand_dims(grad, dims)
    return np.broadcast_to(grad, shape)


class Ctx:
    def __init__(self) -> None:
        self.saved: tuple[Any, ...] = ()

    def save_for_backward(self, *values: Any) -> None:
        self.saved = values


class Function:
    @classmethod
    def apply(cls, *args: Any, **kwargs: Any) -> Tensor:
        ctx = Ctx()
        parents = tuple(a for a in args if isinstance(a, Tensor))
        raw = [a.data if isinstance(a, Tensor) else a for a in args]
        out = Tensor(cls.forward(ctx, *raw, **kwargs))
        out._ctx, out._fn, out._parents = ctx, cls, parents
        out._slots = tuple(i for i, a in enumerate(args) if isinstance(a, Tensor))
        return out


class Add(Function):
    @staticmethod
    def forward(ctx: Ctx, a: Any, b: Any) -> Any:
        ctx.save_for_backward(np.shape(a), np.shape(b))
        return a + b

    @staticmethod
    def backward(ctx: Ctx, grad: Any) -> tuple[Any, ...]:
        sa, sb = ctx.saved
        return sum_to(grad, sa), sum_to(grad, sb)


class Mul(Function):
    @staticmethod
    def forward(ctx: Ctx, a: Any, b: Any) -> Any:
        ctx.save_for_backward(a, b)
        return a * b

    @staticmethod
    def backward(ctx: Ctx, grad: Any) -> tuple[Any, ...]:
        a, b = ctx.saved
        return sum_to(grad * b, np.shape(a)), sum_to(grad * a, np.shape(b))


class Exp(Function):
    @staticmethod
    def forward(ctx: Ctx, a: Any) -> Any:
        out = np.exp(a)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx: Ctx, grad: Any) -> tuple[Any, ...]:
        (out,) = ctx.saved
        return (grad * out,)


class Sum(Function):
    @staticmethod
    def forward(ctx: Ctx, a: Any, dim: Any = None, keepdim: bool = False) -> Any:
        ctx.save_for_backward(a.shape, dim, keepdim)
        return a.sum(axis=dim, keepdims=keepdim)

    @staticmethod
    def backward(ctx: Ctx, grad: Any) -> tuple[Any, ...]:
        shape, dim, keepdim = ctx.saved
        return (restore(grad, shape, dim, keepdim),)


class Mean(Function):
    @staticmethod
    def forward(ctx: Ctx, a: Any, dim: Any = None, keepdim: bool = False) -> Any:
        out = a.mean(axis=dim, keepdims=keepdim)
        ctx.save_for_backward(a.shape, dim, keepdim, a.size // max(np.size(out), 1))
        return out

    @staticmethod
    def backward(ctx: Ctx, grad: Any) -> tuple[Any, ...]:
        shape, dim, keepdim, count = ctx.saved
        return (restore(grad, shape, dim, keepdim) / count,)


class View(Function):
    @staticmethod
    def forward(ctx: Ctx, a: Any, shape: tuple[int, ...] = ()) -> Any:
        ctx.save_for_backward(a.shape)
        return a.reshape(shape)

    @staticmethod
    def backward(ctx: Ctx, grad: Any) -> tuple[Any, ...]:
        (shape,) = ctx.saved
        return (grad.reshape(shape),)


class Permute(Function):
    @staticmethod
    def forward(ctx: Ctx, a: Any, dims: tuple[int, ...] = ()) -> Any:
        ctx.save_for_backward(dims)
        return a.transpose(dims)

    @staticmethod
    def backward(ctx: Ctx, grad: Any) -> tuple[Any, ...]:
        (dims,) = ctx.saved
        return (grad.transpose(np.argsort(dims)),)


class Tensor:
    def __init__(self, data: Any) -> None:
        self.data = np.array(data, dtype=np.float64)
        self.grad = np.zeros_like(self.data)
        self._ctx: Ctx | None = None
        self._fn: Any = None
        self._parents: tuple[Tensor, ...] = ()
        self._slots: tuple[int, ...] = ()  # which arguments of the Function were tensors

    def __add__(self, other: Any) -> Tensor:
        return Add.apply(self, other)

    def __radd__(self, other: Any) -> Tensor:
        return Add.apply(other, self)

    def __mul__(self, other: Any) -> Tensor:
        return Mul.apply(self, other)

    def __rmul__(self, other: Any) -> Tensor:
        return Mul.apply(other, self)

    def exp(self) -> Tensor:
        return Exp.apply(self)

    def sum(self, dim: Any = None, keepdim: bool = False) -> Tensor:
        return Sum.apply(self, dim=dim, keepdim=keepdim)

    def mean(self, dim: Any = None, keepdim: bool = False) -> Tensor:
        return Mean.apply(self, dim=dim, keepdim=keepdim)

    def view(self, *shape: int) -> Tensor:
        return View.apply(self, shape=shape)

    def permute(self, *dims: int) -> Tensor:
        return Permute.apply(self, dims=dims)

    def backward(self) -> None:
        order: list[Tensor] = []
        seen: set[int] = set()

        def visit(node: Tensor) -> None:
            if id(node) not in seen:
                seen.add(id(node))
                for parent in node._parents:
                    visit(parent)
                order.append(node)

        visit(self)
        self.grad = np.ones_like(self.data)
        for node in reversed(order):
            if node._fn is None:
                continue
            grads = node._fn.backward(node._ctx, node.grad)
            for parent, slot in zip(node._parents, node._slots, strict=True):
                parent.grad = parent.grad + grads[slot]
