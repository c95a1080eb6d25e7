"""What `minigrad mutate`, `merge` and `inject` do with their arguments: call the library, print."""

from __future__ import annotations

import argparse
import difflib
import json
import os
import tempfile
from pathlib import Path

from minigrad.output import Output

__all__ = ["inject", "merge", "mutate", "write_atomically"]

OK, FAILED, USAGE = 0, 1, 2


def write_atomically(path: Path, text: str) -> None:
    """Write to a temporary file beside `path`, then rename: never a half-written report."""
    folder = path.parent if str(path.parent) else Path(".")
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=folder)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _progress(out: Output):  # type: ignore[no-untyped-def]
    """A progress bar on a terminal; nothing when piped."""
    import contextlib

    if not out.is_terminal:
        return contextlib.nullcontext(None)
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

    columns = ("{task.description}", BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    return Progress(*columns, console=out.console, transient=True)


def _needs_pytest(what: str) -> None:
    """Your tests run under pytest, which must be importable where minigrad runs."""
    import importlib.util

    from minigrad.cli import UsageError

    if importlib.util.find_spec("pytest") is None:
        raise UsageError(
            f"{what} runs your tests with pytest, which is not installed beside minigrad: "
            "install it there (`pip install pytest`), or run `uv run --with pytest minigrad ...`"
        )


def mutate(args: argparse.Namespace, out: Output) -> int:
    from minigrad.cli import DEFAULT_TIMEOUT, UsageError, _limits, _profile, _settings
    from minigrad.mutation.campaign import CampaignConfig, HarnessError, run_campaign
    from minigrad.mutation.cli import checked_output, python_files
    from minigrad.mutation.mutants import MutationError, generate_mutants
    from minigrad.mutation.report import print_campaign, print_matrix, schema_report

    tests = tuple(args.tests)
    for path in tests:
        if not Path(path).exists():
            raise UsageError(f"--tests: {path} does not exist")
    judge = args.judge or ("both" if tests else "battery")
    if judge in ("both", "tests") and not tests:
        raise UsageError(f"--judge {judge} needs --tests PATH")
    if args.suggest and not tests:
        raise UsageError("--suggest writes tests for what your tests miss: it needs --tests PATH")
    if tests:
        _needs_pytest("--tests")
    judges = {"both": ("tests", "battery"), "tests": ("tests",), "battery": ("battery",)}[judge]
    spec, profile = _profile(args, out, DEFAULT_TIMEOUT)  # --timeout is each mutant's
    reads = [spec.path, *python_files(tests)]
    json_path = checked_output(args.json, reads, "--json")
    html_path = checked_output(args.html, reads, "--html")
    suggest_path = checked_output(args.suggest, reads, "--suggest")
    config = CampaignConfig(
        operators=args.operators,
        jobs=args.jobs,
        timeout=args.timeout,
        memory_mib=args.memory,
        matrix=args.matrix,
        shard=args.shard,
        settings=_settings(args, profile),
        groups=args.groups,
        tests=tests,
        judges=judges,
    )
    try:
        generated = generate_mutants(spec, profile, config.operators)
        if not generated.mutants:
            raise UsageError(
                f"{profile.class_name} in {spec.path} has no backward step minigrad can mutate"
            )
        with _progress(out) as bar:
            tasks: dict[str, object] = {}

            def progress(judge_name: str, done: int, total: int) -> None:
                if bar is None:
                    return
                if judge_name not in tasks:
                    tasks[judge_name] = bar.add_task(f"{judge_name}: mutants", total=total)
                bar.update(tasks[judge_name], completed=done, total=total)

            campaign = run_campaign(spec, profile, config, progress=progress, generated=generated)
    except (HarnessError, MutationError) as err:
        raise UsageError(str(err)) from err
    if args.matrix:
        print_matrix(out, campaign)
    print_campaign(out, campaign)
    if json_path is not None:
        write_atomically(json_path, json.dumps(schema_report([campaign]), indent=2) + "\n")
        out.line(f"wrote {json_path} (mutation-testing-report-schema v2)")
    if html_path is not None:
        from minigrad.mutation.html_report import render_html

        write_atomically(html_path, render_html(campaign))
        out.line(f"wrote {html_path} (self-contained HTML report)")
    if suggest_path is not None:
        from minigrad.mutation.suggest import print_suggestions, suggest_tests

        suggestions = suggest_tests(spec, profile, campaign, config, _limits(args))
        if suggestions.text:
            write_atomically(suggest_path, suggestions.text)
        print_suggestions(out, suggestions, suggest_path)
    if campaign.judged == 0:
        out.line("no mutant could be judged: there is no score to give", "bold red")
        return USAGE
    if campaign.score < args.min_score:
        out.line(
            f"score {campaign.score:.1f}% is below --min-score {args.min_score:g}%", "bold red"
        )
        return FAILED
    return OK


def merge(args: argparse.Namespace, out: Output) -> int:
    from minigrad.cli import UsageError
    from minigrad.mutation.merge import MergeError, merge_reports, read_report, score_of

    try:
        merged = merge_reports([(Path(p), read_report(Path(p))) for p in args.reports])
    except MergeError as err:
        raise UsageError(str(err)) from err
    score, counts = score_of(merged)
    total = sum(counts.values())
    detail = ", ".join(f"{n} {status}" for status, n in sorted(counts.items()))
    out.line(f"merged {len(args.reports)} shard reports: {total} mutants ({detail})")
    if args.json:
        write_atomically(Path(args.json), json.dumps(merged, indent=2) + "\n")
        out.line(f"wrote {args.json}")
    if score is None:
        out.line("no mutant was judged: there is no score to give", "bold red")
        return USAGE
    out.line(f"mutation score: {score:.1f}%", "bold")
    if score < args.min_score:
        out.line(f"score {score:.1f}% is below --min-score {args.min_score:g}%", "bold red")
        return FAILED
    return OK


def inject(args: argparse.Namespace, out: Output) -> int:
    from minigrad.cli import UsageError, _limits, _profile
    from minigrad.mutation.inject import Injection, default_tests, run_injection
    from minigrad.mutation.mutants import generate_mutants

    spec, profile = _profile(args, out)
    generated = generate_mutants(spec, profile)
    limits = _limits(args)
    if args.list:
        from minigrad.mutation.inject import equivalent_ids

        equivalent = equivalent_ids(spec, profile, generated, limits, args.jobs)
        for m in generated.mutants:
            mark = "  [equivalent]" if m.id in equivalent else ""
            out.line(f"{m.id:<22} {m.function}: {m.description}{mark}")
        return OK
    if args.bug is None:
        raise UsageError("name a bug to inject (see --list), e.g. `minigrad inject sub-sign`")
    ids = [m.id for m in generated.mutants]
    if args.bug not in ids:
        close = difflib.get_close_matches(args.bug, ids, n=5, cutoff=0.5)
        hint = f"; did you mean {', '.join(close)}?" if close else "; see `minigrad inject --list`"
        raise UsageError(f"unknown bug {args.bug!r}{hint}")
    _needs_pytest("inject")
    mutant = next(m for m in generated.mutants if m.id == args.bug)
    tests = args.tests if args.tests is not None else default_tests()
    injection = Injection(spec, profile, mutant, tests, limits, args.jobs)
    return run_injection(injection, out)
