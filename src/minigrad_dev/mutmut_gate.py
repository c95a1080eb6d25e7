"""A score gate for mutmut, whose own `mutmut run` exits 0 even when mutants survive.

It reads the verdicts mutmut writes to ``mutants/**/*.meta`` (``exit_code_by_key``),
names each exit code the way mutmut does, and scores them as mutmut's badge does:

    score = (killed + timeout) / (total - skipped)

It refuses to pass on no results, on an unfinished run, or on results older
than the sources and tests they judge (mutmut caches verdicts, so a stale
``mutants/`` can hide a regression).
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["STATUS_BY_EXIT_CODE", "GateError", "MutmutResults", "gate", "read_results"]

# mutmut 3.8's status_by_exit_code (mutmut/stats.py); anything else is "suspicious".
STATUS_BY_EXIT_CODE: dict[int | None, str] = {
    1: "killed",
    3: "killed",
    0: "survived",
    5: "no tests",
    2: "check was interrupted by user",
    None: "not checked",
    33: "no tests",
    34: "skipped",
    35: "suspicious",
    36: "timeout",
    37: "caught by type check",
    -24: "timeout",
    24: "timeout",
    152: "timeout",
    255: "timeout",
    -11: "segfault",
    -9: "segfault",
}
PRAGMA = re.compile(r"#\s*pragma:\s*no mutate")


class GateError(Exception):
    """No usable results: missing, unfinished or stale.  Exit code 2."""


def status_of(exit_code: int | None) -> str:
    return STATUS_BY_EXIT_CODE.get(exit_code, "suspicious")


@dataclass
class MutmutResults:
    """The verdicts of one mutmut run, keyed by mutant name."""

    statuses: dict[str, str] = field(default_factory=dict)
    sources: list[Path] = field(default_factory=list)

    @property
    def counts(self) -> Counter[str]:
        return Counter(self.statuses.values())

    @property
    def score(self) -> float:
        counts = self.counts
        judged = len(self.statuses) - counts["skipped"]
        return 100.0 * (counts["killed"] + counts["timeout"]) / judged if judged else 0.0

    def with_status(self, status: str) -> list[str]:
        return sorted(name for name, s in self.statuses.items() if s == status)


def _newest(paths: Iterable[Path]) -> tuple[float, Path | None]:
    newest: tuple[float, Path | None] = (0.0, None)
    for path in paths:
        mtime = path.stat().st_mtime
        if mtime > newest[0]:
            newest = (mtime, path)
    return newest


def _exit_codes(meta: Path) -> dict[str, int | None]:
    """mutmut's verdicts in one .meta file; GateError if it is not what mutmut writes."""
    if not meta.is_file():
        raise GateError(
            f"corrupt mutmut results: {meta} is not a file; clean mutants/ and run again"
        )
    try:
        data = json.loads(meta.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError, RecursionError, ValueError, OSError) as err:
        raise GateError(
            f"corrupt mutmut results in {meta}: {err}; clean mutants/ and run again"
        ) from None
    codes = data.get("exit_code_by_key") if isinstance(data, dict) else None
    # An exit code is an int or null; `true` is a bool (an int subclass in Python), not a code.
    if not isinstance(codes, dict) or not all(
        isinstance(k, str) and (v is None or (isinstance(v, int) and not isinstance(v, bool)))
        for k, v in codes.items()
    ):
        raise GateError(f"corrupt mutmut results in {meta}: no exit_code_by_key of names and codes")
    return codes


def read_results(root: Path) -> MutmutResults:
    """Every verdict under root/mutants; GateError if none, stale or unfinished."""
    results = MutmutResults()
    oldest_meta = float("inf")
    for meta in sorted((root / "mutants").rglob("*.py.meta")):
        source = root / meta.relative_to(root / "mutants").with_suffix("")
        if not source.is_file():  # mutmut never cleans mutants/: a module that is gone
            continue
        results.sources.append(source)
        oldest_meta = min(oldest_meta, meta.stat().st_mtime)
        for name, code in _exit_codes(meta).items():
            results.statuses[name] = status_of(code)
    if not results.statuses:
        raise GateError("no mutmut results under mutants/: run `uv run mutmut run` first")
    judged_by = [*results.sources, *(root / "tests").rglob("*.py"), root / "pyproject.toml"]
    mtime, newest = _newest(p for p in judged_by if p.is_file())
    if mtime > oldest_meta:
        raise GateError(
            f"stale mutmut results: {newest} changed after the last run; "
            "clean mutants/ (keep its README) and run `uv run mutmut run` again"
        )
    unchecked = results.with_status("not checked")
    if unchecked:
        raise GateError(
            f"unfinished mutmut run: {len(unchecked)} mutants not checked; run `uv run mutmut run`"
        )
    return results


def excluded_mutants(sources: Sequence[Path]) -> int:
    """How many mutants mutmut would add if every `# pragma: no mutate` were removed."""
    from mutmut.mutation.file_mutation import create_mutations  # a dev tool: import on use

    count = 0
    for source in sources:
        code = source.read_text(encoding="utf-8")
        if PRAGMA.search(code):
            unguarded = PRAGMA.sub("#", code)
            count += len(create_mutations(str(source), unguarded)[1])
            count -= len(create_mutations(str(source), code)[1])
    return count


def gate(root: Path, min_score: float, out: list[str]) -> int:
    """Append the report to `out`; return 0 at or above `min_score`, 1 below, 2 on no results."""
    try:
        results = read_results(root)
    except GateError as err:
        out.append(f"error: {err}")
        return 2
    counts = results.counts
    excluded = excluded_mutants(results.sources)
    total = len(results.statuses)
    out.append(
        "mutmut: "
        + ", ".join(f"{n} {status}" for status, n in sorted(counts.items()))
        + f" of {total}"
    )
    share = 100.0 * excluded / (total + excluded) if total + excluded else 0.0
    out.append(f"excluded by `# pragma: no mutate`: {excluded} mutants ({share:.1f}% of all)")
    for status in ("survived", "no tests", "suspicious", "segfault", "caught by type check"):
        for name in results.with_status(status):
            out.append(f"  {status}: {name}    (see: uv run mutmut show {name})")
    out.append(f"mutmut score: {results.score:.1f}% (killed + timeout) / (total - skipped)")
    if results.score < min_score:
        out.append(f"FAILED: score {results.score:.1f}% is below --min-score {min_score:g}%")
        return 1
    return 0
