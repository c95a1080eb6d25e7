"""A self-contained HTML mutation report: one file, inline CSS, no scripts, no network.

Sections: the score and the op x operator table; each op's source with its
mutated lines marked; then every mutant with its status, the cases that killed
it, its diff and, for survivors, the input that tells it from the original.
Every mutant element carries `data-mutant-id` and `data-status` (the schema's
status), so tools and tests can read the page back.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from html import escape

from minigrad_tool.adapter.source import Function, SourceIndex
from minigrad_tool.mutation.judges import items_of, title_of
from minigrad_tool.mutation.results import Campaign, MutantResult, Status
from minigrad_tool.report.terminal import score_line, tally

__all__ = ["render_html"]

_STYLE = """
body { font: 14px/1.45 system-ui, sans-serif; margin: 2rem auto; max-width: 72rem; color: #1d1d1f; }
h1 { font-size: 1.5rem; margin-bottom: .2rem; } h2 { margin-top: 2.2rem; font-size: 1.15rem; }
.meta { color: #555; } .score { font-size: 1.3rem; font-weight: 600; }
.score.ok { color: #137333; } .score.bad { color: #b3261e; }
table.tally { border-collapse: collapse; margin-top: .6rem; }
table.tally th, table.tally td { border: 1px solid #ddd; padding: .25rem .6rem;
  text-align: center; }
table.tally td.all { background: #e6f4ea; } table.tally td.some { background: #fce8e6; }
table.tally th.op { text-align: left; } .eq { color: #666; font-size: .85em; }
pre { margin: 0; font: 12.5px/1.5 ui-monospace, Menlo, Consolas, monospace; }
.source { border: 1px solid #ddd; border-radius: 6px; overflow-x: auto; margin: .6rem 0 1.2rem; }
.line { display: flex; flex-wrap: wrap; white-space: pre; } .line .no { color: #999; width: 3.2rem;
  text-align: right; padding-right: .8rem; user-select: none; flex: none; }
.line.killed { background: #e6f4ea; } .line.survived { background: #fce8e6; }
.line.equivalent { background: #eee; }
.line .tags { margin-left: 1.5rem; white-space: normal; }
.tag { display: inline-block; font-size: 11px; padding: 0 .35rem; margin-right: .2rem;
  border-radius: 3px; text-decoration: none; color: #fff; background: #137333; }
.tag.survived { background: #b3261e; } .tag.equivalent { background: #777; }
.mutant { border: 1px solid #ddd; border-left: 6px solid #137333; border-radius: 6px;
  padding: .5rem .9rem; margin: .7rem 0; }
.mutant.survived { border-left-color: #b3261e; } .mutant.equivalent { border-left-color: #777; }
.mutant h3 { margin: 0 0 .3rem; font-size: 1rem; } .status { font-weight: 600; }
.diff .add { background: #e6f4ea; } .diff .del { background: #fce8e6; } .diff .hunk { color: #777; }
.witness { background: #fff4e5; padding: .4rem; border-radius: 4px; }
.findings { border: 2px solid #b3261e; background: #fce8e6; color: #b3261e; border-radius: 6px;
  padding: .5rem 1rem; margin: 1rem 0; } .findings h2 { margin-top: .3rem; color: #b3261e; }
.findings pre { color: #1d1d1f; white-space: pre-wrap; }
"""


def _functions(index: SourceIndex) -> list[Function]:
    """The top-level functions and methods of the source, in source order."""
    units = [f for f in index.functions.values() if f.parent is None]
    return sorted(units, key=lambda f: f.first_line)


def _worst(results: list[MutantResult]) -> Status:
    return min((r.status for r in results), key=lambda s: s.severity)


def _cell_id(op: str, operator: str) -> str:
    return f"cell-{op}-{operator}"


def _summary(campaign: Campaign) -> str:
    ops, operators, cells = tally(campaign)
    head = "".join(f"<th>{escape(o)}</th>" for o in operators)
    rows = []
    for op in ops:
        tds = []
        for operator in operators:
            t = cells.get((op, operator))
            if t is None:
                tds.append("<td></td>")
                continue
            eq = f' <span class="eq">+{t.equivalent} eq</span>' if t.equivalent else ""
            cls = "all" if t.all_killed else "some"
            link = f'<a href="#{escape(_cell_id(op, operator))}">{t.killed}/{t.judged}</a>'
            tds.append(f'<td class="{cls}">{link}{eq}</td>')
        rows.append(f'<tr><th class="op">{escape(op)}</th>{"".join(tds)}</tr>')
    return (
        '<table class="tally"><thead><tr><th class="op">op</th>'
        f"{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"
    )


def _source_blocks(campaign: Campaign, index_of: Callable[[str], SourceIndex]) -> str:
    """Each method that has mutants, file by file (the engine's, then the other files of its
    package that were mutated), its lines numbered and marked with their mutants."""
    blocks = []
    for file in ["", *campaign.others]:
        results = [r for r in campaign.results if r.mutant.file == file]
        if results:
            named = f"{campaign.name_of(results[0].mutant)}: " if campaign.others else ""
            source = campaign.source_of(results[0].mutant)
            blocks += _file_blocks(results, source, index_of(file), named)
    return "".join(blocks)


def _file_blocks(
    results: list[MutantResult], source: str, index: SourceIndex, named: str
) -> list[str]:
    lines = source.splitlines()
    by_line: dict[int, list[MutantResult]] = {}
    for r in results:
        by_line.setdefault(r.mutant.start[0], []).append(r)
    blocks = []
    for function in _functions(index):
        method = function.node
        end = method.end_lineno or method.lineno
        span = range(function.first_line, end + 1)
        if not any(n in by_line for n in span):
            continue
        rows = []
        for n in span:
            here = by_line.get(n, [])
            cls = f" {_worst(here).css}" if here else ""
            tags = "".join(
                f'<a class="tag {r.status.css}" href="#m-{escape(r.mutant.id)}">'
                f"{escape(r.mutant.id)}</a>"
                for r in here
            )
            tag_html = f'<span class="tags">{tags}</span>' if tags else ""
            rows.append(
                f'<div class="line{cls}"><span class="no">{n}</span>'
                f"<span>{escape(lines[n - 1])}</span>{tag_html}</div>"
            )
        blocks.append(
            f"<h3>{escape(named + function.qualname)}</h3>"
            f'<div class="source"><pre>{"".join(rows)}</pre></div>'
        )
    return blocks


def _diff_html(diff: str) -> str:
    out = []
    for line in diff.splitlines():
        cls = ""
        if line.startswith("@@"):
            cls = "hunk"
        elif line.startswith("+") and not line.startswith("+++"):
            cls = "add"
        elif line.startswith("-") and not line.startswith("---"):
            cls = "del"
        out.append(f'<span class="{cls}">{escape(line)}</span>' if cls else escape(line))
    return "\n".join(out)


def _mutant(campaign: Campaign, r: MutantResult) -> str:
    m = r.mutant
    killers = ", ".join(r.killed_by) if r.killed_by else "none"
    witness = ""
    if r.distinguishing:
        witness = (
            '<p class="witness"><b>Distinguishing input</b> (a test for it would catch it): '
            f"{escape(r.distinguishing)}</p>"
        )
    judges = ""
    if len(r.judges) > 1:
        judges = "<br>Judges: " + ", ".join(
            f"{escape(name)}: {escape(v.status.label)}" for name, v in r.judges
        )
    diff = m.diff(campaign.source_of(m), campaign.name_of(m))
    return (
        f'<section class="mutant {r.status.css}" id="m-{escape(m.id)}" '
        f'data-mutant-id="{escape(m.id)}" data-status="{r.status.value}">'
        f"<h3>{escape(m.function)}, line {m.start[0]}: {escape(m.id)} "
        f'<span class="status">{escape(r.status.label)}</span></h3>'
        f"<p>{escape(m.description)} (operator <code>{escape(m.operator)}</code>)<br>"
        f"Killed by: {escape(killers)}<br>Reason: {escape(r.reason)}{judges}</p>"
        f'{witness}<pre class="diff">{_diff_html(diff)}</pre></section>'
    )


def _mutant_groups(campaign: Campaign) -> str:
    """Mutants grouped by op and operator, each group the target of its table cell."""
    groups: dict[tuple[str, str], list[MutantResult]] = {}
    for r in campaign.results:
        groups.setdefault((r.mutant.op, r.mutant.operator), []).append(r)
    parts = []
    for (op, operator), results in groups.items():
        ordered = sorted(results, key=lambda r: r.status.severity)
        parts.append(
            f'<div class="group" id="{escape(_cell_id(op, operator))}">'
            f"<h3>{escape(op)} &middot; {escape(operator)}</h3>"
            f"{''.join(_mutant(campaign, r) for r in ordered)}</div>"
        )
    return "".join(parts)


def _engine(campaign: Campaign) -> str:
    """The engine as the user named it, and its file once (unless the name is the file)."""
    name = escape(campaign.engine)
    if os.path.abspath(campaign.engine) == campaign.path:
        return name
    return f"{name} ({escape(campaign.path)})"


def _findings(campaign: Campaign) -> str:
    """What the battery finds wrong in the unmutated engine: at the top, in red, before the
    score, which is of tests on that wrong engine."""
    found = campaign.engine_findings
    if not found:
        return ""
    wrong = campaign.wrong_ops
    what = f"{len(wrong)} op(s): {', '.join(wrong)}" if wrong else "graph cases"
    items = "".join(
        f"<li><b>{escape(f.op or f.case)}</b> {escape(f.where)}: {escape(f.evidence())}"
        f"<pre>{escape(f.message)}</pre></li>"
        for f in found
    )
    return (
        f'<div class="findings"><h2>Your engine is wrong in {escape(what)}</h2>'
        "<p>The battery finds the unmutated engine wrong; fix it first. The score below is "
        f"of tests on this wrong engine.</p><ul>{items}</ul></div>"
    )


def _judge_notes(campaign: Campaign) -> str:
    """What a judge said of itself, below the score (as the terminal says it): one that could
    not judge; your tests, whose plain pytest run imports another copy of the engine."""
    notes = [f.message for f in campaign.findings if f.of_a_judge]
    return "".join(f'<p class="meta note">{escape(note)}</p>' for note in notes)


def _diagnosis(campaign: Campaign) -> str:
    """Why the tests miss what they miss: each habit, its survivors, the tests, the fix."""
    found, unexplained = campaign.diagnosis()
    imported = "".join(
        f"<li>{escape(file)}: {escape(', '.join(names))}</li>"
        for file, names in campaign.imported.items()
    )
    at_import = (
        "<p>Computed at import: these test files keep what the engine computed when they were "
        "imported, before any mutant was put in, so a test that checks it cannot judge a "
        f"mutant of that code; compute it inside the test, or in a fixture.</p><ul>{imported}</ul>"
        if imported
        else ""
    )
    if not found:
        return f'<div class="diagnosis">{at_import}</div>' if at_import else ""
    items = "".join(
        f"<li><b>{escape(d.habit.name)}</b>: {escape(d.habit.shows)} "
        f"({len(d.survivors)} survivor(s): {escape(', '.join(d.survivors))}; in "
        f"{escape(', '.join(d.tests))})<br>fix: {escape(d.habit.fix)}</li>"
        for d in found
    )
    rest = f"<p>{len(unexplained)} survivor(s) no habit explains.</p>" if unexplained else ""
    return (
        f'<div class="diagnosis"><h2>Why your tests miss them</h2><ul>{items}</ul>{rest}'
        f"{at_import}</div>"
    )


def render_html(campaign: Campaign, index_of: Callable[[str], SourceIndex]) -> str:
    """The page; `index_of(file)` is a file's source as parsed for its mutants
    (`spec.index_of`)."""
    uncovered = campaign.count(Status.NO_COVERAGE)
    clean = campaign.survived == 0 and uncovered == 0 and not campaign.engine_findings
    ok = "ok" if clean else "bad"
    judge = title_of(campaign.judge)
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>minigrad mutation report: {escape(os.path.basename(campaign.path))}</title>"
        f"<style>{_STYLE}</style></head><body>"
        f'<h1>minigrad mutation report</h1><p class="meta">engine {_engine(campaign)}, '
        f"class {escape(campaign.class_name)}; judged by {judge} "
        f"({len(campaign.cases)} {items_of(campaign.judge)}); "
        f"timeout {campaign.timeout:.1f} s per mutant</p>"
        f"{_findings(campaign)}"
        f'<p class="score {ok}">{escape(score_line(campaign, name_engine=False))}</p>'
        f"{_judge_notes(campaign)}"
        f"{_diagnosis(campaign)}"
        f"<h2>Detected / judged per op and operator</h2>{_summary(campaign)}"
        '<h2>Source</h2><p class="meta">Lines with mutants are marked: green all killed, '
        "red a survivor or an uncovered mutant, grey equivalent. Click a tag for the mutant.</p>"
        f"{_source_blocks(campaign, index_of)}"
        f"<h2>Mutants ({len(campaign.results)})</h2>"
        f"{_mutant_groups(campaign)}"
        "</body></html>\n"
    )
