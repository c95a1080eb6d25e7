"""What `minigrad gradcheck` and `minigrad inspect` print, for people and as JSON."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Collection, Mapping, Sequence
from typing import Any

from minigrad_tool.adapter import Op, Profile
from minigrad_tool.adapter.profile import EngineKind, method_text
from minigrad_tool.adapter.spec import file_name
from minigrad_tool.battery import Battery, CaseResult, Settings
from minigrad_tool.check import CheckReport, crash_findings
from minigrad_tool.findings import Finding, by_op, explained, wrong_ops
from minigrad_tool.report.output import Cell, Output, cell_text

__all__ = [
    "check_json",
    "engine_header",
    "print_check",
    "print_profile",
    "summary_line",
    "tolerance_line",
]

_STYLE = {"pass": "green", "fail": "bold red", "error": "bold red", "skip": "yellow"}


def summary_line(results: Sequence[CaseResult]) -> str:
    counts = Counter(r.status for r in results)
    failed = counts["fail"] + counts["error"]
    return f"{counts['pass']} passed, {failed} failed, {counts['skip']} skipped"


def engine_header(profile: Profile) -> str:
    attr = profile.children_attr
    children = f"children in .{attr}" if attr else "children not visible"
    number = "" if profile.data_attr == "data" else f", numbers in .{profile.data_attr}"
    return f"engine {profile.spec} ({profile.path}): class {profile.class_name}, {children}{number}"


def tolerance_line(settings: Settings, profile: Profile) -> str:
    """The precision, and the checks' tolerances, for the report's header."""
    return f"precision {profile.precision.describe()}; " + _CHECKS[profile.kind](settings, profile)


def _tensor_checks(settings: Settings, profile: Profile) -> str:
    from minigrad_tool.tensor.cases import describe_checks  # numpy from here on only

    return describe_checks(profile)


def _scalar_checks(settings: Settings, profile: Profile) -> str:
    f = settings.forward
    return (
        f"gradients: {settings.tolerance.describe()}; "
        f"forward values: rtol {f.rtol:.3g}, atol {f.atol:.3g}"
        + ("; fast mode" if settings.fast else "")
        + "; second order: not checked (the scalar battery checks first derivatives)"
    )


# Each kind of engine's checks and tolerances, in words.
_CHECKS: dict[EngineKind, Callable[[Settings, Profile], str]] = {
    "scalar": _scalar_checks,
    "tensor": _tensor_checks,
}


def _step_text(op: Op, engine: str) -> str:
    if op.compiled:
        return "compiled: a black box"
    if not op.steps:
        return f"none of its own: built from {', '.join(op.uses)}" if op.uses else "none seen"
    styles = sorted({s.style for s in op.steps})
    lines = ", ".join(_place(s.file, s.line, engine) for s in op.steps)
    return f"{'/'.join(styles)} (line {lines})"


def _line_of(op: Op, engine: str) -> str:
    return "compiled" if op.compiled else f"line {_place(op.file, op.line, engine)}"


def _place(file: str, line: int, engine: str) -> str:
    """`12` in the engine's file, `functions.py:12` in another file of its package."""
    return f"{file_name(file, engine)}:{line}" if file else str(line)


def _how_checked(op: Op, battery: Battery) -> str:
    cases = [c.name for c in battery.cases if c.op == op.name]
    if not cases:
        return "not checked"
    if any(hasattr(c, "ref") for c in battery.cases):  # a tensor battery: numpy is the oracle
        if len(cases) > 6:  # the case table names them all
            return f"forward vs numpy; {len(cases)} cases: {', '.join(cases[:3])}, ..."
        return f"forward vs numpy; {', '.join(cases)}"
    how = "forward vs plain math" if op.oracle else "no oracle: domain search"
    return f"{how}; {', '.join(cases)}"


def _op_rows(
    profile: Profile,
    battery: Battery,
    results: Mapping[str, CaseResult],
    in_backward: Collection[str] = (),
    crashed: Collection[str] = (),
    walked: Collection[str] = (),
) -> list[list[Cell]]:
    """An op per row; `in_backward`: failing cases blamed on backward() itself; `crashed`:
    those a crash killed (CheckReport.crash_cause); `walked`: those a backward() that walks a
    reused node wrongly explains (CheckReport.explained)."""
    rows: list[list[Cell]] = []
    found = [r.finding for r in results.values() if r.finding]
    callers = _callers_of_wrong_ops(profile.attributed(found))
    crashing = {method for method, _ in profile.broken}  # `x * 2.0` crashes, say
    for op in profile.ops:
        cases = [c.name for c in battery.cases if c.op == op.name]
        statuses = Counter(results[c].status for c in cases if c in results)
        verdict: Cell = "not checked"
        if statuses["fail"] or statuses["error"]:
            failing = [c for c in cases if c in results and results[c].failed]
            where = ""
            if profile.backward_zeroes_every_op or set(failing) <= set(walked):
                where = ", backward() first"
            elif set(failing) <= set(in_backward):
                where = ", raised in backward()"
            elif set(failing) <= set(crashed):
                where = ", crashed"
            elif op.name in callers:
                where = f", in cases that call {callers[op.name]} too"
            verdict = (f"FAILED {len(failing)}/{len(cases)}{where}", "bold red")
        elif cases and statuses["pass"] == len(cases) and op.method in crashing:
            verdict = (f"FAILED {op.method}_runs (its own cases pass)", "bold red")
        elif cases and statuses["pass"] == len(cases):
            verdict = ("ok", "green")
        elif statuses["pass"]:  # the rest are calls the engine cannot make (skipped)
            verdict = (
                f"ok in {statuses['pass']} of {len(cases)} cases, the rest not supported",
                "yellow",
            )
        elif statuses["skip"]:
            verdict = ("not supported", "yellow")
        rows.append(
            [
                op.name,
                f"{op.describe_call()}  ({profile.op_where(op)})",
                _step_text(op, profile.path),
                _how_checked(op, battery),
                verdict,
            ]
        )
    return rows


def _callers_of_wrong_ops(found: Sequence[Finding]) -> dict[str, str]:
    """The ops all of whose failing cases also call an op found wrong on its own (a wrong mul
    fails tanh_reuse, tanh(x) * tanh(x) + ...), each with those ops: `mul`, `mul or pow`."""
    wrong = set(by_op(found))
    return {
        op: " or ".join(sorted({o for f in failures for o in f.also} & wrong))
        for op, failures in explained(found).items()
    }


def _not_supported(
    battery: Battery, results: Sequence[CaseResult]
) -> dict[tuple[str, str], list[str]]:
    """The skipped cases (calls the engine cannot make), by op and by why."""
    grouped: dict[tuple[str, str], list[str]] = {}
    cases = {c.name: c for c in battery.cases}
    for r in results:
        case = cases.get(r.case)
        if r.status == "skip" and case is not None:
            why = r.why or r.detail.removeprefix("not supported: ")
            grouped.setdefault((case.op or case.group, why), []).append(r.case)
    return grouped


def _blames(report: CheckReport) -> tuple[str, str, set[str]]:
    """What a report leads with: one cause of many failures in backward() (or ""), else the
    crash that killed cases (or ""), and those cases."""
    cause = report.common_cause
    crash = "" if cause else report.crash_cause
    return cause, crash, {r.case for r in report.crashes} if crash else set()


def _rows(report: CheckReport, crashed: Collection[str]) -> list[list[Cell]]:
    results = {r.case: r for r in report.results}
    walked = {r.case for r in report.explained} if report.profile.backward_reuse else set()
    return _op_rows(report.profile, report.battery, results, report.in_backward, crashed, walked)


def print_check(out: Output, report: CheckReport) -> None:
    """The ops and how each was checked, the cases, every failure in full, notes, a summary."""
    profile, battery = report.profile, report.battery
    results = {r.case: r for r in report.results}
    cause, crash, crashed = _blames(report)
    explained = {r.case for r in report.explained} if cause else set()
    wrong = _wrong_ops(report, cause, explained)
    if wrong:  # the first thing read, as in `mutate`; and the last (below)
        out.line(f"YOUR ENGINE IS WRONG: {', '.join(wrong)} (each failure below)", "bold red")
    out.line(f"gradcheck on {engine_header(profile)}", "bold")
    out.line(tolerance_line(report.settings, profile))
    out.line()
    out.table(
        f"ops ({len(profile.ops)})",
        ["op", "called as", "backward step", "checked by", "result"],
        _rows(report, crashed),
    )
    out.line()
    case_rows: list[list[Cell]] = []
    for case in battery.cases:
        r = results.get(case.name)
        if r is None:
            continue
        ms = f"{r.seconds * 1000:.1f}" if r.status != "skip" else ""
        case_rows.append([case.name, case.group, (r.status, _STYLE[r.status]), ms])
    out.table(f"cases ({len(case_rows)})", ["case", "group", "status", "ms"], case_rows, right=[3])
    if cause:
        out.line()
        out.line(f"FAILED backward(): {cause}", "bold red")
        out.line(f"  the cases: {', '.join(r.case for r in report.explained)}")
        first = next((r for r in report.explained if r.detail != cause), None)
        if first is not None:  # the first case, past backward()'s own result
            out.line(f"  the first, {first.case}, in full:\n{first.detail}")
    elif crash:
        out.line()
        out.line(f"FAILED: {crash}", "bold red")
        out.line(f"  the cases: {', '.join(sorted(crashed))}")
    for r in report.failed:
        if r.case in crashed or r.case in explained:  # said once, above
            continue
        out.line()
        out.line(f"FAILED {r.case}", "bold red")
        out.line(r.detail)
    for (op, why), names in _not_supported(battery, report.results).items():
        shown = ", ".join(names[:3]) + (", ..." if len(names) > 3 else "")
        out.line(f"not supported: {op}: {why} ({len(names)} case(s): {shown})", "yellow")
    notes = [r for r in report.results if r.note]
    for r in notes:
        out.line()
        out.line(f"note ({r.case}): {r.note}", "yellow")
    for name, why in battery.skipped:
        out.line(f"not run: {name}: {why}", "yellow")
    _said_of_discovery(out, profile, battery)
    out.line()
    if wrong:  # the ops to fix, said last too, where a terminal's reader starts
        out.line(f"wrong: {', '.join(wrong)} (the ops table and each failure above)", "bold red")
    out.line(summary_line(report.results), "bold")


def _wrong_ops(report: CheckReport, cause: str, explained: set[str]) -> list[str]:
    """The ops to fix, backward() first where it explains failures (they are no op's)."""
    profile = report.profile
    found = [r.finding for r in report.results if r.finding and r.case not in explained]
    wrong = wrong_ops([*profile.attributed(found), *crash_findings(profile)])  # `_runs` too
    if cause:
        return ["backward()", *wrong] if found or wrong else []
    return wrong


def check_json(report: CheckReport) -> str:
    """The report as JSON: each op with its result as the table says it, and the blames the
    text leads with (`causes`: backward() itself, or a crash, with their cases)."""
    profile = report.profile
    cause, crash, crashed = _blames(report)
    results = [cell_text(row[-1]) for row in _rows(report, crashed)]
    causes: list[dict[str, Any]] = []
    if cause:
        causes.append(
            {"blames": "backward()", "why": cause, "cases": [r.case for r in report.explained]}
        )
    if crash:
        causes.append({"blames": "a crash", "why": crash, "cases": sorted(crashed)})
    return json.dumps(
        {
            "engine": profile.spec,
            "path": profile.path,
            "class": profile.class_name,
            "precision": profile.precision.name,
            "tolerance": report.settings.tolerance.__dict__,
            "forward_tolerance": report.settings.forward.__dict__,
            "summary": dict(Counter(r.status for r in report.results)),
            "ops": [
                {
                    "op": op.name,
                    "method": op.method,
                    "line": op.line,  # 0 for compiled code
                    "compiled": op.compiled,
                    "oracle": op.oracle,
                    "cases": [c.name for c in report.battery.cases if c.op == op.name],
                    "result": result,  # as the op table says it: "FAILED 1/2, crashed"
                }
                for op, result in zip(profile.ops, results, strict=True)
            ],
            "causes": causes,
            "cases": [
                {
                    "case": r.case,
                    "status": r.status,
                    "detail": r.detail,
                    "note": r.note,
                    "seconds": r.seconds,
                }
                for r in report.results
            ],
            "not_run": [{"case": n, "why": w} for n, w in report.battery.skipped],
            "not_checked": [
                *({"op": n, "why": w} for n, w in report.battery.unchecked),
                *({"function": n, "why": w} for n, w in profile.uncalled),
            ],
        },
        indent=2,
    )


def _said_of_discovery(out: Output, profile: Profile, battery: Battery) -> None:
    """What is not checked, and why (an op with no case, a step of code no case calls), what
    discovery did not call, and what it decided (a read-only .grad, gelu's form, ...)."""
    for name, why in battery.unchecked:
        out.line(f"not checked: op {name}: {why}", "bold yellow")
    for method, why in profile.uncalled:
        out.line(f"not checked: {method_text(profile.class_name, method)}: {why}", "bold yellow")
    for method, why in profile.skipped:
        out.line(f"not an op here: {method_text(profile.class_name, method)}: {why}", "dim")
    for note in profile.notes:
        out.line(f"note: {note}", "yellow")


def print_profile(
    out: Output,
    profile: Profile,
    battery: Battery,
    settings: Settings,
    mutations: Mapping[str, Counter[str]],
    unreachable: Sequence[tuple[str, str]],
) -> None:
    """`minigrad inspect`: what was found, and how each op will be checked and mutated."""
    out.line(engine_header(profile), "bold")
    out.line(tolerance_line(settings, profile))
    sweep = profile.sweep
    if sweep is not None:
        places = [("", q, line) for q, line in ((sweep.qualname, sweep.line), *sweep.helpers)]
        shown = [
            f"{q} (line {_place(f, line, profile.path)})"
            for f, q, line in [*places, *sweep.elsewhere]
            if q
        ]
        out.line(
            f"backward(): {shown[0]}" + (f", with {', '.join(shown[1:])}" if shown[1:] else "")
        )
    out.line()
    rows: list[list[Cell]] = []
    for op in profile.ops:
        counts = mutations.get(op.name, Counter())
        mutants = ", ".join(f"{n} {name}" for name, n in counts.items()) or "none"
        rows.append(
            [
                op.name,
                f"{op.describe_call()}  ({_line_of(op, profile.path)})",
                _step_text(op, profile.path),
                _how_checked(op, battery),
                mutants,
            ]
        )
    sweep_counts = mutations.get("backward")
    if sweep_counts:
        rows.append(
            [
                "backward",
                "x.backward()",
                "the sweep",
                "every case",
                ", ".join(f"{n} {name}" for name, n in sweep_counts.items()),
            ]
        )
    out.table(
        f"ops ({len(profile.ops)})",
        ["op", "called as", "backward step", "checked by", "mutants"],
        rows,
    )
    out.grouped("not mutated", unreachable, "yellow")
    _said_of_discovery(out, profile, battery)


def profile_json(profile: Profile) -> dict[str, Any]:
    return json.loads(profile.to_json())  # type: ignore[no-any-return]
