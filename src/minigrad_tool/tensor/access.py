"""Reading and writing a tensor engine's nodes: arrays in, arrays out, in the engine's dtype.

A node keeps an array in `.data` (or another usual name); its `.grad` is an
array, None before a backward (lazy engines), or a node itself (DeZero keeps
a `Variable` there).  Pre-seeding writes a gradient the way the engine keeps
it, in its dtype, so the engine's own `+=` works on it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from minigrad_tool.adapter.nodes import grad_is_owned, make_leaf, require_writable_grad

__all__ = ["Array", "TensorAccess", "array_leaf"]

Array = NDArray[np.float64]


def array_leaf(cls: type, value: Any) -> Any:
    """A leaf of a tensor engine: every value (a number too) as a float64 array."""
    return make_leaf(cls, np.array(value, dtype=np.float64))


@dataclass
class TensorAccess:
    cls: type
    data_attr: str = "data"
    grad_is_node: bool = False  # the engine keeps a node in .grad (DeZero), not an array
    children_attr: str | None = None  # where discovery found a node's inputs ("ctx._prev")

    def leaf(self, array: Any) -> Any:
        return array_leaf(self.cls, array)

    def value(self, node: Any) -> Array:
        return np.array(self.raw(getattr(node, self.data_attr)), dtype=np.float64)

    def grad(self, node: Any) -> Array | None:
        """The node's gradient as a float64 array; None if none reached it."""
        grad = getattr(node, "grad", None)  # none yet where a backward makes it (needle)
        if grad is None:
            return None
        return np.array(self.raw(grad), dtype=np.float64)

    def raw(self, value: Any) -> Any:
        """The array inside a node (DeZero keeps one in `.grad`) or the engine's own wrapper
        (fygrad's `Data`), which keep it where the engine's nodes do or in `.data`."""
        for _ in range(3):  # a node, in a wrapper, around the array at most
            if value is None or isinstance(value, np.ndarray | np.generic | float | int):
                break
            inner = getattr(value, self.data_attr, None)
            if inner is None or inner is value:
                inner = getattr(value, "data", None)
            if inner is None or inner is value:
                break
            value = inner
        return value

    def dtypes(self, node: Any) -> tuple[np.dtype[Any], np.dtype[Any] | None]:
        """The dtype the node keeps its data in, and its gradient's (None: no array there)."""
        raw = self.raw
        data, grad = raw(getattr(node, self.data_attr)), raw(getattr(node, "grad", None))
        grad_dtype = grad.dtype if isinstance(grad, np.ndarray | np.generic) else None
        return np.asarray(data).dtype, grad_dtype

    @property
    def grad_writable(self) -> bool:
        """Can a gradient be pre-seeded?  Not where the engine owns it (read-only, or set by
        a backward that makes it appear)."""
        return not grad_is_owned(self.cls)

    def set_grad(self, node: Any, grad: Array) -> None:
        """Pre-seed `.grad` with `grad`, as the engine keeps gradients (ReadOnlyGrad where it
        is a read-only property)."""
        require_writable_grad(self.cls)
        dtype = np.asarray(getattr(node, self.data_attr)).dtype
        array = np.array(grad, dtype=dtype if dtype.kind == "f" else np.float64)
        node.grad = self.cls(array) if self.grad_is_node else array
