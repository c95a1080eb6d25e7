"""The `minigrad` command: parse arguments, call the library, choose the exit code.

Exit codes: 0 success, 1 a check failed, 2 a usage error.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from minigrad.battery import BATTERY, GROUPS, Case, Settings, run_battery
from minigrad.engines import DEFAULT_ENGINE, EngineError, load_engine
from minigrad.gradcheck import Tolerance
from minigrad.mutation.mutants import MutationError, generate_mutants
from minigrad.mutation.operators import OPERATORS
from minigrad.mutation.runner import Campaign, CampaignConfig, HarnessError, run_campaign

if TYPE_CHECKING:
    from rich.console import Console

__all__ = ["main"]

OK, FAILED, USAGE = 0, 1, 2


class Output:
    """Standard output through rich, imported on first use.

    rich takes about 0.1 s to import and makes the campaign's forked children
    slower to copy, so a piped `minigrad mutate` loads it only to print results.
    """

    def __init__(self) -> None:
        self.is_terminal = sys.stdout.isatty()
        self._console: Console | None = None

    @property
    def console(self) -> Console:
        if self._console is None:
            from rich.console import Console

            # piped or in CI: wide enough for the op x operator table
            self._console = Console(highlight=False, width=None if self.is_terminal else 120)
        return self._console


class UsageError(Exception):
    """A bad argument: printed without a traceback, exit code 2."""


def _tolerance(args: argparse.Namespace) -> Tolerance:
    try:
        return Tolerance(args.eps, args.atol, args.rtol)
    except ValueError as err:
        raise UsageError(str(err)) from err


def _cmd_gradcheck(args: argparse.Namespace, out: Output) -> int:
    from minigrad.render import battery_json, print_battery

    engine = load_engine(args.engine)
    settings = Settings(_tolerance(args), fast=args.fast)
    results = run_battery(engine.value_cls, settings=settings)
    if args.json:
        print(battery_json(results, args.engine))
    else:
        print_battery(out.console, results, f"gradcheck battery on {args.engine} ({engine.path})")
    return FAILED if any(r.failed for r in results) else OK


def _names(kind: str, allowed: Sequence[str]) -> Callable[[str], tuple[str, ...]]:
    """Parse a comma-separated list of names, each one of `allowed`."""

    def parse(text: str) -> tuple[str, ...]:
        names = tuple(name.strip() for name in text.split(",") if name.strip())
        unknown = [name for name in names if name not in allowed]
        if unknown or not names:
            raise argparse.ArgumentTypeError(
                f"unknown {kind}(s) {', '.join(unknown) or '(none given)'}; "
                f"choose from {', '.join(allowed)}"
            )
        return names

    return parse


def _shard(text: str) -> tuple[int, int]:
    index, _, count = text.partition("/")
    if not (index.isdigit() and count.isdigit() and 1 <= int(index) <= int(count)):
        raise argparse.ArgumentTypeError(f"expected I/N with 1 <= I <= N, got {text!r}")
    return int(index), int(count)


def _positive(kind: type[int] | type[float]) -> Callable[[str], float]:
    def parse(text: str) -> float:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
        if not value > 0:
            raise argparse.ArgumentTypeError(f"expected a number > 0, got {text!r}")
        return value

    return parse


def _with_progress(
    out: Output, config: CampaignConfig, engine_spec: str, cases: Sequence[Case]
) -> Campaign:
    engine = load_engine(engine_spec)
    if not out.is_terminal:
        return run_campaign(engine, config, cases=cases)
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

    columns = ("{task.description}", BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=out.console, transient=True) as bar:
        task = bar.add_task("mutants", total=None)
        return run_campaign(
            engine,
            config,
            cases=cases,
            progress=lambda done, total: bar.update(task, completed=done, total=total),
        )


def _cmd_mutate(args: argparse.Namespace, out: Output) -> int:
    config = CampaignConfig(
        operators=args.operators,
        jobs=args.jobs,
        timeout=args.timeout,
        matrix=args.matrix,
        shard=args.shard,
        settings=Settings(fast=args.fast),
    )
    cases = BATTERY if args.groups is None else tuple(c for c in BATTERY if c.group in args.groups)
    try:
        campaign = _with_progress(out, config, args.engine, cases)
    except (HarnessError, MutationError) as err:
        raise UsageError(str(err)) from err
    from minigrad.mutation.report import print_campaign, print_matrix, write_schema_report

    console = out.console
    if args.matrix:
        print_matrix(console, campaign)
    print_campaign(console, campaign)
    if args.json:
        write_schema_report(args.json, [campaign])
        console.print(f"wrote {args.json} (mutation-testing-report-schema v2)")
    if args.html:
        from minigrad.mutation.html_report import write_html

        write_html(args.html, campaign)
        console.print(f"wrote {args.html} (self-contained HTML report)")
    if campaign.score < args.min_score:
        console.print(
            f"score {campaign.score:.1f}% is below --min-score {args.min_score:g}%",
            style="bold red",
        )
        return FAILED
    return OK


def _cmd_inject(args: argparse.Namespace, out: Output) -> int:
    console = out.console
    from rich.syntax import Syntax

    from minigrad.mutation.inject import catching_cases, find_bug, gradcheck_tests, run_pytest

    engine = load_engine(args.engine)
    if args.list:
        for mutant in generate_mutants(engine.source):
            console.print(
                f"{mutant.id:<18} Value.{mutant.function}: {mutant.description}", markup=False
            )
        return OK
    if args.bug is None:
        raise UsageError("name a bug to inject (see --list), e.g. `minigrad inject sub-sign`")
    try:
        mutant = find_bug(engine, args.bug)
    except MutationError as err:
        raise UsageError(str(err)) from err
    console.print(
        f"[bold]Injecting {mutant.id}[/] into Value.{mutant.function}: {mutant.description}"
    )
    console.print(Syntax(mutant.diff(engine.source, engine.path.name), "diff"))
    tests = gradcheck_tests()
    if tests is None:
        console.print("tests/test_gradcheck.py not found here; confirming with the battery alone")
    else:
        console.print(f"[bold]Running pytest {tests} against a temporary mutated copy[/]\n")
        sys.stdout.flush()
        run_pytest(mutant, engine, tests)
    killers, reason = catching_cases(mutant, engine)
    if killers:
        console.print(f"\n[bold green]caught by {len(killers)} cases:[/] {', '.join(killers)}")
        console.print(f"the source file {engine.path} was not modified")
        return OK
    if reason:
        console.print(f"\n[bold green]caught:[/] the battery could not finish on it ({reason})")
        return OK
    console.print(
        f"\n[bold red]ESCAPED: no case catches {mutant.id}[/] - the battery needs a case for it"
    )
    return FAILED


def _cmd_merge(args: argparse.Namespace, out: Output) -> int:
    console = out.console
    from minigrad.mutation.merge import MergeError, merge_reports, read_report, score_of

    try:
        merged = merge_reports([read_report(Path(path)) for path in args.reports])
    except MergeError as err:
        raise UsageError(str(err)) from err
    score, counts = score_of(merged)
    total = sum(counts.values())
    detail = ", ".join(f"{n} {status}" for status, n in sorted(counts.items()))
    console.print(f"merged {len(args.reports)} reports: {total} mutants ({detail})", markup=False)
    if args.json:
        Path(args.json).write_text(json.dumps(merged, indent=2) + "\n", encoding="utf-8")
        console.print(f"wrote {args.json}", markup=False)
    console.print(f"mutation score: {score:.1f}%", style="bold", markup=False)
    if score < args.min_score:
        console.print(
            f"score {score:.1f}% is below --min-score {args.min_score:g}%", style="bold red"
        )
        return FAILED
    return OK


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

    mutate = commands.add_parser(
        "mutate", help="mutate every backward step and prove the battery kills each mutant"
    )
    _add_engine(mutate)
    mutate.add_argument(
        "--operators",
        type=_names("operator", tuple(OPERATORS)),
        default=None,
        metavar="NAMES",
        help=f"comma-separated operators (default: all of {','.join(OPERATORS)})",
    )
    mutate.add_argument(
        "--min-score",
        type=float,
        default=100.0,
        metavar="PERCENT",
        help="exit 1 below this score (default 100)",
    )
    mutate.add_argument(
        "--json", metavar="PATH", help="write a mutation-testing-report-schema v2 report"
    )
    mutate.add_argument("--html", metavar="PATH", help="write a self-contained HTML report")
    mutate.add_argument(
        "--jobs",
        type=_positive(int),
        default=os.cpu_count() or 1,
        metavar="N",
        help="parallel workers (default: all cores)",
    )
    mutate.add_argument(
        "--timeout",
        type=_positive(float),
        default=None,
        metavar="SECONDS",
        help="per-mutant limit (default: 10x the clean battery)",
    )
    mutate.add_argument(
        "--matrix",
        action="store_true",
        help="run every case on every mutant; print the kill matrix",
    )
    mutate.add_argument(
        "--shard", type=_shard, default=(1, 1), metavar="I/N", help="run only shard I of N"
    )
    mutate.add_argument(
        "--groups",
        type=_names("group", GROUPS),
        default=None,
        metavar="NAMES",
        help=f"run only these battery groups (default: all of {','.join(GROUPS)})",
    )
    mutate.add_argument(
        "--fast", action="store_true", help="use fast (directional) gradcheck in the battery"
    )
    mutate.set_defaults(run=_cmd_mutate)

    merge = commands.add_parser("merge", help="combine the JSON reports of --shard runs")
    merge.add_argument(
        "reports", nargs="+", metavar="REPORT.json", help="the shards' --json reports"
    )
    merge.add_argument("--json", metavar="PATH", help="write the merged report")
    merge.add_argument(
        "--min-score", type=float, default=100.0, metavar="PERCENT", help="exit 1 below this score"
    )
    merge.set_defaults(run=_cmd_merge)

    inject = commands.add_parser("inject", help="inject one named bug and watch the tests catch it")
    inject.add_argument("bug", nargs="?", help="a mutant ID such as sub-sign (see --list)")
    _add_engine(inject)
    inject.add_argument("--list", action="store_true", help="list every bug ID with a description")
    inject.set_defaults(run=_cmd_inject)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        code: int = args.run(args, Output())
    except (EngineError, UsageError) as err:
        from rich.console import Console

        Console(stderr=True, highlight=False, soft_wrap=True).print(
            f"[bold red]error:[/] {err}", markup=True
        )
        return USAGE
    return code


if __name__ == "__main__":
    sys.exit(main())
