"""An engine shaped like old tinygrad (and slowgrad): `register("mul", Mul)` puts a dispatcher
on the Tensor class that looks the op's `Function` class up by name, and each class's
`backward(ctx, grad_output)` in ops.py returns its inputs' gradients."""

from registry.tensor import Tensor

__all__ = ["Tensor"]
