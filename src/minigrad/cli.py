"""The `minigrad` command: parse arguments, call the library, choose the exit code.

Exit codes: 0 success, 1 a check failed, 2 a usage error or no verdict
(the engine cannot be loaded, minigrad itself failed), 130 interrupted.
Engine code never runs in this process: the library runs it in children.
"""

from __future__ import annotations

import argparse
import contextlib
import math
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from minigrad import __version__, arguments
from minigrad.adapter import DEFAULT_ENGINE, EngineError, EngineSpec, Profile, parse_spec
from minigrad.faults import InternalError
from minigrad.isolation import DEFAULT_MEMORY_MIB, HostError, Limits
from minigrad.output import Output

__all__ = ["main"]

OK, FAILED, USAGE, INTERRUPTED = 0, 1, 2, 130
DEFAULT_TIMEOUT = 60.0


class UsageError(Exception):
    """A bad argument or an unusable input: printed without a traceback, exit code 2."""


# --- shared steps ---------------------------------------------------------------------------


def _limits(args: argparse.Namespace, timeout: float | None = None) -> Limits:
    return Limits(timeout or args.timeout or DEFAULT_TIMEOUT, args.memory)


@contextlib.contextmanager
def _status(out: Output, text: str) -> Iterator[Callable[[str], None]]:
    """A transient status line on a terminal; nothing when piped."""
    if not out.is_terminal:
        yield lambda _: None
        return
    with out.console.status(text) as status:
        yield lambda phase: status.update(f"{text}: {phase}")


def _profile(
    args: argparse.Namespace, out: Output, loading: float | None = None
) -> tuple[EngineSpec, Profile]:
    """Discover the engine in a child; `loading` is the deadline of each step (else --timeout)."""
    from minigrad.adapter import profile_engine

    spec = parse_spec(args.engine)
    with _status(out, f"loading {args.engine}") as update:
        return profile_engine(spec, _limits(args, loading), on_phase=update)


def _settings(args: argparse.Namespace, profile: Profile) -> Any:
    from minigrad.check import settings_for

    try:
        return settings_for(
            profile,
            eps=args.eps,
            atol=args.atol,
            rtol=args.rtol,
            fast=args.fast,
            any_subgradient=args.any_subgradient,
        )
    except ValueError as err:
        raise UsageError(str(err)) from err


# --- commands -------------------------------------------------------------------------------


def _cmd_gradcheck(args: argparse.Namespace, out: Output) -> int:
    from minigrad.check import check_engine
    from minigrad.render import check_json, print_check

    spec, profile = _profile(args, out)
    settings = _settings(args, profile)
    with _status(out, "running the battery"):
        report = check_engine(spec, profile, settings, _limits(args), jobs=args.jobs)
    if args.json:
        print(check_json(report))
    else:
        print_check(out, report)
    if report.checked == 0:
        out.line(
            f"FAILED: nothing was checked: {profile.class_name} has none of the ops the "
            "battery's cases need, so no gradient was compared",
            "bold red",
        )
        return FAILED
    return FAILED if report.failed else OK


def _cmd_inspect(args: argparse.Namespace, out: Output) -> int:
    from collections import Counter

    from minigrad.battery import build_battery
    from minigrad.mutation.mutants import generate_mutants
    from minigrad.render import print_profile

    spec, profile = _profile(args, out)
    settings = _settings(args, profile)
    generated = generate_mutants(spec, profile)
    counts: dict[str, Counter[str]] = {}
    for mutant in generated.mutants:
        counts.setdefault(mutant.op, Counter())[mutant.operator] += 1
    print_profile(out, profile, build_battery(profile), settings, counts, generated.unreachable)
    return OK


def _add_engine(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--engine",
        default=DEFAULT_ENGINE,
        metavar="PATH|MODULE[:CLASS]",
        help="a .py file or importable module with a micrograd-style node class; "
        "`:CLASS` names the class when it is not `Value`",
    )


def _add_limits(parser: argparse.ArgumentParser, timeout_help: str) -> None:
    parser.add_argument(
        "--timeout", type=arguments.seconds, default=None, metavar="SECONDS", help=timeout_help
    )
    parser.add_argument(
        "--memory",
        type=arguments.number(64, 1 << 20, kind=int),
        default=DEFAULT_MEMORY_MIB,
        metavar="MIB",
        help="address-space limit of every child process that runs engine code",
    )
    parser.add_argument(
        "--jobs",
        type=arguments.number(1, 256, kind=int),
        default=os.cpu_count() or 1,
        metavar="N",
        help="children run at once",
    )


def _add_checking(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--eps",
        type=arguments.number(0.0, 1.0),
        default=None,
        help="finite-difference step (default: from the engine's precision, 1e-5 in float64)",
    )
    parser.add_argument(
        "--atol",
        type=arguments.number(0.0, math.inf),
        default=None,
        help="absolute tolerance of gradients and forward values (default: from the precision)",
    )
    parser.add_argument(
        "--rtol",
        type=arguments.number(0.0, math.inf),
        default=None,
        help="relative tolerance of gradients and forward values (default: from the precision)",
    )
    parser.add_argument(
        "--fast",
        action="store_true",
        help="screen gradients along random Gaussian directions (O(1) forward passes), "
        "falling back to per-input checks on any disagreement",
    )
    parser.add_argument(
        "--any-subgradient",
        action="store_true",
        help="at a kink (relu, abs at 0) accept any subgradient without a note; in `mutate`, "
        "stop pinning the engine's own choice there",
    )


class _Formatter(argparse.RawDescriptionHelpFormatter):
    """Descriptions as written; each option's default shown once, where it means something."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        text = action.help or ""
        default = action.default
        if (
            "default" in text
            or default in (None, False, (), [])
            or default is argparse.SUPPRESS
            or action.option_strings == []
        ):
            return text
        shown = ",".join(map(str, default)) if isinstance(default, tuple | list) else default
        return f"{text} (default: {shown})"


def _command(commands: Any, name: str, summary: str, description: str) -> argparse.ArgumentParser:
    parser: argparse.ArgumentParser = commands.add_parser(
        name, help=summary, description=f"{summary}.\n\n{description}", formatter_class=_Formatter
    )
    return parser


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="minigrad",
        description="Check an autograd engine's gradients, and prove the check catches bugs.",
        formatter_class=_Formatter,
    )
    parser.add_argument("--version", action="version", version=f"minigrad {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    check = _command(
        commands,
        "gradcheck",
        "run the gradcheck battery on an engine",
        "Every op the engine has is checked: forward against plain math where minigrad knows "
        "the op, gradients against central differences at points in its domain, with "
        "pre-seeded and scaled upstream gradients, reused in composites; plus the lab's "
        "composites, deep chains, random DAGs and an MLP.  Exit 0: every case passed; 1: a "
        "case failed, or nothing could be checked; 2: the engine cannot be used.",
    )
    _add_engine(check)
    _add_checking(check)
    _add_limits(check, "deadline of each case, and of loading the engine (default: 60)")
    check.add_argument("--json", action="store_true", help="print results as JSON only")
    check.set_defaults(run=_cmd_gradcheck)

    inspect = _command(
        commands,
        "inspect",
        "show what minigrad finds in an engine",
        "The node class, where nodes keep their children, the precision, every op with its "
        "backward step, and how each op will be checked and mutated.",
    )
    _add_engine(inspect)
    _add_checking(inspect)
    _add_limits(inspect, "deadline of loading the engine (default: 60)")
    inspect.set_defaults(run=_cmd_inspect)

    from minigrad.mutation.cli import add_mutation_commands

    add_mutation_commands(commands, _command, _add_engine, _add_checking, _add_limits)
    return parser


def _error(text: str) -> None:
    err = Output(sys.stderr)
    err.line(f"error: {text}", "bold red")


def main(argv: Sequence[str] | None = None) -> int:
    try:
        args = build_parser().parse_args(argv)
        code: int = args.run(args, Output())
    except KeyboardInterrupt:
        _error("interrupted; every child process was stopped, no file was written")
        return INTERRUPTED
    except (EngineError, UsageError) as err:
        _error(str(err))
        return USAGE
    except HostError as err:
        _error(f"the engine could not be served: {err}")
        return USAGE
    except InternalError as err:
        _error(f"no verdict, minigrad itself failed: {err}")
        return USAGE
    return code


def _entry() -> None:  # pragma: no cover - the console script
    sys.exit(main())


if __name__ == "__main__":
    sys.exit(main())
