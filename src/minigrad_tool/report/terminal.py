"""What a campaign prints on a terminal: the op x operator table, survivors, the score."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass

from minigrad_tool.adapter.spec import file_name
from minigrad_tool.findings import Finding, by_op, explained
from minigrad_tool.invocation import command
from minigrad_tool.mutation.judges import items_of, title_of
from minigrad_tool.mutation.operators import OPERATORS
from minigrad_tool.mutation.results import NO_MUTATE, NOT_JUDGED, Campaign, MutantResult, Status
from minigrad_tool.report.output import Cell, Output

__all__ = [
    "Tally",
    "minimal_killing_set",
    "print_campaign",
    "print_diagnosis",
    "print_findings",
    "print_judge_notes",
    "print_matrix",
    "score_line",
    "tally",
]


def score_line(campaign: Campaign, *, name_engine: bool = True) -> str:
    judge = title_of(campaign.judge)
    of = f" of {campaign.engine}" if name_engine else ""
    score = "n/a" if campaign.judged == 0 else f"{campaign.score:.1f}%"
    wrong = campaign.wrong_ops
    return (
        f"mutation score: {score} ({campaign.killed} killed, {campaign.survived} survived, "
        f"{campaign.count(Status.NO_COVERAGE)} not covered, "
        f"{campaign.count(Status.EQUIVALENT)} equivalent; "
        f"{campaign.count(Status.TIMEOUT)} of the killed by timeout) - "
        f"{len(campaign.results)} mutants{of} judged by {judge} "
        f"in {campaign.seconds:.1f} s"
        + (
            f"; {len(campaign.unreachable)} op(s) not mutated (listed above)"
            if campaign.unreachable
            else ""
        )
        + (
            f"; --since {campaign.since}: {len(campaign.not_judged)} unchanged op(s) not judged"
            if campaign.not_judged
            else ""
        )
        + (
            f"; {len(campaign.no_mutate)} left out by `{NO_MUTATE}` (listed above)"
            if campaign.no_mutate
            else ""
        )
        + (
            f"; a score of tests on an engine that is wrong in {len(wrong)} op(s) "
            f"({', '.join(wrong)})"
            if wrong
            else ""
        )
    )


def no_mutate_line(campaign: Campaign) -> str:
    """The mutants of lines the user marked, by line: what the score does not vouch for."""
    lines = "; ".join(
        f"{file_name(path, campaign.path)}:{line} ({', '.join(keys)})"
        for (path, line), keys in campaign.left_out_by_line().items()
    )
    return f"left out by `{NO_MUTATE}` ({len(campaign.no_mutate)}): {lines}"


def left_out_line(campaign: Campaign) -> str:
    """The edits operators made that are no Python where they stand (an edit at a `*args`):
    no mutants, said so that an operator meeting code it does not expect is seen."""
    name = os.path.basename(campaign.path)
    edits = ", ".join(
        f"{op}-{operator} ({where or name}:{line})"
        for op, operator, where, line in campaign.left_out
    )
    return f"left out, not Python where they stand ({len(campaign.left_out)}): {edits}"


def print_findings(out: Output, findings: Sequence[Finding], *, verbose: bool = False) -> None:
    """The headline: what the battery finds wrong in the unmutated engine, op by op, with the
    input, expected against actual, and the source line.  Nothing when it finds nothing."""
    engine = [f for f in findings if not f.of_a_judge]
    if not engine:
        return
    grouped = by_op(engine)
    others = [f for f in engine if not f.op]
    ops = f"{len(grouped)} op(s) ({', '.join(grouped)})" if grouped else "graph cases"
    out.line(
        f"YOUR ENGINE IS WRONG: the battery finds {ops} wrong on the unmutated engine; "
        "fix that first",
        "bold red",
    )
    for op, found in grouped.items():
        first = found[0]
        more = f" (and {len(found) - 1} more case(s))" if len(found) > 1 else ""
        place = f"{first.where}" if first.where else "the engine"
        out.line(f"  {op}: {place}{more}", "red")
        out.line(f"    {_evidence(first)}")
    for f in others:
        out.line(f"  case {f.case or '-'}: {f.reason or f.first_line}", "red")
    if also := explained(engine):
        calls = sorted({o for found in also.values() for f in found for o in f.also} & set(grouped))
        cases = ", ".join(
            f"{op} ({', '.join(f.case or 'its call, crashing' for f in found)})"
            for op, found in also.items()
        )
        out.line(
            f"  {len(also)} more op(s) fail only cases that call {' or '.join(calls)} too, "
            f"which may be all that is wrong with them: {cases}",
            "red",
        )
    if verbose:
        for f in engine:
            out.line(f"  {f.message}", "dim")
    out.line()


def _evidence(f: Finding) -> str:
    """At what input, what the check says, expected against actual."""
    parts = [f"at {f.input}:" if f.input else "", f.reason or f.first_line]
    if f.expected is not None and f.actual is not None:
        parts.append(f"(expected {f.expected:.6g}, got {f.actual:.6g})")
    return " ".join(p for p in parts if p)


@dataclass(frozen=True)
class Tally:
    """Counts for one op and operator: detected, judged (not equivalent), equivalent."""

    killed: int
    judged: int
    equivalent: int

    @property
    def all_killed(self) -> bool:
        return self.killed == self.judged


def tally(campaign: Campaign) -> tuple[list[str], list[str], dict[tuple[str, str], Tally]]:
    """Ops (rows), operators (columns) and the counts of each cell that has mutants."""
    operators = [o for o in OPERATORS if any(r.mutant.operator == o for r in campaign.results)]
    ops = list(dict.fromkeys(r.mutant.op for r in campaign.results))
    cells: dict[tuple[str, str], Tally] = {}
    for r in campaign.results:
        key = (r.mutant.op, r.mutant.operator)
        t = cells.get(key, Tally(0, 0, 0))
        cells[key] = Tally(
            t.killed + r.status.detected,
            t.judged + r.status.judged,
            t.equivalent + (r.status is Status.EQUIVALENT),
        )
    return ops, operators, cells


def _cell(t: Tally | None) -> Cell:
    if t is None:
        return ""
    extra = f" +{t.equivalent} eq" if t.equivalent else ""
    return (f"{t.killed}/{t.judged}{extra}", "green" if t.all_killed else "bold red")


def _missed_by_the_primary(campaign: Campaign) -> list[tuple[MutantResult, str]]:
    """Mutants the scoring judge lets through and another judge detects: each is a missing
    test, and the other judge shows the input for it."""
    found = []
    for r in campaign.results:
        primary = r.verdict(campaign.judge)
        if primary is None or not primary.status.let_through:
            continue
        other = next((n for n, v in r.judges if n != campaign.judge and v.status.detected), None)
        if other is not None:
            found.append((r, other))
    return found


def _failing_cases(campaign: Campaign) -> list[str]:
    """The battery cases the unmutated engine fails."""
    return [f.case for f in campaign.engine_findings if f.case]


def _blocked_by(campaign: Campaign, r: MutantResult) -> str | None:
    """Why the battery cannot judge this survivor yet: the case that tells it apart, or its
    op's own cases, fail on the unmutated engine."""
    failing = _failing_cases(campaign)
    told = [n for n in failing if f"(case {n}," in (r.distinguishing or "")]
    if told:
        return (
            f"case {told[0]} tells it apart, but the unmutated engine fails that case, so it "
            f"judges no mutant; once {r.mutant.op} is fixed, it will"
        )
    own = [n for n in failing if n == r.mutant.op or n.startswith(f"{r.mutant.op}_")]
    if own:
        return (
            f"the battery's cases for {r.mutant.op} ({', '.join(own[:4])}"
            f"{', ...' if len(own) > 4 else ''}) fail on the unmutated engine and judge no "
            f"mutant; fix {r.mutant.op} first"
        )
    return None


def _how_to_fix(campaign: Campaign, r: MutantResult, suggest: str) -> str:
    if campaign.judge == "battery":
        blocked = _blocked_by(campaign, r)
        if blocked:
            return blocked
    if campaign.judge == "tests":
        return (
            "add a test that builds this input and asserts the value and gradients, or let "
            f"minigrad write one: add --suggest {suggest}"
        )
    return (
        "the battery needs a case for it; to see whether your own tests catch it, run "
        f"`{command('mutate --tests PATH')}`, and `--suggest OUT.py` writes the missing tests"
    )


def _survivor_line(campaign: Campaign, r: MutantResult) -> str:
    name = campaign.name_of(r.mutant)
    return (
        f"  {r.mutant.id} ({name}:{r.mutant.start[0]}, {r.mutant.function}): {r.mutant.one_line()}"
    )


def _print_survivor(
    out: Output, campaign: Campaign, r: MutantResult, suggest: str, verbose: bool
) -> None:
    """One line; with --verbose the diff, the reason, the distinguishing input and the fix."""
    out.line(_survivor_line(campaign, r), "red")
    if not verbose:
        return
    out.diff(r.mutant.diff(campaign.source_of(r.mutant), campaign.name_of(r.mutant)))
    out.line(f"    {r.reason}")
    if r.distinguishing:
        out.line(f"    distinguishing input: {r.distinguishing}")
    out.line(f"    how to catch it: {_how_to_fix(campaign, r, suggest)}")


def _print_survivors(out: Output, campaign: Campaign, suggest: str, verbose: bool) -> None:
    """Survivors in ops the battery finds wrong first, under "fix <op> first"; then the rest."""
    survivors = [r for r in campaign.results if r.status is Status.SURVIVED]
    wrong = set(campaign.wrong_ops)
    for op in campaign.wrong_ops:
        in_op = [r for r in survivors if r.mutant.op == op]
        if not in_op:
            continue
        out.line()
        out.line(
            f"fix {op} first: the battery finds it wrong, so these {len(in_op)} survivor(s) "
            "were judged against a wrong original",
            "bold red",
        )
        for r in in_op:
            _print_survivor(out, campaign, r, suggest, verbose)
    rest = [r for r in survivors if r.mutant.op not in wrong]
    if rest:
        out.line()
        out.line(
            f"SURVIVED ({len(rest)}): {title_of(campaign.judge)} let these wrong derivatives "
            "through",
            "bold red",
        )
        for r in rest:
            _print_survivor(out, campaign, r, suggest, verbose)
    if survivors and not verbose:
        hint = f"; tests that catch them: --suggest {suggest}" if campaign.judge == "tests" else ""
        out.line(
            "  each one's diff, reason and the input that tells it apart: --verbose or --html"
            + hint,
            "dim",
        )


def print_diagnosis(out: Output, campaign: Campaign, *, verbose: bool = False) -> None:
    """Why the tests miss what they miss: each weak habit that explains survivors, with the
    fix; then how many survivors no habit explains."""
    found, unexplained = campaign.diagnosis()
    if not found:
        return
    out.line()
    out.line("why your tests miss them (what they did on the unmutated engine):", "bold yellow")
    for d in found:
        tests = ", ".join(t.rpartition("::")[2] for t in d.tests[:4])
        more = f" and {len(d.tests) - 4} more" if len(d.tests) > 4 else ""
        out.line(f"  {len(d.survivors)} survivor(s), {d.habit.name}: {d.habit.shows}")
        out.line(f"    in every test that ran their code ({tests}{more})", "dim")
        if verbose:
            out.line(f"    {', '.join(d.survivors)}", "dim")
        out.line(f"    fix: {d.habit.fix}")
    if unexplained:
        out.line(f"  {len(unexplained)} survivor(s) no habit explains", "dim")


def _print_uncovered(out: Output, campaign: Campaign, verbose: bool) -> None:
    uncovered = [r for r in campaign.results if r.status is Status.NO_COVERAGE]
    if not uncovered:
        return
    out.line()
    out.line(
        f"not covered ({len(uncovered)}): no {_item(campaign)} ran their changed code", "bold red"
    )
    if verbose:
        for r in uncovered:
            out.line(_survivor_line(campaign, r))
            out.line(f"    {r.reason}", "dim")
    else:  # one line per op: which lines no item runs, and the mutants there
        wrong = set(campaign.wrong_ops)
        for op in dict.fromkeys(r.mutant.op for r in uncovered):
            of_op = [r for r in uncovered if r.mutant.op == op]
            names = {r.mutant.file: campaign.name_of(r.mutant) for r in of_op}
            places = sorted({(r.mutant.file, r.mutant.start[0]) for r in of_op})
            lines = ", ".join(f"{names[f]}:{n}" if f else str(n) for f, n in places)
            ids = ", ".join(r.mutant.id for r in of_op)
            out.line(f"  {op} (line {lines}): {ids}")
            if op in wrong:
                out.line(f"    {op} is wrong (above): fix it first, then judge them", "dim")


def fixtures_line(campaign: Campaign) -> str:
    """Which of your fixtures wider than a test a judging child set up once, and which again at
    each switch between the mutant and the unmutated engine, or graph orders."""
    named = sorted(campaign.fixtures.items())
    warmed = campaign.warmed
    before = [f"{n} ({scope})" for n, (scope, _) in named if warmed.get(n) == ""]
    once = [
        f"{n} ({scope}{'; not before the fork: ' + warmed[n] if warmed.get(n) else ''})"
        for n, (scope, dependent) in named
        if not dependent and warmed.get(n) != ""
    ]
    again = [f"{n} ({scope})" for n, (scope, dependent) in named if dependent]
    said = [f"set up once, before the children fork: {', '.join(before)}"] if before else []
    said += [f"set up once per child: {', '.join(once)}"] if once else []
    if again:
        said.append(
            f"set up again at each switch of engine or graph order, as they may depend on the "
            f"engine: {', '.join(again)}"
        )
    return "fixtures wider than a test: " + "; ".join(said)


def _print_cannot_judge(out: Output, campaign: Campaign) -> None:
    """Tests left out as judges, and test files that keep what the engine computed at import."""
    if campaign.excluded:
        out.line()
        out.line("not used as judges (a verdict from them would depend on luck):", "bold yellow")
        for why in campaign.excluded:
            out.line(f"  {why}")
    if campaign.imported:
        out.line()
        out.line(
            "computed at import: these test files keep what the engine computed when they "
            "were imported, before any mutant was put in, so a test that checks it cannot "
            "judge a mutant of that code; compute it inside the test, or in a fixture:",
            "bold yellow",
        )
        for file, names in campaign.imported.items():
            out.line(f"  {file}: {', '.join(names)}")


def print_campaign(
    out: Output, campaign: Campaign, suggest: str = "test_suggested.py", *, verbose: bool = False
) -> None:
    """What the battery finds wrong first; the op x operator table; survivors (one line each,
    grouped: fix the wrong ops first), uncovered and equivalent mutants; then the score."""
    ops, operators, cells = tally(campaign)
    judge = title_of(campaign.judge)
    print_findings(out, campaign.findings, verbose=verbose)
    out.line(f"mutants of {campaign.engine} ({campaign.path}), judged by {judge}", "bold")
    out.table(
        "detected / judged per op and operator",
        ["op", *operators],
        [[op, *(_cell(cells.get((op, o))) for o in operators)] for op in ops],
    )
    _print_survivors(out, campaign, suggest, verbose)
    print_diagnosis(out, campaign, verbose=verbose)
    _print_uncovered(out, campaign, verbose)
    missing = _missed_by_the_primary(campaign)
    if missing:
        out.line()
        others = sorted({title_of(other) for _, other in missing})
        out.line(
            f"killed by {' and '.join(others)} but not by {title_of(campaign.judge)} "
            f"({len(missing)}): each is a missing test",
            "bold yellow",
        )
        if verbose:
            for r, _ in missing:
                out.line(f"  {r.mutant.id} ({r.mutant.function}): {r.mutant.one_line()}")
        else:
            out.line("  " + ", ".join(r.mutant.id for r, _ in missing))
    equivalents = [r for r in campaign.results if r.status is Status.EQUIVALENT]
    if equivalents:
        out.line()
        out.line("equivalent mutants (not counted in the score):", "bold")
        for r in equivalents:
            said = ""
            if r.of_a_wrong_op:
                said = f" ({NOT_JUDGED}: {r.mutant.op} is wrong; judge it once that is fixed)"
            elif r.not_judged:
                said = f" ({NOT_JUDGED}: it differs only where the engine already fails a case)"
            out.line(f"  {r.mutant.id}: {r.mutant.one_line()}{said}")
            if verbose:
                out.line(f"    {r.reason}", "dim")
    out.grouped("not mutated", campaign.unreachable, "yellow")
    if campaign.no_mutate:
        out.line()
        out.line(no_mutate_line(campaign), "yellow")
    if verbose and campaign.left_out:
        out.line()
        out.line(left_out_line(campaign), "dim")
    _print_cannot_judge(out, campaign)
    if campaign.orders > 1:
        out.line()
        out.line(
            f"graph order: the engine keeps children in a set; a mutant counts as killed only "
            f"if it is caught in all {campaign.orders} orders minigrad served it",
            "dim",
        )
    if verbose and campaign.fixtures:
        out.line()
        out.line(fixtures_line(campaign), "dim")
    print_judge_notes(out, campaign.findings)
    _print_reuse(out, campaign)
    out.line()
    uncovered = campaign.count(Status.NO_COVERAGE)
    good = campaign.survived == 0 and not uncovered and not campaign.engine_findings
    out.line(score_line(campaign), "bold green" if good else "bold red")


def print_judge_notes(out: Output, findings: Sequence[Finding]) -> None:
    """What a judge said of itself (one that could not judge; your tests' other copy of the
    engine), not of the engine."""
    for f in findings:
        if f.of_a_judge:
            out.line(f.message, "yellow")


def _print_reuse(out: Output, campaign: Campaign) -> None:
    """What the result cache gave: the whole last run, or some of its verdicts and runs."""
    if campaign.replayed:
        out.line()
        out.line(
            "nothing this run reads changed since the last one (the engine, the tests, the "
            "settings, minigrad, the installed packages): its verdicts, reported again "
            "(--no-cache judges them)",
            "dim",
        )
        return
    kept, cases = campaign.kept_cases
    tests_kept, tests = campaign.kept_tests
    probes_kept, probes = campaign.kept_probes
    passed_over, reaching = campaign.agreeing_probes
    if campaign.reused or kept or tests_kept or probes_kept or campaign.kept_probe_runs:
        out.line()
    if campaign.reused:
        judged = len(campaign.results) - campaign.reused - campaign.reprobed
        reprobed = (
            f"{campaign.reprobed} more whose judges' verdicts hold were only probed again (the "
            "probes mix every op, and some op's code changed); "
            if campaign.reprobed
            else ""
        )
        out.line(
            f"{campaign.reused} of {len(campaign.results)} verdicts from the last run: their "
            "op's code, the code their covering tests reach, the tests and the settings are "
            f"unchanged; {reprobed}{judged} judged (--no-cache judges all)",
            "dim",
        )
    for count, total, what in (
        (kept, cases, "battery cases' runs"),
        (tests_kept, tests, "tests' first runs"),
        (probes_kept, probes, "probes' runs"),
    ):
        if count:
            out.line(
                f"{count} of {total} {what} on the unmutated engine from the last run (none "
                "of the code they reached changed)",
                "dim",
            )
    if campaign.kept_probe_runs:
        many = campaign.kept_probe_runs != 1
        out.line(
            f"{campaign.kept_probe_runs} mutant{'s' if many else ''} judged again kept the probe "
            f"that told {'them' if many else 'it'} apart in the last run (the probes up to it "
            "run no changed code)",
            "dim",
        )
    if passed_over:
        out.line(
            f"{passed_over} of the {reaching} probes that reach the mutants probed again "
            "were not run on them: each agreed with the original on its mutant in the last "
            "run, and runs no changed code",
            "dim",
        )


def _item(campaign: Campaign) -> str:
    return items_of(campaign.judge)[:-1]


def minimal_killing_set(killed_by: dict[str, Sequence[str]]) -> list[str]:
    """A small set of cases that still kills every killed mutant: greedy cover, then pruning."""
    uncovered = {m for m, cases in killed_by.items() if cases}
    kills: dict[str, set[str]] = {}
    for mutant, cases in killed_by.items():
        for case in cases:
            kills.setdefault(case, set()).add(mutant)
    chosen: list[str] = []
    while uncovered:
        best = max(sorted(kills), key=lambda c: len(kills[c] & uncovered))
        chosen.append(best)
        uncovered -= kills[best]
    for case in list(chosen):  # drop any case the others already cover
        rest = set().union(*(kills[c] for c in chosen if c != case))
        if kills[case] <= rest:
            chosen.remove(case)
    return chosen


def print_matrix(out: Output, campaign: Campaign) -> None:
    """The kill matrix (X kills, . runs the code and passes, blank does not run it)."""
    items = campaign.cases
    out.table(
        f"{_item(campaign)}s (matrix columns)",
        ["#", _item(campaign)],
        [[str(j), name] for j, name in enumerate(items)],
        right=[0],
    )
    width = max((len(r.mutant.id) for r in campaign.results), default=0)
    out.line(" " * width + "  " + "".join(str(j % 10) for j in range(len(items))))
    for r in campaign.results:
        marks = "".join(
            "X" if c in r.killed_by else ("." if c in r.covered_by else " ") for c in items
        )
        out.line(f"{r.mutant.id:<{width}}  {marks}  {r.status.label}".rstrip())
    idle = [c for c in items if not any(c in r.killed_by for r in campaign.results)]
    minimal = minimal_killing_set({r.mutant.id: r.killed_by for r in campaign.results})
    out.line()
    out.line(f"{len(idle)} {_item(campaign)}s kill nothing: {', '.join(idle) or 'none'}")
    out.line(
        f"a minimal set of {len(minimal)} {_item(campaign)}s kills every killed mutant: "
        + ", ".join(minimal)
    )
