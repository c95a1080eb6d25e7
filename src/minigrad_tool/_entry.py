"""The console script's entry: Ctrl-C before the command is up is one line and exit 130.

Importing the command takes a moment, and a KeyboardInterrupt raised while Python imports it
would print a traceback.  Until the command takes over (its own handling stops every child and
says so), Ctrl-C ends the process at once, with one line: nothing has started yet.
"""

from __future__ import annotations

import os
import signal
import sys
from types import FrameType


def _before_start(signum: int, frame: FrameType | None) -> None:
    try:
        os.write(2, b"error: interrupted before the command started; nothing was run\n")
    finally:
        os._exit(130)


# Only where Ctrl-C would interrupt at all: a job started with SIGINT ignored keeps ignoring it.
if signal.getsignal(signal.SIGINT) is signal.default_int_handler:
    signal.signal(signal.SIGINT, _before_start)


def main() -> int:
    """The `minigrad` command (`minigrad_tool.cli.main`), imported under the early handler."""
    from minigrad_tool.cli import main as command
    from minigrad_tool.isolation import adopt_strays, kill_strays

    # As the command, this process owns everything it starts: a helper an engine detaches
    # into a session of its own comes back to it, and ends with it.  (Not when the CLI is
    # called as a function, from a process whose other children are not ours to end.)
    adopt_strays()
    try:
        return command(sys.argv[1:])
    finally:
        kill_strays()


def started() -> None:
    """The command has taken over: from here Ctrl-C raises KeyboardInterrupt, which the
    command handles (every child stopped, one line, exit 130)."""
    if signal.getsignal(signal.SIGINT) is _before_start:
        signal.signal(signal.SIGINT, signal.default_int_handler)
