"""Battery cases run a chunk per child, in a host: a child per case costs more than most cases.

A fork, the child's first writes to the host's pages and its exit took most of a case's time:
`minigrad gradcheck` on our `Tensor` forked 260 children (2.6 s of system time for 2.6 s of
user time), the campaign's harness 67 for `examples/student`.  The cases are dealt out in
turn, so each chunk holds some of the costliest (a deep chain beside cheap cases); each case
is a phase of its child, so it keeps the whole deadline.  A chunk whose child does not end
well (it hung, died, ran out of memory, or minigrad's own code raised) runs again a case per
child: each case then has the outcome it has alone, which names the one that broke.  A
chunk that hung is the running case's own (its phase names it): running it alone would only
wait as long again; the chunk's other cases run again alone.

The task a host runs for a chunk takes `{"cases": [name, ...]}` and answers `{name: answer}`
(each_until_failure): it stops at the first case that does not pass, whose engine may have
left the process as no other case should find it; the cases it did not reach run in another
child.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

from minigrad_tool.battery.cases import BatteryCase
from minigrad_tool.isolation import Host, Outcome, Reporter, Request

__all__ = ["CHUNKS_PER_JOB", "chunks_for", "costliest_first", "each_until_failure", "run_in_chunks"]

# Chunks per job: enough that the jobs stay busy to the end whatever the cases cost, few
# enough that forking stays a small share (8 chunks of about 8 cases for examples/student).
CHUNKS_PER_JOB = 4


def chunks_for(compiled: bool, jobs: int, cases: int) -> int:
    """How many chunks the cases are dealt into: a case each where the engine runs compiled
    code (a crash there may corrupt what the next case reads, check._internal), so no case
    shares a process with another; else CHUNKS_PER_JOB per job."""
    return cases if compiled else CHUNKS_PER_JOB * jobs


def costliest_first(cases: Iterable[BatteryCase]) -> list[str]:
    """The cases' names, the costliest first (ties keep their order): a long case (a deep
    chain) runs beside the many short ones, not after them."""
    return [c.name for c in sorted(cases, key=lambda c: -c.cost)]


def run_in_chunks(
    host: Host,
    task: str,
    cases: Sequence[str],
    chunks: int,
    on_done: Callable[[str, Outcome], None] | None = None,
) -> dict[str, Outcome]:
    """Each case's outcome, its answer as the value where its chunk ended well (`chunks` of
    them at most at a time); `on_done` hears each case as soon as its outcome is known.  The
    cases a chunk did not reach (it stopped at a failure: each_until_failure) run in new
    chunks, until every case has its outcome."""
    outcomes: dict[str, Outcome] = {}
    alone: list[str] = []

    def heard(case: str, outcome: Outcome) -> None:
        outcomes[case] = outcome
        if on_done is not None:
            on_done(case, outcome)

    def run(dealt: list[list[str]], rest: list[str]) -> None:
        def done(key: str, outcome: Outcome) -> None:
            chunk = dealt[int(key)]
            if not outcome.ok and len(chunk) > 1:
                hung = _hung_in(outcome, chunk)
                if hung is not None:  # its own: running it alone would wait as long again
                    heard(hung, outcome)
                alone.extend(c for c in chunk if c != hung)
                return
            for case in chunk:  # the chunk's answer for each case, as if it ran alone
                if not outcome.ok:  # a chunk of one
                    heard(case, outcome)
                elif case in outcome.value:
                    heard(case, Outcome("ok", outcome.value[case], seconds=outcome.seconds))
                else:  # after a failure in its chunk: another child's
                    rest.append(case)

        requests = [
            Request(str(k), task, {"cases": chunk}, per_phase=True) for k, chunk in enumerate(dealt)
        ]
        host.run(requests, on_done=done)

    pending = list(cases)
    while pending:  # each round answers at least the first case of every chunk
        count = max(1, min(len(pending), chunks))
        rest: list[str] = []
        run([pending[k::count] for k in range(count)], rest)
        pending = rest
    if alone:
        run([[case] for case in alone], [])
    return outcomes


def each_until_failure(
    cases: Sequence[str],
    run_one: Callable[[str], dict[str, Any]],
    reporter: Reporter,
    doing: str = "",
) -> dict[str, dict[str, Any]]:
    """A chunk's task: each case in turn, a phase each (`case NAME`, then `doing`: what a
    message about its child says it was doing), its answer by name,
    until one does not pass: an engine that failed may leave its process as no other case
    should find it (a MemoryError caught half-way through building a node), so the chunk's
    other cases run in another child."""
    answers: dict[str, dict[str, Any]] = {}
    for name in cases:
        reporter.phase(f"case {name}{doing}")
        answers[name] = answer = run_one(name)
        if answer["status"] not in ("pass", "skip"):
            break
    return answers


def _hung_in(outcome: Outcome, chunk: Sequence[str]) -> str | None:
    """The case a chunk's child was running when its deadline passed, named by its phase
    (`case NAME`, and whatever the task adds after it); None for any other way of ending."""
    if outcome.status != "timeout":
        return None
    for case in chunk:
        if outcome.phase == f"case {case}" or outcome.phase.startswith(f"case {case} "):
            return case
    return None
