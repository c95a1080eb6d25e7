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

The task a host runs for a chunk takes `{"cases": [name, ...]}`, reports the phase `case NAME`
(and more words, if it likes) as each starts, and answers `{name: answer}`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from minigrad_tool.isolation import Host, Outcome, Request

__all__ = ["CHUNKS_PER_JOB", "run_in_chunks"]

# Chunks per job: enough that the jobs stay busy to the end whatever the cases cost, few
# enough that forking stays a small share (8 chunks of about 8 cases for examples/student).
CHUNKS_PER_JOB = 4


def run_in_chunks(
    host: Host,
    task: str,
    cases: Sequence[str],
    chunks: int,
    on_done: Callable[[str, Outcome], None] | None = None,
) -> dict[str, Outcome]:
    """Each case's outcome, its answer as the value where its chunk ended well (`chunks` of
    them at most); `on_done` hears each case as soon as its outcome is known."""
    count = max(1, min(len(cases), chunks))
    outcomes: dict[str, Outcome] = {}
    alone: list[str] = []

    def heard(case: str, outcome: Outcome) -> None:
        outcomes[case] = outcome
        if on_done is not None:
            on_done(case, outcome)

    def run(dealt: list[list[str]]) -> None:
        def done(key: str, outcome: Outcome) -> None:
            chunk = dealt[int(key)]
            if not outcome.ok and len(chunk) > 1:
                hung = _hung_in(outcome, chunk)
                if hung is not None:  # its own: running it alone would wait as long again
                    heard(hung, outcome)
                alone.extend(c for c in chunk if c != hung)
                return
            for case in chunk:  # the chunk's answer for each case, as if it ran alone
                if outcome.ok:
                    heard(case, Outcome("ok", outcome.value[case], seconds=outcome.seconds))
                else:  # a chunk of one
                    heard(case, outcome)

        requests = [
            Request(str(k), task, {"cases": chunk}, per_phase=True) for k, chunk in enumerate(dealt)
        ]
        host.run(requests, on_done=done)

    run([list(cases[k::count]) for k in range(count)] if cases else [])
    if alone:
        run([[case] for case in alone])
    return outcomes


def _hung_in(outcome: Outcome, chunk: Sequence[str]) -> str | None:
    """The case a chunk's child was running when its deadline passed, named by its phase
    (`case NAME`, and whatever the task adds after it); None for any other way of ending."""
    if outcome.status != "timeout":
        return None
    for case in chunk:
        if outcome.phase == f"case {case}" or outcome.phase.startswith(f"case {case} "):
            return case
    return None
