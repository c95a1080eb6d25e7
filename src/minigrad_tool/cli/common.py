"""What every subcommand shares: exit codes, the library's errors as messages, engine and limits."""

from __future__ import annotations

import argparse
import contextlib
import sys
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

from minigrad_tool.adapter import (
    Discovery,
    EngineError,
    EngineSpec,
    EngineWrong,
    Profile,
    engine_paths,
    parse_spec,
)
from minigrad_tool.battery import Settings
from minigrad_tool.faults import InternalError
from minigrad_tool.isolation import HostError, Limits
from minigrad_tool.reads import read_by_run
from minigrad_tool.report.output import Output

__all__ = [
    "DEFAULT_TIMEOUT",
    "FAILED",
    "INTERRUPTED",
    "OK",
    "USAGE",
    "UsageError",
    "discovery",
    "engine_spec",
    "guarded",
    "limits",
    "profile",
    "report_error",
    "settings",
    "status",
]

OK, FAILED, USAGE, INTERRUPTED = 0, 1, 2, 130
DEFAULT_TIMEOUT = 60.0

NO_ENGINE = (
    "no engine named: pass --engine PATH.py or --engine MODULE[:CLASS], or set it once for "
    'the project in pyproject.toml:\n\n    [tool.minigrad]\n    engine = "src/minigrad/engine.py"'
)


class UsageError(Exception):
    """A bad argument or an unusable input: printed without a traceback, exit code 2."""


def report_error(text: str) -> None:
    err = Output(sys.stderr)
    err.line(f"error: {text}", "bold red")


def guarded(run: Callable[[], int]) -> int:
    """Run a command; the library's errors become one line on stderr and an exit code."""
    from minigrad_tool.cli.config import ConfigError
    from minigrad_tool.cli.outputs import OutputError

    try:
        return run()
    except KeyboardInterrupt:
        report_error("interrupted; every child process was stopped, no file was written")
        return INTERRUPTED
    except EngineWrong as err:  # a check failed, one that stops every other: the first line
        Output(sys.stdout).line(f"YOUR ENGINE IS WRONG: {err}", "bold red")
        return FAILED
    except (EngineError, UsageError, ConfigError, OutputError) as err:
        report_error(str(err))
        return USAGE
    except HostError as err:
        report_error(f"the engine could not be served: {err}")
        return USAGE
    except InternalError as err:
        report_error(f"no verdict, minigrad itself failed: {err}")
        return USAGE
    except RecursionError:
        report_error(
            "no verdict: the engine's source is nested too deeply for minigrad to read "
            f"(beyond {sys.getrecursionlimit()} levels)"
        )
        return USAGE


def limits(args: argparse.Namespace, timeout: float | None = None) -> Limits:
    return Limits(timeout or args.timeout or DEFAULT_TIMEOUT, args.memory)


@contextlib.contextmanager
def status(out: Output, text: str) -> Iterator[Callable[[str], None]]:
    """A transient status line on a terminal; nothing when piped."""
    if not out.is_terminal:
        yield lambda _: None
        return
    with out.console.status(text) as shown:
        yield lambda phase: shown.update(f"{text}: {phase}")


def engine_spec(args: argparse.Namespace) -> EngineSpec:
    """The engine the user named, by flag or setting; never one they did not name."""
    if not args.engine:
        raise UsageError(NO_ENGINE)
    backward, alone = getattr(args, "backward", None), getattr(args, "definitions_only", False)
    return parse_spec(args.engine, backward, bool(alone))


def reads_of(args: argparse.Namespace, spec: EngineSpec | None, tests: Sequence[str]) -> list[Path]:
    """Every file this run reads: no output may land on one."""
    package = None
    if spec is not None:
        _, dirs = engine_paths(spec)
        package = Path(dirs[0]) if dirs else None
    config = args.config.path
    root = config.parent if config is not None else None
    others = [config] if config is not None else []
    return read_by_run(spec.path if spec else None, package, tests, root, others)


def profile(
    args: argparse.Namespace,
    out: Output,
    loading: float | None = None,
    started: Discovery | None = None,
) -> tuple[EngineSpec, Profile]:
    """Discover the engine in a child; `loading` is the deadline of each step (else --timeout).
    `started`: a discovery started earlier (`discovery`), waited for here."""
    discovery = started or discovery_of(args, loading)
    with status(out, f"loading {args.engine}") as update:
        return discovery.result(update)


def discovery_of(
    args: argparse.Namespace, loading: float | None = None, spec: EngineSpec | None = None
) -> Discovery:
    """The engine's discovery (of `spec`, else the one named), started now."""
    return Discovery(spec or engine_spec(args), limits(args, loading))


@contextlib.contextmanager
def discovery(
    args: argparse.Namespace, loading: float | None = None, spec: EngineSpec | None = None
) -> Iterator[Discovery]:
    """The engine's discovery, started now, while the caller checks what it can meanwhile
    (`profile` waits for it); stopped if it was not waited for."""
    started = discovery_of(args, loading, spec)
    try:
        yield started
    finally:
        started.stop()


def settings(args: argparse.Namespace, found: Profile) -> Settings:
    from minigrad_tool.check import settings_for

    if not found.tuned_by_flags:
        scalar_only = [
            flag
            for flag, given in (
                ("--fast", args.fast),
                ("--eps", args.eps is not None),
                ("--atol", args.atol is not None),
                ("--rtol", args.rtol is not None),
                ("--any-subgradient", args.any_subgradient),
            )
            if given
        ]
        if scalar_only:
            raise UsageError(
                f"{found.class_name} is a tensor engine: {', '.join(scalar_only)} apply to "
                "scalar engines only (the tensor battery picks its steps and tolerances from "
                "the measured precision)"
            )
    try:
        return settings_for(
            found,
            eps=args.eps,
            atol=args.atol,
            rtol=args.rtol,
            fast=args.fast,
            any_subgradient=args.any_subgradient,
        )
    except ValueError as err:
        raise UsageError(str(err)) from err
