"""minigrad-tool: check any autograd engine's gradients, and prove the checks catch bugs.

The command is `minigrad`; the import name is `minigrad_tool`, so that it can
never be confused with the engine it checks (a lab project's own package is
often called `minigrad`).  Nothing here imports an engine: engines run in
children, loaded by :mod:`minigrad_tool.adapter`.

The full gradient checker is public here: ``from minigrad_tool import gradcheck``
works on any micrograd-style engine (float32 ones too, with a fast mode); the
lab's ``minigrad.gradcheck`` is the short model answer for the lab's Value.
"""

from __future__ import annotations

# Not typing.TYPE_CHECKING: importing typing here would widen the moment at start-up where
# Ctrl-C still prints a traceback (minigrad_tool._entry); mypy reads a local one alike.
TYPE_CHECKING = False
if TYPE_CHECKING:  # for type checkers: at run time, loaded when first asked for (below)
    from minigrad_tool.checker import GradcheckError, Tolerance, gradcheck

__version__ = "0.3.0"
__all__ = ["GradcheckError", "Tolerance", "__version__", "gradcheck"]

# The full gradient checker, public: `from minigrad_tool import gradcheck`.  Loaded when
# asked for, so that the command's start-up does not pay for it.
_CHECKER = ("GradcheckError", "Tolerance", "gradcheck")


def __getattr__(name: str) -> object:
    if name in _CHECKER:
        from minigrad_tool import checker

        return getattr(checker, name)
    raise AttributeError(f"module 'minigrad_tool' has no attribute {name!r}")
