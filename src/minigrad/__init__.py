"""minigrad: a scalar autograd engine, a gradient checker and a mutation layer that tests it."""

from minigrad.engine import Value
from minigrad.gradcheck import GradcheckError, gradcheck

__all__ = ["GradcheckError", "Value", "gradcheck"]
__version__ = "0.1.0"
