"""A scalar engine whose steps live in another file of its package (ops.py), as in courses
that follow DeZero: the node class in engine.py, each op's forward and backward in ops.py."""

from .engine import Value

__all__ = ["Value"]
