"""Combine the JSON reports of a sharded campaign (`--shard I/N`) into one report and one score.

CI matrix jobs each run one shard and upload its report; a final job merges
them.  A merge stands for the whole run only if it has every shard 1..N of
that one run exactly once: each report records its shard and the run's
identity (a hash of the engine source, the operators, the judges and the
mutant count), and anything missing, doubled or foreign is an error that
names the files.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from minigrad_tool.findings import Finding
from minigrad_tool.mutation.results import Status, score_of_counts

__all__ = ["MergeError", "findings_of", "merge_reports", "read_report", "score_of"]

# The statuses of the one status model, as the schema spells them.
DETECTED = tuple(s.value for s in Status if s.detected)
UNDETECTED = tuple(s.value for s in Status if s.let_through)
STATUSES = tuple(s.value for s in Status)
MAX_BYTES = 64 << 20
# A run split into more shards than a CI matrix could hold, or a count no campaign could make,
# is a corrupt report (and would make `range(1, count + 1)` eat the memory).
MAX_SHARDS = 10_000
MAX_COUNT = 10_000_000


class MergeError(Exception):
    """The reports cannot be merged: a usage error (exit 2)."""


class _NotFinite(ValueError):
    """NaN or an infinity in a report: not JSON, and no duration or count can be one."""


def _no_constant(text: str) -> Any:
    raise _NotFinite(text)  # NaN, Infinity, -Infinity: Python's JSON extensions


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):  # 1e999
        raise _NotFinite(text)
    return value


def _count(value: object) -> bool:
    """A whole number a report could hold: not a bool, not absurdly large."""
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= MAX_COUNT


def _require(condition: bool, path: Path, what: str) -> None:
    if not condition:
        raise MergeError(f"{path} is not a minigrad shard report: {what}")


def read_report(path: Path) -> dict[str, Any]:
    """A shard report, checked field by field; MergeError naming the file and the problem."""
    if not path.exists():
        raise MergeError(f"report not found: {path}")
    if not path.is_file():
        raise MergeError(f"{path} is not a regular file")
    if path.stat().st_size > MAX_BYTES:
        raise MergeError(f"{path} is larger than {MAX_BYTES >> 20} MiB: not a report")
    try:
        report: Any = json.loads(
            path.read_bytes(), parse_constant=_no_constant, parse_float=_finite
        )
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise MergeError(f"{path} is not JSON: {err}") from None
    except _NotFinite as err:
        raise MergeError(f"{path} is not a report: it holds the number {err}, not finite") from None
    except ValueError as err:  # an integer of thousands of digits, say
        raise MergeError(f"{path} is not a report: {err}") from None
    except RecursionError:
        raise MergeError(f"{path} is nested too deeply to be a report") from None
    _require(isinstance(report, dict), path, "the top level is not an object")
    _require(report.get("schemaVersion") == "2", path, 'schemaVersion is not "2"')
    files, config = report.get("files"), report.get("config")
    _require(isinstance(files, dict), path, "no `files` object")
    _require(isinstance(config, dict), path, "no `config` object")
    shard = config.get("shard")
    _require(
        isinstance(shard, dict)
        and _count(shard.get("index"))
        and _count(shard.get("count"))
        and 1 <= shard["index"] <= shard["count"] <= MAX_SHARDS,
        path,
        f"config.shard is not {{index, count}} with 1 <= index <= count <= {MAX_SHARDS}",
    )
    _require(isinstance(config.get("run"), str) and config["run"], path, "no config.run")
    _require(_count(config.get("mutants")), path, "no config.mutants count")
    try:
        findings_of(report)
    except ValueError as err:
        _require(False, path, f"config.findings: {err}")
    assert isinstance(files, dict)
    for name, entry in files.items():
        _require(
            isinstance(entry, dict)
            and isinstance(entry.get("source"), str)
            and isinstance(entry.get("mutants"), list),
            path,
            f"files[{name!r}] has no source and mutants",
        )
        for mutant in entry["mutants"]:
            _require(
                isinstance(mutant, dict)
                and isinstance(mutant.get("id"), str)
                and mutant.get("status") in STATUSES,
                path,
                f"a mutant of {name} has no id or an unknown status",
            )
    checked: dict[str, Any] = report
    return checked


def left_out_of(report: dict[str, Any]) -> int:
    """How many mutants of lines marked `# pragma: no mutate` the run did not make (every
    shard of a run made the same)."""
    left = report["config"].get("noMutate")
    return len(left) if isinstance(left, list) else 0


def findings_of(report: dict[str, Any]) -> list[Finding]:
    """The findings a report carries (none in a report from before they were kept)."""
    found = report.get("config", {}).get("findings", [])
    if not isinstance(found, list):
        raise ValueError("not a list")
    return [Finding.from_json(f) for f in found]


def _blamed(report: dict[str, Any]) -> list[tuple[str, str | None, str]]:
    """What a report's findings blame (not their wording, which may hold a measured time)."""
    return [(f.case, f.op, f.check) for f in findings_of(report)]


def _describe(path: Path, report: dict[str, Any]) -> str:
    config = report["config"]
    shard = config["shard"]
    where = f"shard {shard['index']}/{shard['count']}"
    return f"{path} (engine {config.get('engine')}, run {config['run']}, {where})"


def merge_reports(reports: Sequence[tuple[Path, dict[str, Any]]]) -> dict[str, Any]:
    """One report from every shard of one run; MergeError if one is missing, doubled or foreign."""
    if not reports:
        raise MergeError("no reports to merge")
    first_path, first = reports[0]
    run, count = first["config"]["run"], first["config"]["shard"]["count"]
    blamed = _blamed(first)
    seen: dict[int, Path] = {}
    contents: dict[str, Path] = {}
    for path, report in reports:
        config = report["config"]
        if config["run"] != run or config["shard"]["count"] != count:
            raise MergeError(
                f"{_describe(path, report)} is not from the same run as "
                f"{_describe(first_path, first)}"
            )
        if _blamed(report) != blamed:
            raise MergeError(
                f"{_describe(path, report)} found the unmutated engine wrong in other ways than "
                f"{_describe(first_path, first)}: not the same engine, or a flaky one"
            )
        digest = hashlib.sha256(json.dumps(report, sort_keys=True).encode()).hexdigest()
        if digest in contents:
            raise MergeError(f"{path} and {contents[digest]} are the same shard report")
        contents[digest] = path
        index = config["shard"]["index"]
        if index in seen:
            raise MergeError(f"shard {index}/{count} is given twice: {seen[index]} and {path}")
        seen[index] = path
    missing = [str(i) for i in range(1, count + 1) if i not in seen]
    if missing:
        raise MergeError(
            f"shard(s) {', '.join(missing)} of {count} are missing: the merge would not be the "
            "whole run"
        )
    merged: dict[str, Any] = {
        **first,
        "files": {},
        "config": {**first["config"], "shard": {"index": 1, "count": 1}},
    }
    total = 0
    for path, report in reports:
        for name, entry in report["files"].items():
            target = merged["files"].setdefault(
                name,
                {
                    "language": entry.get("language", "python"),
                    "source": entry["source"],
                    "mutants": [],
                },
            )
            if target["source"] != entry["source"]:
                raise MergeError(
                    f"{path} judged a different source of {name} than the other shards"
                )
            ids = {m["id"] for m in target["mutants"]}
            for mutant in entry["mutants"]:
                if mutant["id"] in ids:
                    raise MergeError(
                        f"mutant {mutant['id']} of {name} is in the reports twice (again in "
                        f"{path}): a shard may not judge a mutant twice"
                    )
                ids.add(mutant["id"])
                target["mutants"].append(mutant)
                total += 1
    expected = first["config"]["mutants"]
    if total != expected:
        raise MergeError(f"the shards hold {total} mutants, but the run made {expected}")
    diagnosis = _merged_diagnosis([report for _, report in reports])
    if diagnosis is not None:
        merged["config"]["diagnosis"] = diagnosis
    return merged


def _merged_diagnosis(reports: Sequence[dict[str, Any]]) -> dict[str, Any] | None:
    """Each shard's habits and unexplained survivors, together (each shard judged its own
    survivors with the same tests, so the habits' tests are the same runs)."""
    habits: dict[str, dict[str, Any]] = {}
    unexplained: list[str] = []
    imported: dict[str, list[str]] = {}  # the same tests in every shard: the same files
    found = False
    for report in reports:
        diagnosis = report["config"].get("diagnosis")
        if not isinstance(diagnosis, dict):
            continue
        found = True
        for habit in diagnosis.get("habits", []):
            into = habits.setdefault(habit["habit"], {**habit, "survivors": [], "tests": []})
            into["survivors"] += [s for s in habit["survivors"] if s not in into["survivors"]]
            into["tests"] = sorted({*into["tests"], *habit["tests"]})
        unexplained += [u for u in diagnosis.get("unexplained", []) if u not in unexplained]
        imported.update(diagnosis.get("computedAtImport", {}))
    if not found:
        return None
    return {
        "habits": list(habits.values()),
        "unexplained": unexplained,
        "computedAtImport": imported,
    }


def score_of(report: dict[str, Any]) -> tuple[float | None, Counter[str]]:
    """(killed + timeout) / (killed + timeout + survived + no coverage) in percent (None if
    nothing was judged), and the count of each status."""
    counts: Counter[str] = Counter(
        m["status"] for entry in report["files"].values() for m in entry["mutants"]
    )
    detected = sum(counts[s] for s in DETECTED)
    judged = detected + sum(counts[s] for s in UNDETECTED)
    return (score_of_counts(detected, judged) if judged else None), counts
