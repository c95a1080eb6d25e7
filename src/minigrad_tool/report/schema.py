"""JSON in Stryker's mutation-testing-report-schema (version 2), for a campaign or its shards."""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from typing import Any

from minigrad_tool import __version__
from minigrad_tool.mutation.results import Campaign, MutantResult

__all__ = ["schema_report"]


def _mutant_json(result: MutantResult) -> dict[str, Any]:
    m = result.mutant
    reason = result.reason
    if result.distinguishing:
        reason = f"{reason}; distinguishing input: {result.distinguishing}"
    side = "; ".join(f"{name}: {v.status.value}" for name, v in result.judges)
    return {
        "id": m.id,
        "mutatorName": m.operator,
        "description": f"{m.function}: {m.description}"
        + (f" ({side})" if len(result.judges) > 1 else ""),
        "replacement": m.replacement,
        "location": {
            "start": {"line": m.start[0], "column": m.start[1]},
            "end": {"line": m.end[0], "column": m.end[1]},
        },
        "status": result.status.value,
        "statusReason": reason,
        "killedBy": list(result.killed_by),
        "coveredBy": list(result.covered_by),
        "duration": round(result.seconds * 1000),
    }


def _display_path(path: str) -> str:
    try:
        relative = os.path.relpath(path)
    except ValueError:  # another drive on Windows
        return path
    return path if relative.startswith("..") else relative


def schema_report(campaigns: Iterable[Campaign]) -> dict[str, Any]:
    """One report (schemaVersion 2) for one campaign, or the shards of one run."""
    files: dict[str, dict[str, Any]] = {}
    config: dict[str, Any] = {}
    tests: list[str] = []
    for campaign in campaigns:
        for path, source in ((campaign.path, campaign.source), *campaign.others.items()):
            files.setdefault(
                _display_path(path), {"language": "python", "source": source, "mutants": []}
            )
        for r in campaign.results:
            where = _display_path(campaign.path_of(r.mutant))
            files[where]["mutants"].append(_mutant_json(r))
        index, count = campaign.shard
        config = {
            "engine": campaign.engine,
            "class": campaign.class_name,
            "judge": campaign.judge,
            "cases": campaign.cases,
            "timeout": campaign.timeout,
            "run": campaign.run_id,
            "shard": {"index": index, "count": count},
            "mutants": campaign.total_mutants,
            # What the battery finds wrong in the unmutated engine (config is free-form in
            # the schema, so the report stays valid): every shard has the same, and merge
            # keeps them.
            "findings": [f.to_json() for f in campaign.findings],
            "graphOrders": campaign.orders,
        }
        found, unexplained = campaign.diagnosis()
        if campaign.tests:  # your tests judged: why they miss what they miss (mutation.habits)
            config["diagnosis"] = {
                "habits": [d.to_json() for d in found],
                "unexplained": unexplained,
                # test file -> its globals holding what the engine computed at import
                "computedAtImport": campaign.imported,
            }
        if campaign.no_mutate:  # lines the user marked `# pragma: no mutate`: not mutated
            config["noMutate"] = [
                {"id": key, "file": _display_path(file or campaign.path), "line": line}
                for key, file, line in campaign.no_mutate
            ]
        if campaign.since:  # --since REF judged the changed ops only
            config["since"] = {"ref": campaign.since, "notJudged": campaign.not_judged}
        tests = campaign.tests
    report: dict[str, Any] = {
        "$schema": "https://git.io/mutation-testing-schema",
        "schemaVersion": "2",
        "thresholds": {"high": 100, "low": 80},
        "files": files,
        "framework": {"name": "minigrad", "version": __version__},
        "config": config,
    }
    if tests:
        report["testFiles"] = _test_files(tests)
    return report


def _test_files(tests: Sequence[str]) -> dict[str, Any]:
    files: dict[str, Any] = {}
    for test in tests:
        path = test.split("::", 1)[0]
        files.setdefault(path, {"tests": []})["tests"].append({"id": test, "name": test})
    return files
