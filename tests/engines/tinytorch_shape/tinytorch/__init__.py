"""TinyTorch's shape (MLSysBook's course, where students write each module): `Tensor` is
numpy's array with plain ops; `enable_autograd()`, called when the package is imported,
sets tracking versions of them on the class, and a backward() that each defines inside it.
Each op's step is the `apply` of a `Function` class named for it (`AddBackward`)."""

from .core.autograd import enable_autograd
from .core.tensor import Tensor

enable_autograd()

__all__ = ["Tensor"]
