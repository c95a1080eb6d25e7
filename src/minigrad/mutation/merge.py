"""Combine the JSON reports of a sharded campaign (`--shard I/N`) into one report and one score.

CI matrix jobs each run one shard and upload its report; a final job merges
them.  The shards must come from the same engine source, and together must not
judge a mutant twice.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

__all__ = ["MergeError", "merge_reports", "read_report", "score_of"]

KILLED = ("Killed", "Timeout", "RuntimeError")


class MergeError(Exception):
    """The reports cannot be merged: a usage error (exit 2)."""


def read_report(path: Path) -> dict[str, Any]:
    try:
        report: Any = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise MergeError(f"report not found: {path}") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise MergeError(f"{path} is not JSON: {err}") from None
    if not isinstance(report, dict) or report.get("schemaVersion") != "2" or "files" not in report:
        raise MergeError(f"{path} is not a mutation-testing-report-schema v2 report")
    return report


def merge_reports(reports: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """One report holding every shard's mutants, file by file."""
    if not reports:
        raise MergeError("no reports to merge")
    merged: dict[str, Any] = {**reports[0], "files": {}}
    owner: dict[tuple[str, str], int] = {}
    for number, report in enumerate(reports, start=1):
        for path, entry in report["files"].items():
            target = merged["files"].setdefault(
                path,
                {
                    "language": entry.get("language", "python"),
                    "source": entry["source"],
                    "mutants": [],
                },
            )
            if target["source"] != entry["source"]:
                raise MergeError(f"report {number} judged a different source of {path}")
            for mutant in entry["mutants"]:
                key = (path, mutant["id"])
                if key in owner:
                    raise MergeError(
                        f"mutant {mutant['id']} of {path} is in reports {owner[key]} and {number}"
                    )
                owner[key] = number
                target["mutants"].append(mutant)
    return merged


def score_of(report: dict[str, Any]) -> tuple[float, Counter[str]]:
    """killed / (killed + survived) in percent, and the count of each status."""
    counts: Counter[str] = Counter(
        m["status"] for entry in report["files"].values() for m in entry["mutants"]
    )
    killed = sum(counts[s] for s in KILLED)
    judged = killed + counts["Survived"]
    return (100.0 * killed / judged if judged else 100.0), counts
