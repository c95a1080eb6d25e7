"""A campaign where CI shows it: GitHub annotations on the lines, and JUnit XML.

* :func:`github_annotations`: one workflow command per finding (the op's line)
  and per mutant the judge let through (its line), which GitHub shows on the
  diff of a pull request;
* :func:`junit_xml`: one test case per mutant, classed by op: a survivor or an
  uncovered mutant is a failure carrying its diff, an equivalent one is
  skipped with its evidence; each finding is a failed case of its own.

The mutants of lines marked `# pragma: no mutate` are a notice on each line, and a
skipped case each: what the score does not vouch for is seen where CI shows it.
"""

from __future__ import annotations

import os

from minigrad_tool.adapter.spec import file_name
from minigrad_tool.mutation.results import NO_MUTATE, Campaign, Status

__all__ = ["github_annotations", "junit_xml"]


def _escape(text: str, *, property_value: bool = False) -> str:
    """GitHub's workflow-command escaping: %, CR and LF always; ':' and ',' in properties."""
    text = text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
    if property_value:
        text = text.replace(":", "%3A").replace(",", "%2C")
    return text


def _shown_path(path: str) -> str:
    try:
        relative = os.path.relpath(path)
    except ValueError:
        return path
    return path if relative.startswith("..") else relative


def github_annotations(campaign: Campaign) -> list[str]:
    """`::error file=...,line=...,title=...::message` lines: findings first, then survivors and
    uncovered mutants, in the campaign's order."""
    path = _escape(_shown_path(campaign.path), property_value=True)
    lines = []
    for f in campaign.engine_findings:
        where = f",line={f.line}" if f.line else ""
        file = _escape(_shown_path(f.file), property_value=True) if f.file else path
        title = _escape(f"engine wrong: {f.op or f.case}", property_value=True)
        lines.append(f"::error file={file}{where},title={title}::{_escape(f.evidence())}")
    for r in campaign.results:
        if not r.status.let_through:
            continue
        label = "survived" if r.status is Status.SURVIVED else "not covered"
        title = _escape(f"mutant {label}: {r.mutant.id}", property_value=True)
        message = _escape(f"{r.mutant.one_line()}; {r.reason}")
        where = _escape(_shown_path(campaign.path_of(r.mutant)), property_value=True)
        lines.append(f"::error file={where},line={r.mutant.start[0]},title={title}::{message}")
    title = _escape(f"left out by {NO_MUTATE}", property_value=True)
    for (file, line), keys in campaign.left_out_by_line().items():
        where = _escape(_shown_path(file), property_value=True)
        message = _escape(f"not mutated, so the score says nothing of it: {', '.join(keys)}")
        lines.append(f"::notice file={where},line={line},title={title}::{message}")
    return lines


def junit_xml(campaign: Campaign) -> str:
    """One test suite: a case per mutant (failure: let through; skipped: equivalent), and a
    failed case per finding."""
    from xml.etree import ElementTree as ET  # 3.5 ms of imports, for --junit only

    name = os.path.basename(campaign.path)
    suite = ET.Element(
        "testsuite",
        name=f"minigrad mutate {name}",
        tests=str(len(campaign.results) + len(campaign.engine_findings) + len(campaign.no_mutate)),
        failures=str(
            sum(r.status.let_through for r in campaign.results) + len(campaign.engine_findings)
        ),
        skipped=str(campaign.count(Status.EQUIVALENT) + len(campaign.no_mutate)),
        time=f"{campaign.seconds:.3f}",
    )
    for f in campaign.engine_findings:
        case = ET.SubElement(suite, "testcase", classname="engine", name=f"finding {f.case}")
        failure = ET.SubElement(case, "failure", message=f"{f.op or f.case}: {f.evidence()}")
        failure.text = f.message
    for r in campaign.results:
        case = ET.SubElement(
            suite,
            "testcase",
            classname=f"{campaign.name_of(r.mutant)}.{r.mutant.op}",
            name=r.mutant.id,
            time=f"{r.seconds:.3f}",
        )
        if r.status.let_through:
            failure = ET.SubElement(
                case, "failure", message=f"{r.status.label}: {r.mutant.one_line()}"
            )
            diff = r.mutant.diff(campaign.source_of(r.mutant), campaign.name_of(r.mutant))
            failure.text = f"{r.reason}\n\n{diff}"
        elif r.status is Status.EQUIVALENT:
            ET.SubElement(case, "skipped", message=f"equivalent: {r.reason}")
    for (file, line), keys in campaign.left_out_by_line().items():
        shown = file_name(file, campaign.path)
        for key in keys:
            case = ET.SubElement(suite, "testcase", classname=f"{shown}.pragma", name=key)
            ET.SubElement(case, "skipped", message=f"left out by {NO_MUTATE} ({shown}:{line})")
    ET.indent(suite)
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(suite, encoding="unicode") + "\n"
    )
