"""A numpy tensor engine for tests whose backward steps live in a table: each node records its
op's name, and `backward()` looks the step up in `BACKWARD` (no closure, no Function class).

Its matmul backward takes 2-D and batched operands only (`swapaxes` on a 1-D operand raises), as
in several published engines: the battery's cases with a vector operand fail."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np


def reduce_to(grad: Any, shape: tuple[int, ...]) -> Any:
    while grad.ndim > len(shape):
        grad = grad.sum(axis=0)
    for i, n in enumerate(shape):
        if n == 1 and grad.shape[i] != 1:
            grad = grad.sum(axis=i, keepdims=True)
    return grad


def add_backward(out: Tensor) -> None:
    a, b = out.prev
    a.grad += reduce_to(out.grad, a.data.shape)
    b.grad += reduce_to(out.grad, b.data.shape)


def mul_backward(out: Tensor) -> None:
    a, b = out.prev
    a.grad += reduce_to(b.data * out.grad, a.data.shape)
    b.grad += reduce_to(a.data * out.grad, b.data.shape)


def tanh_backward(out: Tensor) -> None:
    (a,) = out.prev
    a.grad += (1 - out.data**2) * out.grad


def matmul_backward(out: Tensor) -> None:
    a, b = out.prev
    a.grad += reduce_to(out.grad @ np.swapaxes(b.data, -1, -2), a.data.shape)
    b.grad += reduce_to(np.swapaxes(a.data, -1, -2) @ out.grad, b.data.shape)


def sum_backward(out: Tensor) -> None:
    (a,) = out.prev
    axis, keepdims = out.args
    grad = out.grad
    if axis is not None and not keepdims:
        axes = (axis,) if isinstance(axis, int) else axis
        grad = np.expand_dims(grad, tuple(sorted(x % a.data.ndim for x in axes)))
    a.grad += np.broadcast_to(grad, a.data.shape)


BACKWARD: dict[str, Callable[[Tensor], None]] = {
    "add": add_backward,
    "mul": mul_backward,
    "tanh": tanh_backward,
    "matmul": matmul_backward,
    "sum": sum_backward,
}


class Tensor:
    def __init__(self, data: Any, prev: tuple[Tensor, ...] = (), op: str = "") -> None:
        self.data = np.array(data, dtype=np.float64)
        self.grad = np.zeros_like(self.data)
        self.prev = prev
        self.op = op
        self.args: tuple[Any, ...] = ()

    @staticmethod
    def _wrap(x: Any) -> Tensor:
        return x if isinstance(x, Tensor) else Tensor(x)

    def __add__(self, other: Any) -> Tensor:
        other = self._wrap(other)
        return Tensor(self.data + other.data, (self, other), "add")

    def __mul__(self, other: Any) -> Tensor:
        other = self._wrap(other)
        return Tensor(self.data * other.data, (self, other), "mul")

    def __matmul__(self, other: Tensor) -> Tensor:
        return Tensor(self.data @ other.data, (self, other), "matmul")

    def tanh(self) -> Tensor:
        return Tensor(np.tanh(self.data), (self,), "tanh")

    def sum(self, axis: Any = None, keepdims: bool = False) -> Tensor:
        out = Tensor(self.data.sum(axis=axis, keepdims=keepdims), (self,), "sum")
        out.args = (axis, keepdims)
        return out

    def backward(self) -> None:
        order: list[Tensor] = []
        seen: set[int] = set()
        stack: list[tuple[Tensor, bool]] = [(self, False)]
        while stack:
            node, done = stack.pop()
            if done:
                order.append(node)
            elif id(node) not in seen:
                seen.add(id(node))
                stack.append((node, True))
                stack.extend((p, False) for p in node.prev)
        self.grad = np.ones_like(self.data)
        for node in reversed(order):
            if node.op:
                BACKWARD[node.op](node)
