"""The `minigrad` command: parse arguments, call the library, choose the exit code.

Exit codes: 0 success, 1 a check failed, 2 a usage error.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from rich.console import Console

from minigrad.battery import Settings, run_battery
from minigrad.engines import DEFAULT_ENGINE, EngineError, load_engine
from minigrad.gradcheck import Tolerance
from minigrad.render import battery_json, print_battery

__all__ = ["main"]

OK, FAILED, USAGE = 0, 1, 2


class UsageError(Exception):
    """A bad argument: printed without a traceback, exit code 2."""


def _tolerance(args: argparse.Namespace) -> Tolerance:
    try:
        return Tolerance(args.eps, args.atol, args.rtol)
    except ValueError as err:
        raise UsageError(str(err)) from err


def _cmd_gradcheck(args: argparse.Namespace, console: Console) -> int:
    engine = load_engine(args.engine)
    settings = Settings(_tolerance(args), fast=args.fast)
    results = run_battery(engine.value_cls, settings=settings)
    if args.json:
        print(battery_json(results, args.engine))
    else:
        print_battery(console, results, f"gradcheck battery on {args.engine} ({engine.path})")
    return FAILED if any(r.status in ("fail", "error") for r in results) else OK


def _add_engine(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--engine",
        default=DEFAULT_ENGINE,
        metavar="PATH|MODULE",
        help=f"a .py file or module defining a micrograd-style Value (default: {DEFAULT_ENGINE})",
    )


def _add_tolerance(parser: argparse.ArgumentParser) -> None:
    default = Tolerance()
    parser.add_argument("--eps", type=float, default=default.eps, help="finite-difference step")
    parser.add_argument("--atol", type=float, default=default.atol, help="absolute tolerance")
    parser.add_argument("--rtol", type=float, default=default.rtol, help="relative tolerance")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="minigrad",
        description="Check an autograd engine's gradients, and prove the check catches bugs.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    check = commands.add_parser("gradcheck", help="run the gradcheck battery on an engine")
    _add_engine(check)
    check.add_argument("--fast", action="store_true", help="directional (O(1)) gradcheck")
    _add_tolerance(check)
    check.add_argument("--json", action="store_true", help="print results as JSON")
    check.set_defaults(run=_cmd_gradcheck)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    console = Console(highlight=False)
    try:
        code: int = args.run(args, console)
    except (EngineError, UsageError) as err:
        Console(stderr=True, highlight=False).print(f"[bold red]error:[/] {err}", markup=True)
        return USAGE
    return code


if __name__ == "__main__":
    sys.exit(main())
