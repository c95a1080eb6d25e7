"""A torch-like tensor engine in ugrad's style, written for these tests: a leaf takes part in
backward only with `requires_grad=True`; each op hands a `grad_fn` closure, which returns its
inputs' gradients, to a graph of `Node`s; and an op keeps one closure for equal shapes and
another for broadcasting."""

# mypy: ignore-errors

import numpy as np


def _unbroadcast(grad, shape):
    while grad.ndim > len(shape):
        grad = grad.sum(axis=0)
    for axis, size in enumerate(shape):
        if size == 1 and grad.shape[axis] != 1:
            grad = grad.sum(axis=axis, keepdims=True)
    return grad


class Node:
    def __init__(self, grad_fn, next_functions):
        self.grad_fn = grad_fn
        self.next_functions = next_functions


class Tensor:
    def __init__(self, data, requires_grad=False):
        self.data = np.asarray(data, dtype=np.float64)
        self.requires_grad = requires_grad
        self.grad = np.zeros_like(self.data) if requires_grad else None
        self.grad_fn = Node(self._accumulate, ()) if requires_grad else None

    def _accumulate(self, grad):
        self.grad += grad
        return ()

    def _result(self, data, inputs, grad_fn):
        out = Tensor(data)
        if any(t.requires_grad for t in inputs):
            out.requires_grad = True
            out.grad_fn = Node(grad_fn, tuple(t.grad_fn for t in inputs))
        return out

    def __add__(self, other):
        other = other if isinstance(other, Tensor) else Tensor(other)
        if self.data.shape == other.data.shape:

            def grad_fn(grad):
                return (grad, grad)

        else:

            def grad_fn(grad):
                return (
                    _unbroadcast(grad, self.data.shape),
                    _unbroadcast(grad, other.data.shape),
                )

        return self._result(self.data + other.data, (self, other), grad_fn)

    def __mul__(self, other):
        other = other if isinstance(other, Tensor) else Tensor(other)
        if self.data.shape == other.data.shape:

            def grad_fn(grad):
                return (grad * other.data, grad * self.data)

        else:

            def grad_fn(grad):
                return (
                    _unbroadcast(grad * other.data, self.data.shape),
                    _unbroadcast(grad * self.data, other.data.shape),
                )

        return self._result(self.data * other.data, (self, other), grad_fn)

    def __radd__(self, other):
        return self + other

    def __rmul__(self, other):
        return self * other

    def sum(self):
        def grad_fn(grad):
            return (np.broadcast_to(grad, self.data.shape).copy(),)

        return self._result(self.data.sum(), (self,), grad_fn)

    def backward(self):
        # each path carries its own gradient down to the leaves, which add them up
        stack = [(self.grad_fn, np.ones_like(self.data))]
        while stack:
            fn, grad = stack.pop()
            if fn is None:
                continue
            for following, g in zip(fn.next_functions, fn.grad_fn(grad), strict=True):
                stack.append((following, g))
