"""minigrad-tool: check any autograd engine's gradients, and prove the checks catch bugs.

The command is `minigrad`; the import name is `minigrad_tool`, so that it can
never be confused with the engine it checks (a lab project's own package is
often called `minigrad`).  Nothing here imports an engine: engines run in
children, loaded by :mod:`minigrad_tool.adapter`.
"""

__version__ = "0.3.0"
