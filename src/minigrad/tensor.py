"""A numpy tensor autograd engine with micrograd's API: `.data` is an ndarray, `.grad` too.

Every op computes its forward value and, right below it, its backward step, a
closure that applies the chain rule for that op alone:

    a.grad += unbroadcast(d(out)/d(a) applied to out.grad, a.shape)

Three rules every step follows, and the mutation operators of minigrad-tool
break on purpose:

* it *accumulates* (``+=``), so a tensor used twice receives both contributions;
* it multiplies by ``out.grad``, the gradient flowing down from above (a
  vector-Jacobian product, never the Jacobian itself);
* broadcasting in the forward is summed away in the backward: a (4,) bias
  added to a (2, 3, 4) batch receives the sum over the batch
  (:func:`unbroadcast`), and a reduction's gradient is re-expanded along the
  axes it removed (:func:`_expand`).

Everything is float64.  The nodes' operands are kept in a tuple, so the
backward sweep visits them in the same order on every run.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

__all__ = ["Tensor", "unbroadcast"]

Array = NDArray[np.float64]
Axis = int | tuple[int, ...] | None


def unbroadcast(grad: Array, shape: tuple[int, ...]) -> Array:
    """Sum `grad` down to `shape`: the adjoint of numpy's broadcasting to grad's shape.

    Broadcasting prepends axes and stretches size-1 axes, so the backward sums
    over the prepended axes and, keeping them, over the stretched ones.
    """
    extra = grad.ndim - len(shape)
    if extra > 0:
        grad = grad.sum(axis=tuple(range(extra)))
    stretched = tuple(i for i, n in enumerate(shape) if n == 1 and grad.shape[i] != 1)
    if stretched:
        grad = grad.sum(axis=stretched, keepdims=True)
    return grad


def _axes(axis: Axis, ndim: int) -> tuple[int, ...]:
    """The reduced axes as non-negative ints, in increasing order (None: all of them)."""
    if axis is None:
        return tuple(range(ndim))
    chosen = (axis,) if isinstance(axis, int) else tuple(axis)
    return tuple(sorted(a % ndim if ndim else a for a in chosen))


def _expand(grad: Array, shape: tuple[int, ...], axis: Axis, keepdims: bool) -> Array:
    """A reduction's upstream gradient, back in the input's shape: the removed axes are put
    back as size 1 (increasing order, so each lands where it was), then broadcast."""
    if not keepdims:
        grad = np.expand_dims(grad, _axes(axis, len(shape)))
    return np.broadcast_to(grad, shape)


def _as_array(data: Any) -> Array:
    array = np.array(data, dtype=np.float64)  # a copy: the caller's array is never aliased
    return array


class Tensor:
    """An array with a gradient, and the graph of ops that made it."""

    def __init__(self, data: Any, _children: Sequence[Tensor] = (), _op: str = "") -> None:
        self.data: Array = _as_array(data)
        self.grad: Array = np.zeros_like(self.data)
        self._backward: Callable[[], None] = lambda: None
        self._prev: tuple[Tensor, ...] = tuple(_children)
        self._op = _op

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(self.data.shape)

    def __repr__(self) -> str:
        return f"Tensor(shape={self.shape}, data={self.data!r})"

    # --- elementwise, with broadcasting -------------------------------------------------

    def __add__(self, other: Tensor | float) -> Tensor:
        other = other if isinstance(other, Tensor) else Tensor(other)
        out = Tensor(self.data + other.data, (self, other), "+")

        def _backward() -> None:
            self.grad += unbroadcast(out.grad, self.shape)
            other.grad += unbroadcast(out.grad, other.shape)

        out._backward = _backward
        return out

    def __mul__(self, other: Tensor | float) -> Tensor:
        other = other if isinstance(other, Tensor) else Tensor(other)
        out = Tensor(self.data * other.data, (self, other), "*")

        def _backward() -> None:
            self.grad += unbroadcast(other.data * out.grad, self.shape)
            other.grad += unbroadcast(self.data * out.grad, other.shape)

        out._backward = _backward
        return out

    def __sub__(self, other: Tensor | float) -> Tensor:
        other = other if isinstance(other, Tensor) else Tensor(other)
        out = Tensor(self.data - other.data, (self, other), "-")

        def _backward() -> None:
            self.grad += unbroadcast(out.grad, self.shape)
            other.grad -= unbroadcast(out.grad, other.shape)

        out._backward = _backward
        return out

    def __truediv__(self, other: Tensor | float) -> Tensor:
        other = other if isinstance(other, Tensor) else Tensor(other)
        out = Tensor(self.data / other.data, (self, other), "/")

        def _backward() -> None:
            self.grad += unbroadcast(out.grad / other.data, self.shape)
            other.grad -= unbroadcast(out.grad * self.data / other.data**2, other.shape)

        out._backward = _backward
        return out

    def __pow__(self, exponent: float) -> Tensor:
        if not isinstance(exponent, int | float):
            return NotImplemented
        out = Tensor(self.data**exponent, (self,), f"**{exponent}")

        def _backward() -> None:
            self.grad += exponent * self.data ** (exponent - 1) * out.grad

        out._backward = _backward
        return out

    def __neg__(self) -> Tensor:
        out = Tensor(-self.data, (self,), "neg")

        def _backward() -> None:
            self.grad -= out.grad

        out._backward = _backward
        return out

    def __radd__(self, other: float) -> Tensor:
        return self + other

    def __rmul__(self, other: float) -> Tensor:
        return self * other

    def __rsub__(self, other: float) -> Tensor:
        return Tensor(other) - self

    def __rtruediv__(self, other: float) -> Tensor:
        return Tensor(other) / self

    # --- elementwise functions ------------------------------------------------------------

    def exp(self) -> Tensor:
        out = Tensor(np.exp(self.data), (self,), "exp")

        def _backward() -> None:
            self.grad += out.data * out.grad

        out._backward = _backward
        return out

    def log(self) -> Tensor:
        out = Tensor(np.log(self.data), (self,), "log")

        def _backward() -> None:
            self.grad += out.grad / self.data

        out._backward = _backward
        return out

    def tanh(self) -> Tensor:
        out = Tensor(np.tanh(self.data), (self,), "tanh")

        def _backward() -> None:
            self.grad += (1 - out.data**2) * out.grad

        out._backward = _backward
        return out

    def relu(self) -> Tensor:
        out = Tensor(np.maximum(self.data, 0.0), (self,), "relu")

        def _backward() -> None:
            self.grad += (self.data > 0) * out.grad

        out._backward = _backward
        return out

    def sigmoid(self) -> Tensor:
        out = Tensor(1 / (1 + np.exp(-self.data)), (self,), "sigmoid")

        def _backward() -> None:
            self.grad += out.data * (1 - out.data) * out.grad

        out._backward = _backward
        return out

    # --- matrix product ---------------------------------------------------------------------

    def __matmul__(self, other: Tensor) -> Tensor:
        """numpy's matmul: a 1-D operand is a vector (its axis is added, then removed), and
        the batch axes broadcast."""
        out = Tensor(self.data @ other.data, (self, other), "@")

        def _backward() -> None:
            a = self.data[None, :] if self.data.ndim == 1 else self.data
            b = other.data[:, None] if other.data.ndim == 1 else other.data
            g = out.grad
            if other.data.ndim == 1:  # its axis was removed last: put it back first
                g = np.expand_dims(g, -1)
            if self.data.ndim == 1:
                g = np.expand_dims(g, -2)
            da = g @ np.swapaxes(b, -1, -2)
            db = np.swapaxes(a, -1, -2) @ g
            self.grad += unbroadcast(da, a.shape).reshape(self.shape)
            other.grad += unbroadcast(db, b.shape).reshape(other.shape)

        out._backward = _backward
        return out

    # --- reductions -------------------------------------------------------------------------

    def sum(self, axis: Axis = None, keepdims: bool = False) -> Tensor:
        out = Tensor(self.data.sum(axis=axis, keepdims=keepdims), (self,), "sum")

        def _backward() -> None:
            self.grad += _expand(out.grad, self.shape, axis, keepdims)

        out._backward = _backward
        return out

    def mean(self, axis: Axis = None, keepdims: bool = False) -> Tensor:
        out = Tensor(self.data.mean(axis=axis, keepdims=keepdims), (self,), "mean")
        count = self.data.size // max(out.data.size, 1)  # elements averaged into each output

        def _backward() -> None:
            self.grad += _expand(out.grad, self.shape, axis, keepdims) / count

        out._backward = _backward
        return out

    def max(self, axis: Axis = None, keepdims: bool = False) -> Tensor:
        """Ties share the gradient equally (numpy's amax convention in JAX): each tied
        element gets 1/k of it, a subgradient."""
        out = Tensor(self.data.max(axis=axis, keepdims=keepdims), (self,), "max")

        def _backward() -> None:
            peak = _expand(out.data, self.shape, axis, keepdims)
            mask = self.data == peak
            ties = _expand(mask.sum(axis=axis, keepdims=True), self.shape, axis, True)
            self.grad += mask / ties * _expand(out.grad, self.shape, axis, keepdims)

        out._backward = _backward
        return out

    # --- shape ------------------------------------------------------------------------------

    def reshape(self, *shape: int | tuple[int, ...]) -> Tensor:
        new = shape[0] if len(shape) == 1 and isinstance(shape[0], tuple) else shape
        out = Tensor(self.data.reshape(new), (self,), "reshape")

        def _backward() -> None:
            self.grad += out.grad.reshape(self.shape)

        out._backward = _backward
        return out

    def transpose(self, axes: Sequence[int] | None = None) -> Tensor:
        order = tuple(range(self.data.ndim))[::-1] if axes is None else tuple(axes)
        out = Tensor(self.data.transpose(order), (self,), "transpose")

        def _backward() -> None:
            self.grad += out.grad.transpose(np.argsort(order))

        out._backward = _backward
        return out

    def broadcast_to(self, shape: tuple[int, ...]) -> Tensor:
        out = Tensor(np.broadcast_to(self.data, shape), (self,), "broadcast_to")

        def _backward() -> None:
            self.grad += unbroadcast(out.grad, self.shape)

        out._backward = _backward
        return out

    def __getitem__(self, index: Any) -> Tensor:
        out = Tensor(self.data[index], (self,), "getitem")

        def _backward() -> None:
            np.add.at(self.grad, index, out.grad)  # repeated indices accumulate

        out._backward = _backward
        return out

    # --- backward pass ----------------------------------------------------------------------

    def backward(self) -> None:
        """Reverse-mode sweep from this tensor, seeded with ones (a scalar loss: 1)."""
        topo: list[Tensor] = []
        visited: set[int] = set()
        stack: list[tuple[Tensor, bool]] = [(self, False)]
        while stack:  # iterative DFS: no recursion limit on deep graphs
            node, expanded = stack.pop()
            if expanded:
                topo.append(node)
                continue
            if id(node) in visited:
                continue
            visited.add(id(node))
            stack.append((node, True))
            stack.extend((child, False) for child in reversed(node._prev))
        self.grad = np.ones_like(self.data)
        for node in reversed(topo):
            node._backward()
