"""One status model: what happened to a mutant, and what a campaign found.

Every reader (the terminal report, the JSON schema, the HTML page, `merge`,
`suggest`, `inject`) asks :class:`Status` what a status means, so the rules
(what counts as detected, what is left out of the score, which judge let a
mutant through) are written once, here.

Statuses are those of Stryker's mutation-testing-report-schema.  The score is
(killed + timeout) / (killed + timeout + survived + no coverage); equivalent
mutants are left out, with their evidence.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from enum import Enum

from minigrad_tool.adapter.spec import file_name
from minigrad_tool.findings import Finding, wrong_ops
from minigrad_tool.mutation.habits import Diagnosis, Spelling, diagnose
from minigrad_tool.mutation.mutants import Mutant

__all__ = [
    "NOT_JUDGED",
    "Campaign",
    "MutantResult",
    "Status",
    "Verdict",
    "score_of_counts",
    "wrong_op_reason",
]

# How the reason of an equivalent-status mutant begins when it is not judged at all: it
# differs from the original only on cases the unmutated engine already fails, or its op is
# wrong there (wrong_op_reason).
NOT_JUDGED = "not judged"
# The comment (mutmut's) that keeps a line from being mutated (mutation.mutants).
NO_MUTATE = "# pragma: no mutate"


def wrong_op_reason(op: str) -> str:
    """How the reason of an equivalent mutant of an op the battery finds wrong begins: the
    probes agree with a wrong original, so it is not judged (mutation.probing.of_wrong_ops)."""
    return f"{NOT_JUDGED}: {op} is wrong on the unmutated engine"


class Status(Enum):
    """What happened to a mutant; the value is the mutation-testing-report-schema status."""

    KILLED = "Killed"
    TIMEOUT = "Timeout"
    SURVIVED = "Survived"
    NO_COVERAGE = "NoCoverage"
    EQUIVALENT = "Ignored"

    @property
    def detected(self) -> bool:
        """The judge noticed the mutant: it counts for the score."""
        return self in (Status.KILLED, Status.TIMEOUT)

    @property
    def judged(self) -> bool:
        """Counted in the score: every status but equivalent."""
        return self is not Status.EQUIVALENT

    @property
    def let_through(self) -> bool:
        """A wrong derivative the judge would not notice: each is a missing test."""
        return self in (Status.SURVIVED, Status.NO_COVERAGE)

    @property
    def label(self) -> str:
        return _LABELS[self]

    @property
    def severity(self) -> int:
        """0 is worst: a line of source shows the colour of its worst mutant."""
        return _SEVERITY.index(self)

    @property
    def css(self) -> str:
        """How the HTML report colours it."""
        return "killed" if self.detected else "equivalent" if not self.judged else "survived"

    @classmethod
    def from_schema(cls, text: str) -> Status | None:
        return next((s for s in cls if s.value == text), None)


_LABELS = {
    Status.KILLED: "killed",
    Status.TIMEOUT: "killed (timeout)",
    Status.SURVIVED: "SURVIVED",
    Status.NO_COVERAGE: "NOT COVERED",
    Status.EQUIVALENT: "equivalent",
}
_SEVERITY = [Status.SURVIVED, Status.NO_COVERAGE, Status.EQUIVALENT, Status.TIMEOUT, Status.KILLED]


def score_of_counts(detected: int, judged: int) -> float:
    """(killed + timeout) / every judged mutant, in percent; NaN if none was judged."""
    return 100.0 * detected / judged if judged else math.nan


@dataclass(frozen=True)
class Verdict:
    """One judge's verdict on one mutant, with its evidence."""

    status: Status
    reason: str
    killed_by: tuple[str, ...] = ()
    covered_by: tuple[str, ...] = ()
    seconds: float = 0.0
    orders: tuple[int, int] = (1, 1)  # graph orders it was caught in, of those explored


@dataclass(frozen=True)
class MutantResult:
    """A mutant and its verdicts: the primary judge's, and each judge's side by side."""

    mutant: Mutant
    status: Status
    reason: str
    killed_by: tuple[str, ...] = ()
    covered_by: tuple[str, ...] = ()
    distinguishing: str | None = None  # the probe that tells it apart, said in words
    probe_index: int | None = None  # that probe's place in the probe list
    seconds: float = 0.0
    judges: tuple[tuple[str, Verdict], ...] = ()  # ("tests", ...), ("battery", ...)

    def verdict(self, judge: str) -> Verdict | None:
        """The named judge's verdict, if that judge ran."""
        return next((v for name, v in self.judges if name == judge), None)

    @property
    def not_judged(self) -> bool:
        """Left out of the score because it differs only where the engine already fails."""
        return self.status is Status.EQUIVALENT and self.reason.startswith(NOT_JUDGED)

    @property
    def of_a_wrong_op(self) -> bool:
        """Not judged because the battery finds its op wrong (wrong_op_reason)."""
        return self.not_judged and self.reason.startswith(wrong_op_reason(self.mutant.op))


@dataclass
class Campaign:
    """The results of one campaign, and what they were judged by."""

    engine: str
    path: str
    source: str
    class_name: str
    cases: list[str]  # the primary judge's items (cases or test IDs), in run order
    results: list[MutantResult]
    timeout: float
    seconds: float = 0.0
    judge: str = "battery"
    shard: tuple[int, int] = (1, 1)
    total_mutants: int = 0
    run_id: str = ""
    unreachable: list[tuple[str, str]] = field(default_factory=list)
    # edits of operators that were not Python where they stood: (op, operator, file, line)
    left_out: list[tuple[str, str, str, int]] = field(default_factory=list)
    # mutants of lines the user marked `# pragma: no mutate`, not made: (ID, the file when
    # not the engine's own, line)
    no_mutate: list[tuple[str, str, int]] = field(default_factory=list)
    harness_seconds: float = 0.0
    tests: list[str] = field(default_factory=list)  # the test IDs that judged
    test_paths: list[str] = field(default_factory=list)  # the files and folders they came from
    findings: list[Finding] = field(default_factory=list)  # what the unmutated engine fails
    excluded: list[str] = field(default_factory=list)  # items that could not judge, and why
    orders: int = 1  # graph orders every kill had to hold in (adapter.order)
    since: str = ""  # --since REF: only the ops whose code changed since REF were judged
    not_judged: list[str] = field(default_factory=list)  # those ops' names, under --since
    # test -> op -> the habits it showed there on the unmutated engine (mutation.habits)
    habits: dict[str, dict[str, list[str]]] = field(default_factory=dict)
    # the wide fixtures a judging child keeps between tests: name -> (scope, may depend on the
    # engine, so set up again at a switch of engine or graph order)
    fixtures: dict[str, tuple[str, bool]] = field(default_factory=dict)
    # session fixtures that could be set up once before the fork: name -> "" if they were, else
    # why not (judges.fixtures)
    warmed: dict[str, str] = field(default_factory=dict)
    # test file -> its globals holding what the engine computed when it was imported, before
    # any mutant (judges.fixtures.computed_at_import)
    imported: dict[str, list[str]] = field(default_factory=dict)
    # The other files of the engine's package that were mutated (they hold steps): path -> source
    others: dict[str, str] = field(default_factory=dict)
    reused: int = 0  # verdicts reported from the last run, their inputs unchanged (cache)
    # of the others, those whose judges' verdicts were the last run's: only probed again
    reprobed: int = 0
    kept_cases: tuple[int, int] = (0, 0)  # battery cases whose unmutated run was the last's, of
    kept_tests: tuple[int, int] = (0, 0)  # the same of your tests' first run
    kept_probes: tuple[int, int] = (0, 0)  # the same of the probes' run
    kept_probe_runs: int = 0  # mutants judged again whose probe run was the last run's
    # of the probes reaching the mutants probed again, those not run on them (each agreed in
    # the last run, and runs no changed code), of all
    agreeing_probes: tuple[int, int] = (0, 0)
    replayed: bool = False  # the whole campaign is the last run's: nothing it read changed
    grad_name: str = "grad"  # what the engine calls a node's gradient (Profile.grad_name)
    backward_name: str = "backward"  # and its backward pass (Profile.backward_name)
    # how a number multiplying a node is written where its `*` takes nodes only: `Value({})`
    # (Profile.coerced); "" where a plain number is taken
    number_leaf: str = ""

    def path_of(self, mutant: Mutant) -> str:
        """The file a mutant changes."""
        return mutant.file or self.path

    def source_of(self, mutant: Mutant) -> str:
        """The source of the file a mutant changes, as it was judged."""
        return self.others[mutant.file] if mutant.file else self.source

    def name_of(self, mutant: Mutant) -> str:
        """How the file a mutant changes is shown: `engine.py`, `functions.py`, `nn/ops.py`."""
        return file_name(self.path_of(mutant), self.path)

    def left_out_by_line(self) -> dict[tuple[str, int], list[str]]:
        """The mutants of lines marked `# pragma: no mutate`, by (file, line)."""
        by_line: dict[tuple[str, int], list[str]] = {}
        for key, file, line in self.no_mutate:
            by_line.setdefault((file or self.path, line), []).append(key)
        return by_line

    def diagnosis(self) -> tuple[list[Diagnosis], list[str]]:
        """The weak habits of the judging tests that explain survivors, and the survivors no
        habit explains (mutation.habits)."""
        survivors = [
            (r.mutant.id, r.mutant.op, r.mutant.operator, r.mutant.description, _tests_that_ran(r))
            for r in self.results
            if r.status is Status.SURVIVED
        ]
        spelling = Spelling(self.grad_name, self.number_leaf or "{}", self.backward_name)
        return diagnose(survivors, self.habits, spelling)

    def count(self, status: Status) -> int:
        return sum(r.status is status for r in self.results)

    @property
    def wrong_ops(self) -> list[str]:
        """The ops the battery finds wrong on the unmutated engine."""
        return wrong_ops(self.findings)

    @property
    def engine_findings(self) -> list[Finding]:
        """What is wrong with the unmutated engine (not a judge that could not judge)."""
        return [f for f in self.findings if not f.of_a_judge]

    @property
    def killed(self) -> int:
        return sum(r.status.detected for r in self.results)

    @property
    def survived(self) -> int:
        return self.count(Status.SURVIVED)

    @property
    def judged(self) -> int:
        return sum(r.status.judged for r in self.results)

    @property
    def score(self) -> float:
        """(killed + timeout) / every mutant but the equivalent ones, in percent; NaN if none."""
        return score_of_counts(self.killed, self.judged)


def _tests_that_ran(result: MutantResult) -> tuple[str, ...]:
    """The tests that ran a mutant's code (the tests judge's coverage, else the result's)."""
    verdict = result.verdict("tests")
    return verdict.covered_by if verdict is not None else result.covered_by
