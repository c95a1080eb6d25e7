"""How the user runs minigrad, so that a printed hint is a command they can paste.

Under `uv run` (which sets UV_RUN_RECURSION_DEPTH for what it starts) the
command is not on the shell's PATH: the hint says `uv run minigrad ...`.
"""

from __future__ import annotations

import os

__all__ = ["command"]


def command(rest: str) -> str:
    """`minigrad REST`, as the user invoked minigrad: `uv run minigrad REST` under uv."""
    prefix = "uv run minigrad" if os.environ.get("UV_RUN_RECURSION_DEPTH") else "minigrad"
    return f"{prefix} {rest}"
