"""The `minigrad` command: parse arguments, call the library, print, choose the exit code.

Exit codes: 0 success, 1 a check failed, 2 a usage error or no verdict
(the engine cannot be loaded, minigrad itself failed), 130 interrupted.
Engine code never runs in this process: the library runs it in children.
Only this package prints or picks an exit code.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Callable, Sequence

from minigrad_tool.cli.common import FAILED, INTERRUPTED, OK, USAGE, UsageError

__all__ = ["FAILED", "INTERRUPTED", "OK", "USAGE", "UsageError", "main"]


def _runner(name: str) -> Callable[..., int]:
    """The function behind a subcommand, imported when it runs (help stays fast)."""

    def run(args: object, out: object) -> int:
        if name in ("gradcheck", "inspect"):
            from minigrad_tool.cli import check_commands as module
        else:
            from minigrad_tool.cli import mutation_commands as module  # type: ignore[no-redef]
        code: int = getattr(module, name)(args, out)
        return code

    return run


# Python runs an engine whose step is a sum of hundreds of terms (an AST hundreds of levels
# deep); minigrad's walks over that AST recurse a few frames per level, so they get room for
# a few thousand levels (a frame is well under 1 KiB of the 8 MiB main-thread stack).
RECURSION_LIMIT = 20_000


def main(argv: Sequence[str] | None = None) -> int:
    from minigrad_tool.cli.common import guarded

    sys.setrecursionlimit(max(sys.getrecursionlimit(), RECURSION_LIMIT))
    code = guarded(lambda: _main(argv))
    _quiet_if_reader_gone()
    return code


def _quiet_if_reader_gone() -> None:
    """With stdout's reader gone (`| head`), Python's last flush would print a traceback."""
    try:
        sys.stdout.flush()
    except (BrokenPipeError, OSError, ValueError):
        with contextlib.suppress(OSError, ValueError):
            null = os.open(os.devnull, os.O_WRONLY)
            os.dup2(null, sys.stdout.fileno())
            os.close(null)


def _main(argv: Sequence[str] | None) -> int:
    from minigrad_tool.interrupt import started

    started()  # Ctrl-C is the command's to handle from here (guarded: exit 130, one line)
    from minigrad_tool.adapter.order import orders_to_explore
    from minigrad_tool.cli.config import find_config
    from minigrad_tool.cli.parser import build_parser
    from minigrad_tool.report.output import Output

    try:
        orders_to_explore()
    except ValueError as err:
        raise UsageError(str(err)) from None
    config = find_config()
    args = build_parser(config, _runner).parse_args(argv)
    args.config = config
    code: int = args.run(args, Output())
    return code


if __name__ == "__main__":
    sys.exit(main())
