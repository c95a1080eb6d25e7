"""miniad's shape (PyPI, 2021): each op is a `Function` class of functional.py with static
forward and backward methods, which the module gives names of their own (`add =
Add.forward`); the node's methods call those names (`F.add(self, other)`), and forward
stores the class's backward on the node it returns (`out.grad_fn = Add.backward`).
Unlike miniad's, its backward() walks the graph in topological order."""

from .value import Value

__all__ = ["Value"]
