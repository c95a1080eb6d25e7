"""The console script's entry: Ctrl-C is handled from the first line minigrad runs, and what
the command starts ends with it."""

from __future__ import annotations

import os
import sys

from minigrad_tool.interrupt import early

# Not `typing` (nor atexit and contextlib, imported where used): the process that runs again
# with fixed hashes (below) imports nothing it does not need first.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import NoReturn

early()  # before the command's imports (minigrad_tool.interrupt)


def _with_fixed_hashes() -> None:
    """Run this command again, at once, with `$PYTHONHASHSEED` fixed, unless it is.

    Python salts str and bytes hashes per process: a set of strings (the op names a test
    loops over) iterates in another order in every run, and with it which assertion fails
    first and the order a graph's sums are added in.  Every host and child the command
    forks inherits its salt, so fixing it here makes them hash alike in every run; it costs
    one interpreter start, before any of the command's imports.  Where it cannot be run
    again (no interpreter to name, or not POSIX, where exec would start another process),
    it runs as it is."""
    if os.environ.get("PYTHONHASHSEED", "random") not in ("", "random"):
        return
    if os.name != "posix" or not sys.executable:
        return
    os.environ["PYTHONHASHSEED"] = "0"
    try:
        os.execv(sys.executable, [sys.executable, *sys.orig_argv[1:]])
    except OSError:
        del os.environ["PYTHONHASHSEED"]


def main() -> NoReturn:
    """The `minigrad` command (`minigrad_tool.cli.main`), imported under the early handler."""
    _with_fixed_hashes()
    from minigrad_tool.bytecode import keep_bytecode_out_of_tree

    # The command's own modules load from bytecode kept in minigrad's cache folder, as the
    # children's imports do, even where $PYTHONDONTWRITEBYTECODE is set: compiling them again
    # took about 0.1 s of every run (66 modules; cProfile of `mutate` on examples/student).
    keep_bytecode_out_of_tree()
    from minigrad_tool.dataclass_code import install

    install()  # the methods of the command's dataclasses: compiled in an earlier run
    from minigrad_tool.cli import main as command
    from minigrad_tool.isolation import adopt_strays, kill_strays

    # As the command, this process owns everything it starts: a helper an engine detaches
    # into a session of its own comes back to it, and ends with it.  (Not when the CLI is
    # called as a function, from a process whose other children are not ours to end.)
    adopt_strays()
    try:
        code = command(sys.argv[1:])
    finally:
        kill_strays()
    _end(code)


def _end(code: int) -> NoReturn:
    """End the process with `code` once what it owes the user is done: its output flushed,
    the exit handlers run (the scratch folder removed).  Python's own finalization after
    that (every module and object torn down: 15 ms after a campaign, timestamps against
    the process's end) leaves nothing behind that anyone reads."""
    import atexit
    import contextlib

    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):  # a reader gone (`| head`) is no error now
            stream.flush()
    atexit._run_exitfuncs()
    os._exit(code)
