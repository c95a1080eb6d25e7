"""The console script's entry: Ctrl-C is handled from the first line minigrad runs, and what
the command starts ends with it."""

from __future__ import annotations

import sys

from minigrad_tool.bytecode import keep_bytecode_out_of_tree
from minigrad_tool.interrupt import early

early()  # before the command's imports (minigrad_tool.interrupt)
# The command's own modules load from bytecode kept in minigrad's cache folder, as the
# children's imports do, even where $PYTHONDONTWRITEBYTECODE is set: compiling them again
# took about 0.1 s of every run (66 modules; cProfile of `mutate` on examples/student).
keep_bytecode_out_of_tree()


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
