"""minigrad: a scalar autograd engine with micrograd's API, a small nn, and a gradient checker.

>>> from minigrad import Value, gradcheck
>>> a, b = Value(2.0), Value(-3.0)
>>> gradcheck(lambda a, b: (a * b).tanh(), [a, b])
True
"""

from minigrad.engine import Value
from minigrad.gradcheck import GradcheckError, Tolerance, gradcheck

__all__ = ["GradcheckError", "Tolerance", "Value", "gradcheck"]
__version__ = "0.3.0"
