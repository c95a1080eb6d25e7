"""Verdicts kept by content: a rerun judges only what changed, and reports the rest.

Two levels, both keyed by what a verdict depends on, never by time:

* **the whole run**: the bytes of every file the run reads (the engine's files,
  the other modules of its package or folder, your tests, every module and
  data file in their folders (one over WHOLE_BYTES by its size and time), the
  conftests, the settings), the command's
  settings, minigrad's own source, the Python and the installed packages.
  When none changed, the last campaign is reported as it was, without running
  anything;
* **a mutant**: the same inputs, except that of the engine's code only the
  parts it depends on count: its op's functions; the functions of every op
  whose mutated code the items that judged it ran on this run's unmutated
  engine (each judge's items in its order, up to the killer: a change that
  moves a killer or adds an item changes the key); the code outside every op's
  functions (``backward()``, helpers, constants, imports) and that of every op
  without a ``forward`` mutant (an item can run such an op's code unseen); and
  what discovery found, with the settings it gave.  A mutant some judge let
  through was probed on every op (random graphs mix them): it is reused only
  when no op's code changed; otherwise its judges' verdicts are reused (their key
  holds) and only the probes run again (only those that run changed code or did
  not agree with the original on it: the others would agree again).

A verdict is deterministic (the same command on the same files gives the same
one), so a reused verdict is the one a full run would give; ``--no-cache``
judges everything.  The cache lives in minigrad's cache folder, never in
your tree: ``$MINIGRAD_RESULTS`` if set (``off`` keeps none), else
``$XDG_CACHE_HOME/minigrad/results``, else ``~/.cache/minigrad/results``.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import os
import pickle
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from minigrad_tool.bytecode import minigrad_folder, write_whole
from minigrad_tool.mutation.mutants import Mutant
from minigrad_tool.mutation.results import Campaign, MutantResult
from minigrad_tool.mutation.since import Code

__all__ = [
    "ENV",
    "FORMAT",
    "MutantKeys",
    "Part",
    "Stored",
    "folder",
    "inputs_digest",
    "inputs_digests",
    "load",
    "save",
]

ENV = "MINIGRAD_RESULTS"
FORMAT = 6  # bumped when what is stored changes shape: older files are ignored
# Runs kept at most: one file per command (folder, engine, options), each 0.1 to 1 MB; the
# least recently written go first, so a cache folder never grows past a few hundred MB.
KEPT_RUNS = 256


def folder() -> Path | None:
    """Where verdicts are kept; None: keep none."""
    return minigrad_folder(ENV, "results")


@functools.cache
def _tool_digest() -> str:
    """minigrad's own source: a change to the tool is a change to every verdict."""
    digest = hashlib.sha256()
    root = Path(__file__).resolve().parents[1]
    for path in sorted(root.rglob("*.py")):
        digest.update(str(path.relative_to(root)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def _environment() -> str:
    """The interpreter and the installed distributions (names carry their versions); not
    where they live: `uv run --with` builds the same environment in a new folder each time,
    and its runs would never reuse a verdict."""
    parts = [sys.version, sys.platform, sys.implementation.cache_tag or ""]
    for entry in sys.path:
        with contextlib.suppress(OSError):
            names = os.listdir(entry or ".")
            parts += sorted(n for n in names if n.endswith((".dist-info", ".egg-info", ".pth")))
    # minigrad's settings in the environment ($MINIGRAD_ORDERS, ...), but where caches live
    parts += sorted(
        f"{k}={v}"
        for k, v in os.environ.items()
        if k.startswith("MINIGRAD_") and k not in (ENV, "MINIGRAD_CACHE")
    )
    return "\n".join(parts)


# Files up to this size count by their bytes: every module, and the settings and data files
# (pyproject.toml, a test's fixtures).  A checkout (CI's, each run; git's, of another branch and
# back) gives each file a new modification time, and a key of times would reuse nothing there.
# A larger file (a dataset) counts by its size and time: reading it whole on every run would
# cost more than a rerun saves.
WHOLE_BYTES = 1 << 20


# How much of a data file `no_input` is shown: enough for a report's first line.
HEAD_BYTES = 512


def _never(head: bytes) -> bool:
    return False


def _file_part(path: Path, no_input: Callable[[bytes], bool]) -> bytes | None:
    """A file by its bytes, or a large data file by its size and modification time; None
    for a data file `no_input` tells by its first bytes is none (a report minigrad wrote)."""
    try:
        if path.suffix == ".py":
            return path.read_bytes()
        with path.open("rb") as data:
            head = data.read(HEAD_BYTES)
            if no_input(head):
                return None
            stat = os.fstat(data.fileno())
            if stat.st_size > WHOLE_BYTES:
                return f"{stat.st_size}:{stat.st_mtime_ns}".encode()
            return head + data.read()
    except OSError:
        return b"<missing>"


def inputs_digests(
    settings: str,
    files: Iterable[Path],
    apart: Iterable[Path] = (),
    no_input: Callable[[bytes], bool] = _never,
) -> tuple[str, str]:
    """Of the command's settings, the files given, minigrad and the environment: with every
    file, and without those `apart` (the engine's, which a mutant's key counts op by op);
    a data file whose first bytes `no_input` tells is none is left out of both.  Each file
    is read, and the environment listed, once for both."""
    head = f"{FORMAT}\0{_tool_digest()}\0{_environment()}\0{settings}".encode()
    every, without = hashlib.sha256(head), hashlib.sha256(head)
    left_out = {p.resolve() for p in apart}
    for path in sorted({p.resolve() for p in files}):
        content = _file_part(path, no_input)
        if content is None:
            continue
        part = b"\0" + str(path).encode() + b"\0" + content
        every.update(part)
        if path not in left_out:
            without.update(part)
    return every.hexdigest(), without.hexdigest()


def inputs_digest(settings: str, files: Iterable[Path]) -> str:
    """Of the command's settings, the files given, minigrad and the environment."""
    return inputs_digests(settings, files)[0]


@dataclass(frozen=True)
class _Entry:
    key: str  # what the verdict depends on, but the code of ops it does not reach
    engine: str  # every op's code: a verdict that was probed depends on all of it
    result: MutantResult
    probe: str | None = None  # what the probe run that told it apart depended on, alone


@dataclass(frozen=True)
class _Case:
    """A battery case's run on the unmutated engine, a chunk of your tests' first run there
    (judges.tests.run_stats) or of their habits' recording, or a probe's run: under the key of
    the code it reached."""

    key: str
    ops: tuple[str, ...]  # the ops whose mutated code it ran
    value: Any  # what the harness child answered (mutation.judges.battery)
    seconds: float


@dataclass
class Stored:
    """One run's campaign, under the key of everything it read, with its mutants' keys and
    its battery cases' runs on the unmutated engine."""

    run: str
    campaign: Campaign
    entries: dict[str, _Entry] = field(default_factory=dict)
    cases: dict[str, _Case] = field(default_factory=dict)


def _file_for(name: str) -> Path | None:
    where = folder()
    if where is None:
        return None
    return where / (hashlib.sha256(name.encode()).hexdigest()[:24] + ".pickle")


def load(name: str) -> Stored | None:
    """The run kept under `name` (the command's identity), if any and readable."""
    path = _file_for(name)
    if path is None:
        return None
    try:
        with path.open("rb") as f:
            fmt, stored = pickle.load(f)
    except Exception:  # a missing, partial or foreign file: no cache, never an error
        return None
    return stored if fmt == FORMAT and isinstance(stored, Stored) else None


def save(name: str, stored: Stored) -> None:
    """Keep the run.  Nothing kept is no error: a folder that cannot be written, a full disk,
    a value that does not pickle leave the run's verdict as it is."""
    path = _file_for(name)
    if path is None:
        return
    try:
        data = pickle.dumps((FORMAT, stored), protocol=pickle.HIGHEST_PROTOCOL)
    except Exception:  # the cache is an optimisation: never a reason for another verdict
        return
    if write_whole(path, data):
        _prune(path.parent)


def _prune(where: Path) -> None:
    """Keep the KEPT_RUNS most recently written runs; drop the rest."""
    runs = sorted(where.glob("*.pickle"), key=lambda f: f.stat().st_mtime_ns, reverse=True)
    for old in runs[KEPT_RUNS:]:
        with contextlib.suppress(OSError):
            old.unlink()


# What one judge's verdict on a mutant depended on: the judge, the items it ran on the mutant
# (in order, up to the killer), and the ops whose code those items ran.
Part = tuple[str, Sequence[str], set[str]]


class MutantKeys:
    """Each mutant's key in this run, and the verdicts of the last run whose keys match."""

    def __init__(self, inputs: str, code: Code, previous: Stored | None) -> None:
        self.inputs = inputs  # everything but the engine's files (inputs_digest)
        self.code = code  # the engine's code, split by op (mutation.since)
        self.engine = hashlib.sha256(
            f"{code.shared}\0{sorted(code.ops.items())}".encode()
        ).hexdigest()
        self.previous = previous.entries if previous is not None else {}
        self.previous_cases = previous.cases if previous is not None else {}
        self.entries: dict[str, _Entry] = {}
        self.cases: dict[str, _Case] = {}

    def _code_of(self, ops: Iterable[str]) -> list[str]:
        """Each op's name and the digest of its code, in a stable order."""
        return [f"{op}={self.code.ops.get(op, '?')}" for op in sorted(set(ops))]

    def _case_key(self, case: str, ops: Iterable[str]) -> str:
        text = [self.inputs, self.code.shared, case, *self._code_of(ops)]
        return hashlib.sha256("\0".join(text).encode()).hexdigest()

    def kept_case(self, case: str) -> tuple[Any, float] | None:
        """A battery case's last run on the unmutated engine, if none of the code it reached
        changed: it runs the same code, so it would do the same again (and is kept again)."""
        entry = self.previous_cases.get(case)
        if entry is None or self._case_key(case, entry.ops) != entry.key:
            return None
        self.cases[case] = entry
        return entry.value, entry.seconds

    def keep_case(self, case: str, ops: Iterable[str], value: Any, seconds: float) -> None:
        kept = tuple(sorted(set(ops)))
        self.cases[case] = _Case(self._case_key(case, kept), kept, value, seconds)

    def keep_reached(
        self, case: str, reached: Iterable[str], op_of: Mapping[str, str], value: Any
    ) -> None:
        """Keep a run (a chunk of your tests', a probe's) under the ops of the mutants whose
        sites it `reached`; nothing is kept when one of them is unknown (`op_of`): what the
        run depended on could not be told."""
        reached = set(reached)
        if reached <= op_of.keys():
            self.keep_case(case, {op_of[m] for m in reached}, value, 0.0)

    def key(self, mutant: Mutant, parts: Sequence[Part]) -> str:
        """Of the mutant, the inputs, the shared code, and per judge the items it ran and the
        code of the ops they reach."""
        text = [self.inputs, self.code.shared, repr(mutant)]
        for judge, items, ops in parts:
            text += [judge, repr(list(items))]
            text += self._code_of(ops | {mutant.op})
        return hashlib.sha256("\0".join(text).encode()).hexdigest()

    @property
    def told_apart(self) -> set[str]:
        """The mutants a probe told apart in the last run: their keys hold the probes that
        reach them, known once the probes have run on this run's unmutated engine."""
        return {m for m, entry in self.previous.items() if _told_apart(entry.result)}

    def reuse(
        self, mutant: Mutant, key_of: Callable[[MutantResult], str | None]
    ) -> tuple[MutantResult, bool] | None:
        """The last run's verdict, if nothing its judges depended on changed: `key_of` gives
        the key it has now (None: it cannot be reused).  With True it holds whole (and is kept
        again); with False only its judges' verdicts do: no probe told it apart, and the
        probes, which mix every op, ran other code than now, so they must run again."""
        entry = self.previous.get(mutant.id)
        if entry is None or key_of(entry.result) != entry.key:
            return None
        result = replace(entry.result, mutant=mutant)
        if _probed(entry.result) and not _told_apart(entry.result) and entry.engine != self.engine:
            return result, False
        self.entries[mutant.id] = entry
        return result, True

    def last_result(self, mutant: str) -> MutantResult | None:
        """The mutant's result in the last run, whatever its key now (what its probes found
        holds of the probes that run the same code: mutation.probing)."""
        entry = self.previous.get(mutant)
        return None if entry is None else entry.result

    def keep(self, result: MutantResult, key: str | None, probe: str | None = None) -> None:
        """Keep a verdict of this run for the next, under the key it has (and the key of the
        probe run that told it apart, `probe`)."""
        if key is not None:
            self.entries[result.mutant.id] = _Entry(key, self.engine, result, probe)

    def kept_probe(
        self, mutant: Mutant, key_of: Callable[[MutantResult], str | None]
    ) -> MutantResult | None:
        """The last run's result of a mutant a probe told apart, if that probe run would be
        the same now (`key_of` gives its key now): the same probes reach the mutant up to the
        one that told it apart, and run the same code.  Its judges' verdicts need not hold
        (a test that runs a changed op covers it): only what the probes found is reused."""
        entry = self.previous.get(mutant.id)
        if entry is None or entry.probe is None or key_of(entry.result) != entry.probe:
            return None
        return entry.result


def _told_apart(result: MutantResult) -> bool:
    """A probe told it apart: its key holds the probes that reached it up to that one, and the
    code they ran (mutation.campaign), so the code of other ops does not count."""
    return result.probe_index is not None


def _probed(result: MutantResult) -> bool:
    """Some judge let it through, so the probes, which mix every op, decided it."""
    statuses = [v.status for _, v in result.judges] or [result.status]
    return not all(status.detected for status in statuses)
