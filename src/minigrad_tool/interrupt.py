"""Ctrl-C before the command is up: one line and exit 130, never an import's traceback.

Importing the command takes a moment, and a KeyboardInterrupt raised while Python imports it
would print a traceback.  The console script's entry (:mod:`minigrad_tool._entry`) installs
:func:`early` first; once the command runs, :func:`started` hands Ctrl-C back to Python, and
the command's own handling (every child stopped, one line, exit 130) takes over.
"""

from __future__ import annotations

import os
import signal
from types import FrameType

__all__ = ["early", "started"]

MESSAGE = b"error: interrupted before the command started; nothing was run\n"


def _before_start(signum: int, frame: FrameType | None) -> None:
    try:
        os.write(2, MESSAGE)
    finally:
        os._exit(130)


def early() -> None:
    """From now until :func:`started`, Ctrl-C ends the process at once, with one line; only
    where it would interrupt at all (a job started with SIGINT ignored keeps ignoring it)."""
    if signal.getsignal(signal.SIGINT) is signal.default_int_handler:
        signal.signal(signal.SIGINT, _before_start)


def started() -> None:
    """The command has taken over: Ctrl-C raises KeyboardInterrupt again."""
    if signal.getsignal(signal.SIGINT) is _before_start:
        signal.signal(signal.SIGINT, signal.default_int_handler)
