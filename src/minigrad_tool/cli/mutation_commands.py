"""`minigrad mutate`, `merge` and `inject`: call the library, print, choose the exit code."""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import difflib
import importlib.util
import json
import os
import shlex
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from minigrad_tool.adapter import Discovery, EngineSpec, Profile
from minigrad_tool.cli import common
from minigrad_tool.cli.common import FAILED, OK, USAGE, UsageError
from minigrad_tool.cli.outputs import Outputs, write_file
from minigrad_tool.invocation import command
from minigrad_tool.report.output import Output

if TYPE_CHECKING:  # the library is imported when a command runs, so help stays fast
    from minigrad_tool.cli.cached import RunCache
    from minigrad_tool.mutation.inject import Injection
    from minigrad_tool.mutation.judges.tests import EarlyTests
    from minigrad_tool.mutation.judging import CampaignConfig
    from minigrad_tool.mutation.mutants import Generated, Mutant
    from minigrad_tool.mutation.results import Campaign
    from minigrad_tool.mutation.since import Changes
    from minigrad_tool.mutation.suggest import Suggestions

__all__ = ["inject", "merge", "mutate"]

NO_TESTS = (
    "inject needs your tests: it runs them against the bug, and only they can catch it. "
    "Pass --tests PATH, or set them once for the project in pyproject.toml:\n\n"
    '    [tool.minigrad]\n    tests = ["tests/test_gradcheck.py"]'
)


def _progress(out: Output) -> Any:
    """A progress bar on a terminal; nothing when piped."""
    if not out.is_terminal:
        return contextlib.nullcontext(None)
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

    columns = ("{task.description}", BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    return Progress(*columns, console=out.console, transient=True)


def _needs_pytest(what: str) -> None:
    """Your tests run under pytest, which must be importable where minigrad runs."""
    if importlib.util.find_spec("pytest") is None:
        raise UsageError(
            f"{what} runs your tests with pytest, which is not installed beside minigrad: "
            "install it there (`pip install pytest`), or run `uv run --with pytest minigrad ...`"
        )


def _existing_tests(tests: Sequence[str]) -> tuple[str, ...]:
    for path in tests:
        if not Path(path).exists():
            raise UsageError(f"--tests: {path} does not exist")
    return tuple(tests)


def suggest_hint(tests: Sequence[str]) -> str:
    """A --suggest path that works from here: beside the first test file (or in its folder)."""
    first = Path(tests[0]) if tests else Path(".")
    folder = first if first.is_dir() else first.parent
    name = "test_suggested.py"
    candidate = folder / name
    k = 2
    while candidate.exists():
        candidate, k = folder / f"test_suggested_{k}.py", k + 1
    return shlex.quote(os.path.normpath(candidate))


def _no_engine_code(args: argparse.Namespace, err: Exception, remedy: str = "") -> UsageError:
    """Tests that never run the engine named cannot judge it: say where they came from (the
    project's settings, for another engine, when --engine was given on the command line)."""
    from minigrad_tool.mutation.judges.tests import NoEngineCode

    assert isinstance(err, NoEngineCode)
    config = args.config
    configured = config.values.get("tests")
    origin = f"from {config.origin}" if configured and tuple(args.tests) == configured else ""
    return UsageError(err.explain(origin, remedy))


def _judges(args: argparse.Namespace, tests: Sequence[str]) -> tuple[str, ...]:
    judge = args.judge or ("both" if tests else "battery")
    if judge in ("both", "tests") and not tests:
        raise UsageError(f"--judge {judge} needs --tests PATH")
    return ("tests", "battery") if judge == "both" else (judge,)


def _nothing_to_mutate(spec: EngineSpec, profile: Profile, generated: Generated) -> str:
    """No mutant: why, with the ops' own reasons (steps in another file of the package)."""
    from minigrad_tool.mutation.results import NO_MUTATE

    if generated.no_mutate:
        return (
            f"every mutant of {profile.class_name} in {spec.path} is of a line marked "
            f"`{NO_MUTATE}` ({len(generated.no_mutate)} left out): nothing to judge, no verdict"
        )
    return (
        f"{profile.class_name} in {spec.path} has no backward step minigrad can mutate"
        + _reasons(generated)
    )


def _no_op_mutated(spec: EngineSpec, profile: Profile, generated: Generated) -> str:
    """Mutants of backward() alone: a score of them would vouch for no op's derivative."""
    ops = ", ".join(dict.fromkeys(op for op, _ in generated.unreachable))
    return (
        f"{profile.class_name} in {spec.path} has no op whose backward step minigrad can "
        f"mutate ({ops}){_reasons(generated)}; only {profile.class_name}."
        f"{profile.backward_name}() has mutants, and a score of them alone would say nothing "
        "of a wrong derivative in any op: no verdict (`minigrad gradcheck` still checks every "
        "op's gradients)"
    )


def _reasons(generated: Generated) -> str:
    """Why the ops were not mutated: once where every op has the same reason."""
    reasons = {why for _, why in generated.unreachable}
    if len(reasons) == 1:
        return f"; {reasons.pop()}"
    return "".join(f"; {op}: {why}" for op, why in generated.unreachable[:4])


def _since(
    args: argparse.Namespace,
    out: Output,
    spec: EngineSpec,
    profile: Profile,
    generated: Generated,
    judging: Sequence[str],
) -> tuple[Changes | None, Generated]:
    """--since REF: the ops whose code changed (said on one line), and their mutants only;
    nothing to judge is no verdict (exit 2), since a pass would vouch for code nothing
    checked.  `judging`: the tests that judge (none when the battery judges alone)."""
    from minigrad_tool.mutation.since import SinceError, changes_since

    if not args.since:
        return None, generated
    others = [p for p in common.reads_of(args, spec, judging) if p.resolve() != spec.path]
    try:
        changes = changes_since(spec, profile, generated.sites, others, args.since)
    except SinceError as err:
        raise UsageError(str(err)) from err
    if not changes.judged:
        raise UsageError(
            f"{changes.describe()}, nor any test, setting or other file of the run: nothing to "
            f"judge, so no verdict (run without --since for one; in CI, run this step only "
            f"when the engine or its tests change)"
        )
    out.line(changes.describe())
    judged = set(changes.judged)
    mutants = [m for m in generated.mutants if m.op in judged]
    return changes, dataclasses.replace(generated, mutants=mutants)


def mutate(args: argparse.Namespace, out: Output) -> int:
    from minigrad_tool.mutation.judges.tests import tests_started_early
    from minigrad_tool.mutation.judging import CampaignConfig

    tests = _existing_tests(args.tests)
    judges = _judges(args, tests)
    if args.suggest and not tests:
        raise UsageError("--suggest writes tests for what your tests miss: it needs --tests PATH")
    if tests:
        _needs_pytest("--tests")
    spec = common.engine_spec(args)
    config = CampaignConfig(
        operators=args.operators,
        jobs=args.jobs,
        timeout=args.timeout,
        memory_mib=args.memory,
        matrix=args.matrix,
        shard=args.shard,
        groups=args.groups,
        tests=tests,
        judges=judges,
    )
    # Your tests' host collects them, and the engine's discovery runs, while the outputs and
    # the result cache are checked; a run the cache replays stops both unused.
    loading = common.DEFAULT_TIMEOUT  # --timeout: per mutant
    with (
        tests_started_early(spec, config) as early,
        common.discovery(args, loading, spec) as discovery,
    ):
        outputs = Outputs.check(
            [
                ("--json", args.json),
                ("--html", args.html),
                ("--junit", args.junit),
                ("--suggest", args.suggest),
            ],
            common.reads_of(args, spec, tests),
            new_only=() if args.overwrite else ("--suggest",),
        )
        kept = _kept(args, spec, tests)
        replayed = kept.replay() if kept is not None and not kept.reads_only(args) else None
        if replayed is not None:
            return _report(args, out, replayed, outputs, spec, tests)
        return _campaign(args, out, kept, config, outputs, (early, discovery))


def _campaign(
    args: argparse.Namespace,
    out: Output,
    kept: RunCache | None,
    config: CampaignConfig,
    outputs: Outputs,
    started: tuple[EarlyTests | None, Discovery],
) -> int:
    from minigrad_tool.mutation.campaign import run_campaign
    from minigrad_tool.mutation.judges.tests import NoEngineCode
    from minigrad_tool.mutation.judging import HarnessError
    from minigrad_tool.mutation.mutants import MutationError, generate_mutants

    tests, judges = config.tests, config.judges
    early, discovery = started
    spec, profile = common.profile(args, out, started=discovery)
    config = dataclasses.replace(config, settings=common.settings(args, profile))
    try:
        generated = generate_mutants(spec, profile, config.operators)
        if not generated.mutants:
            raise UsageError(_nothing_to_mutate(spec, profile, generated))
        if generated.unreachable and not any(s.kind == "op" and s.steps for s in generated.sites):
            raise UsageError(_no_op_mutated(spec, profile, generated))
        keys = None
        if kept is not None:  # what discovery found and the settings it gave count too
            keys = kept.mutant_keys(spec, generated, profile, config)  # of every op's mutants
        judging = tests if "tests" in judges else ()  # the battery reads no test
        changes, generated = _since(args, out, spec, profile, generated, judging)
        with _progress(out) as bar:
            tasks: dict[str, object] = {}

            def progress(judge_name: str, done: int, total: int) -> None:
                if bar is None:
                    return
                if judge_name not in tasks:
                    tasks[judge_name] = bar.add_task(f"{judge_name}: mutants", total=total)
                bar.update(tasks[judge_name], completed=done, total=total)

            campaign = run_campaign(
                spec,
                profile,
                config,
                progress=progress,
                generated=generated,
                keys=keys,
                early=early,
            )
    except NoEngineCode as err:
        raise _no_engine_code(args, err) from err
    except (HarnessError, MutationError) as err:
        raise UsageError(str(err)) from err
    if changes is not None:
        campaign.since, campaign.not_judged = changes.ref, list(changes.unchanged)
    if kept is not None and not kept.reads_only(args):
        kept.save(campaign)
    code = _report(args, out, campaign, outputs, spec, tests)
    suggest_path = outputs.get("--suggest")
    if suggest_path is not None:
        from minigrad_tool.mutation.suggest import suggest_tests

        suggestions = suggest_tests(spec, profile, campaign, config, common.limits(args))
        if suggestions.text:
            write_file(suggest_path, suggestions.text)
        _print_suggestions(out, suggestions, suggest_path)
    return code


def _kept(args: argparse.Namespace, spec: EngineSpec, tests: Sequence[str]) -> RunCache | None:
    """The result cache of this command, unless it is off (cli.cached)."""
    from minigrad_tool.cli.cached import RunCache

    if not RunCache.wanted(args):
        return None
    return RunCache(args, spec, common.reads_of(args, spec, tests), tests)


def _report(
    args: argparse.Namespace,
    out: Output,
    campaign: Campaign,
    outputs: Outputs,
    spec: EngineSpec,
    tests: Sequence[str],
) -> int:
    """The terminal report, the files asked for, and the exit code."""
    from minigrad_tool.report.terminal import print_campaign, print_matrix

    if args.matrix:
        print_matrix(out, campaign)
    print_campaign(out, campaign, suggest_hint(tests), verbose=args.verbose)
    _write_reports(args, out, campaign, outputs, spec)
    return _mutate_code(out, campaign, args.min_score)


def _write_reports(
    args: argparse.Namespace,
    out: Output,
    campaign: Campaign,
    outputs: Outputs,
    spec: EngineSpec,
) -> None:
    """GitHub annotations (--format github), JUnit XML (--junit), the schema JSON (--json)
    and the HTML page (--html)."""
    from minigrad_tool.report.ci import github_annotations, junit_xml
    from minigrad_tool.report.schema import schema_report

    if args.format == "github":
        for line in github_annotations(campaign):
            out.line(line)
    junit = outputs.get("--junit")
    if junit is not None:
        write_file(junit, junit_xml(campaign))
        out.line(f"wrote {junit} (JUnit XML, a test case per mutant)")
    json_path, html_path = outputs.get("--json"), outputs.get("--html")
    if json_path is not None:
        write_file(json_path, json.dumps(schema_report([campaign]), indent=2) + "\n")
        out.line(f"wrote {json_path} (mutation-testing-report-schema v2)")
    if html_path is not None:
        from minigrad_tool.report.html import render_html

        write_file(html_path, render_html(campaign, spec.index_of))
        out.line(f"wrote {html_path} (self-contained HTML report)")


def _print_suggestions(out: Output, suggestions: Suggestions, path: Path) -> None:
    out.line()
    failing = len(suggestions.failing)
    guarding = suggestions.tests - failing
    if guarding:
        # the file's every test is counted: those that fail today are named on the next line
        more = (
            f", and {failing} more that fail{'s' if failing == 1 else ''} on your engine today"
            if failing
            else ""
        )
        out.line(
            f"wrote {path}: {guarding} test{'s' if guarding > 1 else ''} for "
            f"{len(suggestions.written)} mutant{'s' if len(suggestions.written) > 1 else ''}, "
            "each asserting what a correct engine gives (plain math, central differences) and "
            f"failing on the mutants it lists{more}; add it to --tests and run again",
            "bold green",
        )
    elif suggestions.tests:
        out.line(f"wrote {path}: only tests that expose a bug in your engine (below)", "yellow")
    else:
        out.line(f"no test written to {path}", "yellow")
    if suggestions.failing:
        ops = list(dict.fromkeys(op for _, blamed in suggestions.failing for op in blamed))
        names = ", ".join(name for name, _ in suggestions.failing)
        # the mutants whose tests expose a bug are vouched for once it is fixed
        waiting = any(why.endswith("run --suggest again") for _, why in suggestions.dropped)
        bugs = (
            f"{ops[0]}'s bug; fix it, then they guard it"
            if len(ops) == 1
            else f"the bugs of {', '.join(ops[:-1])} and {ops[-1]}; fix them, then they guard them"
        )
        out.line(
            f"{len(suggestions.failing)} suggested test(s) fail on your engine today: they "
            f"expose {bugs} ({names})"
            + (
                ", and run --suggest again for the mutants they cannot vouch for yet"
                if waiting
                else ""
            ),
            "bold red",
        )
    by_why: dict[str, list[str]] = {}
    for mutant, why in suggestions.dropped:
        by_why.setdefault(why, []).append(mutant)
    for why, mutants in by_why.items():
        out.line(f"  no test for {', '.join(mutants)}: {why}", "yellow")


def _mutate_code(out: Output, campaign: Campaign, min_score: float) -> int:
    if campaign.judged == 0:
        out.line("no mutant could be judged: there is no score to give", "bold red")
        return USAGE
    code = OK
    if campaign.score < min_score:
        out.line(f"score {campaign.score:.1f}% is below --min-score {min_score:g}%", "bold red")
        code = FAILED
    if campaign.engine_findings:
        wrong = campaign.wrong_ops
        what = f"{len(wrong)} op(s): {', '.join(wrong)}" if wrong else "graph cases"
        out.line(
            f"FAILED: the battery finds the unmutated engine wrong in {what} (first lines above); "
            "mutants were judged by the cases that pass",
            "bold red",
        )
        code = FAILED
    elif any(f.check == "judge" for f in campaign.findings):  # one could not judge: no full verdict
        code = FAILED
    return code


def merge(args: argparse.Namespace, out: Output) -> int:
    from minigrad_tool.mutation.results import NO_MUTATE
    from minigrad_tool.report.merge import (
        MergeError,
        findings_of,
        left_out_of,
        merge_reports,
        read_report,
        score_of,
    )
    from minigrad_tool.report.terminal import print_findings, print_judge_notes

    inputs = [Path(p) for p in args.reports]
    outputs = Outputs.check([("--json", args.json)], inputs)
    try:
        merged = merge_reports([(p, read_report(p)) for p in inputs])
    except MergeError as err:
        raise UsageError(str(err)) from err
    score, counts = score_of(merged)
    findings = findings_of(merged)
    print_findings(out, findings)
    total = sum(counts.values())
    detail = ", ".join(f"{n} {status}" for status, n in sorted(counts.items()))
    out.line(f"merged {len(args.reports)} shard reports: {total} mutants ({detail})")
    print_judge_notes(out, findings)
    json_path = outputs.get("--json")
    if json_path is not None:
        write_file(json_path, json.dumps(merged, indent=2) + "\n")
        out.line(f"wrote {json_path}")
    if score is None:
        out.line("no mutant was judged: there is no score to give", "bold red")
        return USAGE
    left = left_out_of(merged)
    said = f"; {left} left out by `{NO_MUTATE}` (config.noMutate)" if left else ""
    out.line(f"mutation score: {score:.1f}%{said}", "bold")
    if score < args.min_score:
        out.line(f"score {score:.1f}% is below --min-score {args.min_score:g}%", "bold red")
        return FAILED
    if any(not f.of_a_judge for f in findings):
        out.line("FAILED: the battery finds the unmutated engine wrong (above)", "bold red")
        return FAILED
    return OK


def _stray_bug(args: argparse.Namespace) -> str | None:
    """The bug's name where `--tests` took it (`inject --tests test_engine.py sub-sign`:
    argparse gives --tests every word after it): the last word of --tests when no bug was
    named and no such path exists.  Taken as the bug only if it names one (`inject`)."""
    if args.bug is not None or not args.tests or Path(args.tests[-1]).exists():
        return None
    return str(args.tests[-1])


def _names_a_bug(word: str, profile: Profile, ids: Sequence[str]) -> bool:
    """Is `word` a mutant ID of this engine, or an operator's in an op it has (`sub-sign`
    where sub has no step of its own, which `inject` explains)?  `add-tests` is neither."""
    from minigrad_tool.mutation.mutants import parse_key
    from minigrad_tool.mutation.operators import OPERATORS

    try:
        op, operator, _ = parse_key(word)
    except ValueError:
        return False
    ops = {o.name for o in profile.ops} | {parse_key(i)[0] for i in ids}
    return word in ids or (op in ops and operator in OPERATORS)


def _marked(generated: Generated, mutant: Mutant) -> str:
    """`line 23 is marked # pragma: no mutate` for a mutant `mutate` leaves out, else ""."""
    from minigrad_tool.mutation.results import NO_MUTATE

    line = generated.marked_line(mutant)
    if line is None:
        return ""
    return f"{f'{mutant.file}:{line}' if mutant.file else f'line {line}'} is marked `{NO_MUTATE}`"


def _bug(args: argparse.Namespace, ids: Sequence[str]) -> str:
    if args.bug is None:
        raise UsageError(f"name a bug to inject (see --list), e.g. `{command('inject sub-sign')}`")
    if args.bug not in ids:
        # a step in another file of the package: `sub-sign` names `functions.py:sub-sign`
        elsewhere = [i for i in ids if i.rpartition(":")[2] == args.bug]
        if len(elsewhere) == 1:
            return elsewhere[0]
        close = difflib.get_close_matches(args.bug, ids, n=5, cutoff=0.5)
        listing = f"; see `{command('inject --list')}`"
        hint = f"; did you mean {', '.join(close)}?" if close else listing
        raise UsageError(f"unknown bug {args.bug!r}{hint}")
    return str(args.bug)


def inject(args: argparse.Namespace, out: Output) -> int:
    from minigrad_tool.mutation.inject import composite_bug, equivalent_ids
    from minigrad_tool.mutation.inject import inject as run_injection
    from minigrad_tool.mutation.judges.tests import NoEngineCode
    from minigrad_tool.mutation.judging import CampaignConfig, HarnessError
    from minigrad_tool.mutation.mutants import generate_mutants

    stray = _stray_bug(args)
    tests = _existing_tests([t for t in args.tests if t != stray])
    spec, profile = common.profile(args, out)
    made = generate_mutants(spec, profile)
    # A bug named is injected even where its line is marked `# pragma: no mutate`: the
    # comment keeps it out of campaigns, not out of reach of a student who asks for it.
    generated = dataclasses.replace(made, mutants=[*made.mutants, *made.no_mutate])
    if not generated.mutants:  # no bug to list or inject (compiled ops, say): why
        raise UsageError(_nothing_to_mutate(spec, profile, generated))
    ids = [m.id for m in generated.mutants]
    if stray is not None:
        if not _names_a_bug(stray, profile, ids):
            raise UsageError(f"--tests: {stray} does not exist")
        args.bug = stray  # `--tests test_engine.py sub-sign`: --tests took the bug's name
    config = CampaignConfig(
        jobs=args.jobs,
        memory_mib=args.memory,
        settings=common.settings(args, profile),
    )
    if args.list:
        try:
            equivalent = equivalent_ids(spec, profile, generated, config)
        except HarnessError as err:
            raise UsageError(str(err)) from err
        for m in generated.mutants:
            marked = _marked(made, m)
            mark = "  [equivalent]" if m.id in equivalent else ""
            mark += f"  [{marked}]" if marked else ""
            out.line(f"{m.id:<22} {m.function}: {m.description}{mark}")
        return OK
    known = {i.rpartition(":")[2] for i in ids}
    if args.bug is not None and args.bug not in known | set(ids):
        composite = composite_bug(spec, profile, generated, args.bug, common.limits(args))
        if composite is not None:
            raise UsageError(composite.text)
    bug = _bug(args, ids)
    if not tests:
        raise UsageError(NO_TESTS)
    _needs_pytest("inject")
    mutant = next(m for m in generated.mutants if m.id == bug)
    if out.is_terminal:  # a word while the tests run; piped output starts with the verdict
        out.line(f"running your tests against {mutant.id} ...", "dim")
        out.flush()
    try:
        injection = run_injection(spec, profile, mutant, tests, config)
    except NoEngineCode as err:
        raise _no_engine_code(args, err, "name its tests with --tests") from err
    except HarnessError as err:
        raise UsageError(str(err)) from err
    from minigrad_tool.report.terminal import print_findings, print_judge_notes

    print_findings(out, injection.campaign.findings)
    out.line(f"Injected {mutant.id} into {mutant.function}: {mutant.description}", "bold")
    marked = _marked(made, mutant)
    if marked:
        out.line(f"({marked}: `mutate` leaves this bug out)", "yellow")
    out.diff(mutant.diff(spec.source_of(mutant.file), spec.name_of(mutant.file)))
    out.line(f"Your tests ({' '.join(tests)}) ran against the mutant, held in memory", "bold")
    code = _print_injection(out, injection, spec, tests, marked)
    print_judge_notes(out, injection.campaign.findings)
    return code


def _print_injection(
    out: Output, injection: Injection, spec: EngineSpec, tests: Sequence[str], marked: str = ""
) -> int:
    """The verdict of your tests on the bug; `marked`: where its line is marked `# pragma: no
    mutate`, which keeps `mutate --suggest` from writing its test until the mark is gone."""
    from minigrad_tool.mutation.inject import Catch
    from minigrad_tool.mutation.results import Status

    mutant = injection.mutant
    caught_by = injection.killers("tests")
    battery = injection.killers("battery")
    battery_text = (
        f"battery cases that catch it too ({len(battery)}): {', '.join(battery)}"
        if battery
        else "no battery case catches it"
    )
    out.line()
    if injection.catch is Catch.CAUGHT:
        if caught_by:
            out.line(f"caught by your tests: {len(caught_by)} fail on {mutant.id}", "bold green")
            for test in caught_by:
                out.line(f"  {test}")
            out.line(f"  first failure: {injection.reason('tests')}")
        else:  # no test failed: the tests hung on it (confirmed), or it crashed the engine
            how = "hang on" if injection.result.status is Status.TIMEOUT else "crash on"
            out.line(f"caught by your tests: they {how} {mutant.id}", "bold green")
            out.line(f"  {injection.reason('tests')}")
        out.line(f"  {battery_text}")
        out.line(f"the source file {mutant.file or spec.path} was not modified")
        return OK
    if injection.catch is Catch.EQUIVALENT:
        out.line(
            f"no verdict: {mutant.id} is equivalent, nothing can catch it "
            f"({injection.result.reason}); pick another bug (`{command('inject --list')}` marks "
            "the equivalent ones)",
            "bold yellow",
        )
        return USAGE
    out.line(f"ESCAPED your tests: they all pass on {mutant.id}", "bold red")
    out.line(f"  {injection.reason('tests')}")
    out.line(f"  {battery_text}")
    if injection.result.distinguishing:
        out.line(f"  distinguishing input: {injection.result.distinguishing}")
    engine = f" --engine {shlex.quote(spec.text)}"
    first = f"{marked}, which `mutate` leaves out: take the mark off, then run " if marked else ""
    out.line(
        f"  to write the missing test: {first}{command('mutate')}"
        f"{engine} --tests {' '.join(map(shlex.quote, tests))} --suggest {suggest_hint(tests)}"
    )
    return FAILED
