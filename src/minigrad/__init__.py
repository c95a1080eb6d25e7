"""minigrad: a scalar autograd engine, a gradient checker and a mutation layer that tests it.

The public names are loaded on first use, so that `minigrad` the command-line
tool does not import the engine it may be asked to check.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from minigrad.engine import Value
    from minigrad.gradcheck import GradcheckError, Tolerance, gradcheck

__all__ = ["GradcheckError", "Tolerance", "Value", "gradcheck"]
__version__ = "0.2.0"


def __getattr__(name: str) -> Any:
    if name == "Value":
        from minigrad.engine import Value

        return Value
    if name in ("GradcheckError", "Tolerance", "gradcheck"):
        from minigrad import gradcheck as module

        return getattr(module, name)
    raise AttributeError(f"module 'minigrad' has no attribute {name!r}")
