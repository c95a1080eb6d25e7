"""The mutation subcommands of `minigrad`: mutate, inject and merge (argument parsing only)."""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from minigrad import arguments
from minigrad.mutation.operators import OPERATORS

__all__ = ["add_mutation_commands", "checked_output", "python_files"]


def python_files(paths: Sequence[str]) -> list[Path]:
    """The .py files under the given files and folders: what a run reads."""
    found: list[Path] = []
    for text in paths:
        path = Path(text)
        if path.is_dir():
            found += sorted(path.rglob("*.py"))
        elif path.is_file():
            found.append(path)
    return found


def checked_output(text: str | None, reads: Sequence[Path], what: str) -> Path | None:
    """An output path that can be written and is no file the run reads; else a usage error."""
    from minigrad.cli import UsageError

    if text is None:
        return None
    path = Path(text)
    if path.is_dir():
        raise UsageError(f"{what} {text} is a directory, not a file")
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise UsageError(f"{what} {text}: the folder {folder} does not exist")
    if not os.access(folder, os.W_OK) or (path.exists() and not os.access(path, os.W_OK)):
        raise UsageError(f"{what} {text} cannot be written (permission denied)")
    for source in reads:
        same = path.resolve() == source.resolve()
        if path.exists() and source.exists():
            same = same or os.path.samefile(path, source)
        if same:
            raise UsageError(f"refusing to write {what} onto {source}: the run reads that file")
    return path


def _add_min_score(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--min-score",
        type=arguments.percentage,
        default=100.0,
        metavar="PERCENT",
        help="exit 1 below this score",
    )


def add_mutation_commands(
    commands: Any,
    command: Callable[..., argparse.ArgumentParser],
    add_engine: Callable[[argparse.ArgumentParser], None],
    add_checking: Callable[[argparse.ArgumentParser], None],
    add_limits: Callable[[argparse.ArgumentParser, str], None],
) -> None:
    from minigrad.mutation import commands as run

    mutate = command(
        commands,
        "mutate",
        "mutate every backward step and prove the judge kills each mutant",
        "Operators break each op's backward step, its forward, and backward() itself; each "
        "mutant runs in memory in a child process, judged by minigrad's battery, or by your own "
        "pytest tests with --tests (both, side by side, unless --judge says otherwise).  Exit 0: "
        "the score is at least --min-score; 1: below it; 2: usage error, or the unmutated engine "
        "fails its judge.",
    )
    add_engine(mutate)
    mutate.add_argument(
        "--tests",
        nargs="+",
        metavar="PATH",
        default=(),
        help="your pytest tests (files or folders): they judge each mutant",
    )
    mutate.add_argument(
        "--judge",
        choices=("both", "tests", "battery"),
        default=None,
        help="which judge scores: with --tests the default is both (your tests score, the "
        "battery alongside); without, the battery",
    )
    mutate.add_argument(
        "--suggest",
        metavar="OUT.py",
        default=None,
        help="write a pytest file with a test for each mutant your tests miss (needs --tests)",
    )
    mutate.add_argument(
        "--operators",
        type=arguments.names("operator", tuple(OPERATORS)),
        default=None,
        metavar="NAMES",
        help=f"comma-separated operators (default: all of {','.join(OPERATORS)})",
    )
    _add_min_score(mutate)
    mutate.add_argument(
        "--json", metavar="PATH", help="write a mutation-testing-report-schema v2 report"
    )
    mutate.add_argument("--html", metavar="PATH", help="write a self-contained HTML report")
    mutate.add_argument(
        "--matrix",
        action="store_true",
        help="run every covering case on every mutant; print the kill matrix",
    )
    mutate.add_argument(
        "--shard",
        type=arguments.shard,
        default=(1, 1),
        metavar="I/N",
        help="run only shard I of N (default: 1/1, every mutant)",
    )
    mutate.add_argument(
        "--groups",
        type=lambda text: tuple(g.strip() for g in text.split(",") if g.strip()),
        default=None,
        metavar="NAMES",
        help="run only these battery groups (op, composite, graph, edge, random, mlp)",
    )
    add_checking(mutate)
    add_limits(
        mutate,
        "deadline of each mutant (default: 10x what the unmutated engine needs for its cases, "
        "plus 1 s); it must leave the unmutated engine room to pass",
    )
    mutate.set_defaults(run=run.mutate)

    merge = command(
        commands,
        "merge",
        "combine the JSON reports of --shard runs into one report and one score",
        "Every shard 1..N of one run must be given exactly once.  Exit 0: the merged score is "
        "at least --min-score; 1: below it; 2: missing, duplicate or foreign shards, or a "
        "report that is not one.",
    )
    merge.add_argument(
        "reports", nargs="+", metavar="REPORT.json", help="the shards' --json reports"
    )
    merge.add_argument("--json", metavar="PATH", help="write the merged report")
    _add_min_score(merge)
    merge.set_defaults(run=run.merge)

    inject = command(
        commands,
        "inject",
        "inject one named bug and watch the tests catch it",
        "Shows the bug as a diff, checks that your tests pass on the unmutated engine, runs them "
        "against the mutant (in memory: nothing is written), and says which battery cases catch "
        "it too.  Exit 0: your tests catch it (or it is equivalent: nothing to catch); 1: it "
        "escapes them; 2: unknown bug, or the tests fail without it.",
    )
    inject.add_argument("bug", nargs="?", help="a mutant ID such as sub-sign (see --list)")
    add_engine(inject)
    inject.add_argument(
        "--tests",
        nargs="+",
        metavar="PATH",
        default=None,
        help="the tests to run (default: tests/test_gradcheck.py here, if it exists)",
    )
    inject.add_argument(
        "--list", action="store_true", help="list every bug ID, marking the equivalent ones"
    )
    add_limits(inject, "deadline of loading the engine, and of each run of the tests")
    inject.set_defaults(run=run.inject)
