"""The `minigrad` command's arguments: every subcommand, its options, and where defaults come from.

A default comes from `[tool.minigrad]` when the project sets it (the help
says so, and which file), else from minigrad.  Flags override both.
"""

from __future__ import annotations

import argparse
import math
import os
from collections.abc import Callable
from typing import Any

from minigrad_tool import __version__
from minigrad_tool.cli import arguments
from minigrad_tool.cli.config import Config
from minigrad_tool.isolation import DEFAULT_MEMORY_MIB
from minigrad_tool.mutation.judges import JUDGES
from minigrad_tool.mutation.operators import OPERATORS

__all__ = ["DEFAULT_JOBS", "build_parser"]

# One child per core: each runs engine code flat out.
DEFAULT_JOBS = os.cpu_count() or 1


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


class _Builder:
    """Adds options to subcommands, taking defaults from the project's settings."""

    def __init__(self, config: Config, commands: Any) -> None:
        self.config = config
        self.commands = commands

    def command(self, name: str, summary: str, description: str) -> argparse.ArgumentParser:
        parser: argparse.ArgumentParser = self.commands.add_parser(
            name,
            help=summary,
            description=f"{summary}.\n\n{description}",
            formatter_class=_Formatter,
        )
        return parser

    def option(
        self, parser: argparse.ArgumentParser, *flags: str, default: Any = None, **kw: Any
    ) -> None:
        """An option whose default the project's settings may replace (saying so in --help)."""
        dest = kw.get("dest") or flags[0].lstrip("-").replace("-", "_")
        if dest in self.config.values:
            value = self.config.values[dest]
            shown = " ".join(value) if isinstance(value, tuple) else value
            kw["help"] = f"{kw.get('help', '')} (default: {shown}, from {self.config.origin})"
            default = value
        parser.add_argument(*flags, default=default, **kw)

    def engine(self, parser: argparse.ArgumentParser) -> None:
        self.option(
            parser,
            "--engine",
            metavar="PATH|MODULE[:CLASS]",
            help="the engine to check: a .py file or an importable module with a "
            "micrograd-style node class; `:CLASS` names the class when it is not `Value`. "
            "Required, here or as `engine` in [tool.minigrad] of pyproject.toml",
        )
        self.option(
            parser,
            "--backward",
            type=arguments.method_name,
            metavar="NAME",
            help="the method of a node that runs the whole backward pass, where it is not "
            "backward() (nor backwards(), backprop(), ... which minigrad finds): "
            "`--backward updateGradients`",
        )
        self.option(
            parser,
            "--definitions-only",
            action="store_true",
            default=False,
            help="run the engine's file without the script at its top level (a training "
            "loop, a dataset read): its imports, functions, classes and assignments that call "
            "nothing, in minigrad's processes only (your file is unchanged)",
        )

    def limits(self, parser: argparse.ArgumentParser, timeout_help: str) -> None:
        self.option(
            parser, "--timeout", type=arguments.seconds, metavar="SECONDS", help=timeout_help
        )
        self.option(
            parser,
            "--memory",
            type=arguments.memory,
            default=DEFAULT_MEMORY_MIB,
            metavar="MIB",
            help="address-space limit (virtual memory, RLIMIT_AS: every mapping counts, so "
            "libraries such as torch need several GiB) of every child that runs engine or "
            "test code",
        )
        self.option(
            parser,
            "--jobs",
            type=arguments.jobs,
            default=DEFAULT_JOBS,
            metavar="N",
            help="children run at once; each (one per mutant, or per case) takes a core's "
            "time to fork and end as well, so on 2 cores --jobs 2 takes about 0.6x the time of "
            "--jobs 1 on a student's suite, not 0.5x, as measured in the README's Performance",
        )

    def checking(self, parser: argparse.ArgumentParser) -> None:
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
            help="at a kink (relu, abs at 0) accept any subgradient without a note; in "
            "`mutate`, stop pinning the engine's own choice there",
        )

    def tests(self, parser: argparse.ArgumentParser, help_text: str) -> None:
        self.option(
            parser,
            "--tests",
            nargs="+",
            action=arguments.Repeatable,
            metavar="PATH",
            default=(),
            type=str,
            help=help_text,
        )

    def min_score(self, parser: argparse.ArgumentParser) -> None:
        self.option(
            parser,
            "--min-score",
            type=arguments.percentage,
            default=100.0,
            metavar="PERCENT",
            help="exit 1 below this score",
        )


def _check_commands(b: _Builder, run: Callable[[str], Callable[..., int]]) -> None:
    check = b.command(
        "gradcheck",
        "run the gradcheck battery on an engine",
        "Every op the engine has is checked: forward against plain math where minigrad knows "
        "the op, gradients against central differences at points in its domain, with "
        "pre-seeded and scaled upstream gradients, reused in composites; plus the lab's "
        "composites, deep chains, random DAGs and an MLP.  Exit 0: every case passed; 1: a "
        "case failed, or nothing could be checked; 2: the engine cannot be used.",
    )
    b.engine(check)
    b.checking(check)
    b.limits(check, "deadline of each case, and of loading the engine (default: 60)")
    check.add_argument(
        "--json",
        nargs="?",
        const="-",
        metavar="PATH",
        help="print the results as JSON only; with PATH, write them there as JSON, and print "
        "the usual report",
    )
    check.set_defaults(run=run("gradcheck"))

    inspect = b.command(
        "inspect",
        "show what minigrad finds in an engine",
        "The node class, where nodes keep their children, the precision, every op with its "
        "backward step, and how each op will be checked and mutated.",
    )
    b.engine(inspect)
    b.checking(inspect)
    b.limits(inspect, "deadline of loading the engine (default: 60)")
    inspect.set_defaults(run=run("inspect"))


def _mutate_outputs(mutate: argparse.ArgumentParser) -> None:
    """Where a campaign's reports go: files, and CI's formats."""
    mutate.add_argument(
        "--json", metavar="PATH", help="write a mutation-testing-report-schema v2 report"
    )
    mutate.add_argument("--html", metavar="PATH", help="write a self-contained HTML report")
    mutate.add_argument(
        "--junit", metavar="PATH", help="write JUnit XML: a test case per mutant (CI test reports)"
    )
    mutate.add_argument(
        "--format",
        choices=("text", "github"),
        default="text",
        help="github: also print GitHub workflow annotations on the lines of findings, "
        "survivors and uncovered mutants",
    )


def _mutate_selection(mutate: argparse.ArgumentParser) -> None:
    """Which mutants and cases a run judges: changed ops, a shard, battery groups."""
    mutate.add_argument(
        "--since",
        metavar="REF",
        help="judge only the ops whose code changed since this git ref (pull requests); every "
        "op when backward(), a shared helper, a test or the settings changed",
    )
    mutate.add_argument(
        "--no-cache",
        action="store_true",
        help="judge every mutant; by default a verdict whose inputs (its op's code, the code "
        "its covering tests reach, the tests, the settings, minigrad, the installed packages) "
        "are those of the last run is reported from it, and a run that changed nothing is "
        "the last one, reported again",
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
        action=arguments.Repeatable,
        type=lambda text: tuple(g.strip() for g in text.split(",") if g.strip()),
        default=None,
        metavar="NAMES",
        help="run only these battery groups (op, composite, graph, edge, random, mlp)",
    )


def _mutate_command(b: _Builder, run: Callable[[str], Callable[..., int]]) -> None:
    mutate = b.command(
        "mutate",
        "mutate every backward step and prove the judge kills each mutant",
        "Operators break each op's backward step, its forward, and backward() itself; each "
        "mutant runs in memory in a child process, judged by your own pytest tests (--tests) "
        "with minigrad's battery alongside, or by the battery alone.  Exit 0: the score is at "
        "least --min-score and every check passed; 1: below it, or the battery found the "
        "unmutated engine wrong; 2: usage error, or the unmutated engine fails the judge.",
    )
    b.engine(mutate)
    b.tests(
        mutate,
        "your pytest tests (files or folders): they judge each mutant.  An --engine given on the "
        "command line keeps the tests of [tool.minigrad]; tests that run no code of that engine "
        "cannot judge it (exit 2)",
    )
    b.option(
        mutate,
        "--judge",
        choices=("both", *JUDGES),
        help="which judge scores: with tests the default is both (your tests score, the "
        "battery alongside); without, the battery",
    )
    _mutate_outputs(mutate)
    mutate.add_argument(
        "--suggest",
        metavar="OUT.py",
        default=None,
        help="write a new pytest file with a test for each mutant your tests miss (needs tests)",
    )
    mutate.add_argument(
        "--overwrite",
        action="store_true",
        help="let --suggest replace an existing file (never one the run reads)",
    )
    b.option(
        mutate,
        "--operators",
        action=arguments.Repeatable,
        type=arguments.names("operator", tuple(OPERATORS)),
        metavar="NAMES",
        help=f"comma-separated operators (default: all of {','.join(OPERATORS)})",
    )
    b.min_score(mutate)
    mutate.add_argument(
        "-v",
        "--verbose",
        action="store_true",
        help="show each survivor's diff, reason and distinguishing input, and every finding "
        "in full (without it, one line per survivor)",
    )
    mutate.add_argument(
        "--matrix",
        action="store_true",
        help="run every covering case on every mutant; print the kill matrix",
    )
    _mutate_selection(mutate)
    b.checking(mutate)
    b.limits(
        mutate,
        "deadline of each mutant (default: 10x what the unmutated engine needs for its cases, "
        "plus 1 s); it must leave the unmutated engine room to pass",
    )
    mutate.set_defaults(run=run("mutate"))


def _other_mutation_commands(b: _Builder, run: Callable[[str], Callable[..., int]]) -> None:
    merge = b.command(
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
    b.min_score(merge)
    merge.set_defaults(run=run("merge"))

    inject = b.command(
        "inject",
        "inject one named bug and watch your tests catch it",
        "Shows the bug as a diff, checks that your tests pass on the unmutated engine, runs them "
        "against the mutant (in memory: nothing is written), and says which battery cases catch "
        "it too.  Your tests give the verdict, never the battery.  Exit 0: your tests catch it; "
        "1: it escapes them; 2: no tests to run, unknown bug, the tests fail without it, or "
        "the bug is equivalent (nothing could catch it).",
    )
    inject.add_argument("bug", nargs="?", help="a mutant ID such as sub-sign (see --list)")
    b.engine(inject)
    b.tests(
        inject,
        "the tests that must catch the bug (those of [tool.minigrad] stay, whatever --engine "
        "says; tests that run no code of the engine cannot judge it: exit 2)",
    )
    inject.add_argument(
        "--list", action="store_true", help="list every bug ID, marking the equivalent ones"
    )
    b.checking(inject)
    b.limits(inject, "deadline of loading the engine, and of each run of the tests")
    inject.set_defaults(run=run("inject"))


def build_parser(
    config: Config, run: Callable[[str], Callable[..., int]]
) -> argparse.ArgumentParser:
    """The whole command line; `run(name)` gives the function a subcommand calls."""
    parser = argparse.ArgumentParser(
        prog="minigrad",
        description="Check an autograd engine's gradients, and prove your tests would catch a "
        "wrong derivative.\n\nEngine code runs in child processes, never in this one: with a "
        "deadline, a memory limit, and a scratch working folder; on Linux with Landlock "
        "(5.13 and later) those that run the engine on its own (discovery, the battery, the "
        "probes) may write only there, to minigrad's bytecode cache and to /dev.  Your tests run "
        "from your folder, unconfined.",
        formatter_class=_Formatter,
    )
    parser.add_argument("--version", action="version", version=f"minigrad {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    builder = _Builder(config, commands)
    _check_commands(builder, run)
    _mutate_command(builder, run)
    _other_mutation_commands(builder, run)
    return parser
