"""Run the battery on an engine, each case in a child: what `minigrad gradcheck` does.

The engine is discovered in one child, imported once more in a host, and
every case runs in a grandchild forked from that host with its deadline and
memory limit.  A case that hangs, exits or crashes the interpreter is a
failure that says so; an exception raised by minigrad itself is not a
verdict but an :class:`~minigrad_tool.faults.InternalError`.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from minigrad_tool.adapter import EngineSpec, Loaded, Profile, engine_host
from minigrad_tool.adapter.profile import method_text
from minigrad_tool.adapter.traversal import PATHS_GRAPH
from minigrad_tool.battery import (
    Battery,
    CaseResult,
    Settings,
    build_battery,
    run_case_in_orders,
)
from minigrad_tool.battery.cases import ForwardTolerance
from minigrad_tool.battery.chunks import (
    chunks_for,
    costliest_first,
    each_until_failure,
    run_in_chunks,
)
from minigrad_tool.checker import Tolerance
from minigrad_tool.faults import InternalError
from minigrad_tool.findings import Finding, blame_backward, raised_outside
from minigrad_tool.isolation import Limits, Outcome, Reporter, crash_signal
from minigrad_tool.ops import op_name

__all__ = [
    "BACKWARD_ORDER",
    "BACKWARD_RESETS",
    "BACKWARD_REUSE",
    "BACKWARD_SEEDS",
    "CheckReport",
    "backward_faults",
    "check_engine",
    "crashed",
    "out_of_order",
    "reset_by_backward",
    "settings_for",
    "unseeded",
    "walks_reuse_wrong",
]

# From this many failures with one cause on, the cause is named once instead of each time.
MANY_FAILURES = 5


def settings_for(
    profile: Profile,
    *,
    eps: float | None = None,
    atol: float | None = None,
    rtol: float | None = None,
    fast: bool = False,
    any_subgradient: bool = False,
) -> Settings:
    """Tolerances scaled to the engine's precision; any given value overrides.

    `--atol`/`--rtol` also govern the forward check, so a user who knows the
    engine is imprecise can loosen both with one flag.
    """
    macheps = profile.precision.macheps
    # The battery's points reach |x| = 200 or so: below ~1024 ulps of 1.0 a step rounds away
    # there (x + eps == x), and every case would blame the engine for the user's number.
    smallest = 1024.0 * macheps
    if eps is not None and 0.0 < eps < smallest:
        raise ValueError(
            f"--eps {eps:g} is too small for {profile.precision.name} numbers: steps below "
            f"{smallest:.2g} round away at the battery's points (x + eps == x); use a larger one"
        )
    base = Tolerance.for_precision(macheps)
    tolerance = Tolerance(
        eps=base.eps if eps is None else eps,
        atol=base.atol if atol is None else atol,
        rtol=base.rtol if rtol is None else rtol,
    )
    forward = ForwardTolerance.for_precision(macheps)
    if atol is not None or rtol is not None:
        forward = ForwardTolerance(
            forward.rtol if rtol is None else rtol, forward.atol if atol is None else atol
        )
    return Settings(tolerance, forward, fast=fast, any_subgradient=any_subgradient)


@dataclass(frozen=True)
class CheckReport:
    """The battery's results on one engine."""

    spec: EngineSpec
    profile: Profile
    battery: Battery
    settings: Settings
    results: tuple[CaseResult, ...]

    @property
    def failed(self) -> list[CaseResult]:
        return [r for r in self.results if r.failed]

    @property
    def common_cause(self) -> str:
        """One blame for many failures with one cause, backward(): it does not start the pass
        from gradient 1, runs the steps inputs first, or walks a node two others use wrongly
        (each measured); every failing case raises in it (`_raised_in_backward`); or every
        failing case fails only the accumulation check (it zeroes or overwrites gradients
        before the steps add to them).  The cases it explains: `explained`."""
        failed = self.failed
        if not self.profile.backward_seeds:
            return unseeded(self.profile)
        if not self.profile.backward_in_order:
            return out_of_order(self.profile)
        if self.profile.backward_reuse:
            return walks_reuse_wrong(self.profile)
        raised = self._raised_in_backward()
        if raised:
            return raised
        if len(failed) < MANY_FAILURES or not all("accumulation check" in r.detail for r in failed):
            return ""
        return (
            f"all {len(failed)} failing cases fail only the accumulation check, the same way: "
            "pre-seeded gradients are lost, whichever op the case checks. Look at backward() "
            "itself (does it reset .grad on every node before the steps run?), not at each op"
        )

    @property
    def explained(self) -> list[CaseResult]:
        """The failing cases the common cause explains: all of them, but for a backward()
        that walks a reused node wrongly, which explains only the cases that reuse one
        (Battery.reusing): another case that fails is its op's own failure."""
        failed = self.failed
        if self.profile.backward_reuse is None or self.profile.backward_zeroes_every_op:
            return failed
        reusing = self.battery.reusing(self.profile) | {BACKWARD_REUSE}
        backward = self.profile.backward_functions()
        # a walk gives wrong numbers: an exception an op's own code raised is that op's
        return [
            r
            for r in failed
            if r.case in reusing and not (r.finding and raised_outside(r.finding, backward))
        ]

    @property
    def crashes(self) -> list[CaseResult]:
        """The failing cases whose child a crash killed (SIGSEGV: compiled code's memory)."""
        return [r for r in self.failed if crash_signal(r.detail)]

    @property
    def crash_cause(self) -> str:
        """One blame for the cases a crash killed, when there are two or more: a memory error
        in compiled code kills whichever case meets it, and says nothing of its gradients."""
        crashes = self.crashes
        if len(crashes) < 2:
            return ""
        signals = sorted({crash_signal(r.detail) for r in crashes})
        op_of = {c.name: c.op for c in self.battery.cases}
        ops = list(dict.fromkeys(op for r in crashes if (op := op_of.get(r.case))))
        of_ops = f" of {len(ops)} op(s) ({', '.join(ops)})" if ops else ""
        return (
            f"the engine's process died with {' and '.join(signals)} in {len(crashes)} "
            f"cases{of_ops}: a crash ended each before its checks, so they say nothing of "
            "their gradients; fix the crash first. One in compiled code (a pointer or a "
            "reference count gone wrong) may kill whichever case meets it, so which cases die "
            "can change from run to run"
        )

    @property
    def in_backward(self) -> set[str]:
        """The failing cases whose exception backward()'s own code raised, in the cases of two
        ops or more (findings.blame_backward): blamed on it, not on their ops."""
        found = [r.finding for r in self.failed if r.finding is not None]
        where, line = self.profile.backward_where()
        blamed = blame_backward(found, self.profile.backward_functions(), where, line)
        return {f.case for f in blamed if f.op == "backward"}

    def _raised_in_backward(self) -> str:
        """One blame when every failing case raises in backward()'s own code (`in_backward`):
        its walk of the graph, not each op's step."""
        failed = self.failed
        if not failed or {r.case for r in failed} != self.in_backward:
            return ""
        found = [r.finding for r in failed]
        ops = sorted({f.op for f in found if f is not None and f.op})
        where, _ = self.profile.backward_where()
        return (
            f"all {len(found)} failing cases, of {len(ops)} ops ({', '.join(ops)}), raise in "
            f"{where} itself, not in an op's step: backward() fails whichever op it walks "
            "through, so look at it, not at each op"
        )

    @property
    def checked(self) -> int:
        """Cases that ran to a verdict (pass or fail): zero means nothing was checked."""
        return sum(r.status != "skip" for r in self.results)


def _as_result(case: str, outcome: Outcome) -> CaseResult:
    if outcome.ok:
        value: dict[str, Any] = outcome.value
        return CaseResult.from_json(value)
    return CaseResult(case, "error", outcome.message, outcome.seconds)


def _internal(outcomes: Mapping[str, Outcome], compiled: bool) -> dict[str, CaseResult]:
    """The cases in which minigrad's own code raised: InternalError (no verdict), unless the
    engine's compiled code is known to have broken its process.  A crash killed another case
    (a C extension's reference count gone wrong breaks whatever reads the object next); or,
    with compiled ops, the exception is a SystemError, which CPython raises only when C code
    breaks the rules of its API (minigrad 0.0.6: "bad argument to internal function").  Then
    the case fails and says why."""
    internal = {k: o for k, o in outcomes.items() if o.status == "internal"}
    crashes = sorted({s for o in outcomes.values() if (s := crash_signal(o.message))})
    broken = {k for k, o in internal.items() if compiled and o.message.startswith("SystemError")}
    unexplained = {k: o for k, o in internal.items() if k not in broken}
    if unexplained and not crashes:
        case, outcome = next(iter(unexplained.items()))
        raise InternalError(f"minigrad failed while running case {case!r}: {outcome.message}")
    return {
        case: CaseResult(case, "error", _compiled_fault(o.message, case in broken, crashes))
        for case, o in internal.items()
    }


def _compiled_fault(message: str, system_error: bool, crashes: Sequence[str]) -> str:
    """Why an exception of minigrad's own code is counted as the engine's compiled code's."""
    if system_error:
        return (
            f"minigrad's own code raised in this case ({message}), reading what the engine's "
            "compiled code gave back: CPython raises SystemError only when C code breaks the "
            "rules of its API (an object returned with an exception set, a bad argument to an "
            "internal function), and minigrad is pure Python: counted as the engine's "
            "failure, not minigrad's"
        )
    return (
        f"minigrad's own code raised in this case ({message}), in a process where the "
        f"engine's code ran; other cases died with {' and '.join(crashes)}, a crash in "
        "compiled code, which may corrupt what minigrad reads next: not counted as "
        "minigrad's failure"
    )


def check_engine(
    spec: EngineSpec,
    profile: Profile,
    settings: Settings,
    limits: Limits,
    *,
    jobs: int = 1,
    groups: Sequence[str] | None = None,
    only: Collection[str] | None = None,
    on_result: Callable[[CaseResult], None] | None = None,
) -> CheckReport:
    """Run every case of the engine's battery (of `groups`, or named in `only`), a chunk of
    them per child (battery.chunks), or each in a child of its own where an op is compiled."""
    battery = build_battery(profile)
    cases = [
        c
        for c in battery.cases
        if (groups is None or c.group in groups) and (only is None or c.name in only)
    ]
    by_name = {c.name: c for c in cases}
    orders = spec.orders  # 1 where the engine keeps no children in a set

    def run(engine: Loaded, args: dict[str, Any], reporter: Reporter) -> dict[str, Any]:
        def one(name: str) -> dict[str, Any]:
            case = by_name[name]  # failing in any graph order a user's run may walk
            return run_case_in_orders(case, engine.access, settings, orders, last=True).to_json()

        return each_until_failure(args["cases"], one, reporter)  # a chunk of them

    results: dict[str, CaseResult] = {}
    outcomes: dict[str, Outcome] = {}

    def done(key: str, outcome: Outcome) -> None:
        outcomes[key] = outcome
        if outcome.status == "internal":  # judged once every case has ended (_internal)
            return
        results[key] = _as_result(key, outcome)
        if on_result is not None:
            on_result(results[key])

    compiled = profile.runs_compiled_code
    chunks = chunks_for(compiled, jobs, len(cases))
    with engine_host(spec, profile, {"case": run}, limits, jobs=jobs) as host:
        run_in_chunks(host, "case", costliest_first(cases), chunks, on_done=done)
    results.update(_internal(outcomes, compiled))
    ordered = tuple(results[c.name] for c in cases)
    crashes = tuple(crashed(profile))
    return CheckReport(spec, profile, battery, settings, crashes + ordered)


def crashed(profile: Profile) -> list[CaseResult]:
    """An op whose call crashes in the engine's own code is a failure, not an absent op; and
    each fault of backward() itself (`backward_faults`) is one failure, blamed on it once."""
    found = [
        CaseResult(
            f"{method}_runs",
            "error",
            f"the op {method_text(profile.class_name, method)} crashes in the engine's code: {why}",
        )
        for method, why in profile.broken
    ]
    return found + [CaseResult(name, "fail", why) for name, _, why in backward_faults(profile)]


def crash_findings(profile: Profile) -> list[Finding]:
    """Ops whose call crashed in the engine's code while it was discovered, as findings, each
    also calling the op whose code raised (a `-x` that crashes in a `*` that takes no number
    is mul's to mend: Profile.attributed)."""
    raised = dict(profile.broken_in)
    return profile.attributed(
        [
            Finding(
                "",
                f"op {method} crashes in the engine's code: {why}",
                op_name(method),
                check="crash",
                raised=raised.get(method, ""),
            )
            for method, why in profile.broken
        ]
    )


def backward_faults(profile: Profile) -> list[tuple[str, str, str]]:
    """backward()'s own faults, measured on the unmutated engine, each blamed once on it:
    (the name of its result in `gradcheck`, the check, why)."""
    faults = []
    if profile.backward_resets:
        faults.append((BACKWARD_RESETS, "accumulation", reset_by_backward(profile)))
    if not profile.backward_seeds:
        faults.append((BACKWARD_SEEDS, "seed", unseeded(profile)))
    if not profile.backward_in_order:
        faults.append((BACKWARD_ORDER, "order", out_of_order(profile)))
    elif profile.backward_reuse:
        faults.append((BACKWARD_REUSE, "reuse", walks_reuse_wrong(profile)))
    return faults


BACKWARD_RESETS = "backward_accumulates"  # the result that says backward() zeroes gradients
BACKWARD_SEEDS = "backward_seeds"  # the result that says backward() starts from gradient 0
BACKWARD_ORDER = "backward_order"  # the result that says backward() runs steps out of order
BACKWARD_REUSE = "backward_reuse"  # the result that says it walks a reused node wrongly


def walks_reuse_wrong(profile: Profile) -> str:
    """Why a backward() that runs a reused node's step once per path, or before every node
    that uses it has given it its gradient, is wrong (Profile.backward_reuse, measured on the
    unmutated engine by adapter.traversal): one blame, not one per op."""
    walk = profile.backward_reuse
    assert walk is not None
    call = f"{profile.class_name}.{profile.backward_name}()"
    graph = walk.graph or PATHS_GRAPH
    measured = (
        f"measured with the engine's add: w = x + 2, used by {graph}, must give x the "
        f"gradient 2, and gives {walk.input_grad:g}"
    )
    if walk.order:  # right in insertion order: wrong in the runs whose sets come out so
        measured += (
            f" in graph order {walk.order} (it gives 2 in insertion order: the engine keeps "
            "children in a set, which a user's run walks in the order of the nodes' "
            "addresses, so it is wrong in some runs and not others)"
        )
    if walk.kind == "repeats":
        what = (
            f"{call} runs the backward step of a node that two others use more than once "
            f"({measured}; w's step ran {walk.runs} times, the first with w's gradient at "
            f"{walk.at_step:g} of 2): it runs a node's step once per path that reaches it, "
            "passing on all it has gathered each time, so the inputs below a reused node get "
            "too much"
        )
        fix = "collect the nodes once, with a visited set, each after its children"
    else:
        what = (
            f"{call} runs the backward step of a node that two others use before both have "
            f"given it their gradient ({measured}; w's step ran once, with w's gradient at "
            f"{walk.at_step:g} of 2): what arrives after its step never reaches the nodes "
            "below it"
        )
        fix = (
            "run a node's step only once every node that uses it has run: collect the nodes "
            "with a visited set, each after its children (a topological order)"
        )
    return (
        f"{what}. add's step is right on its own (x + 2, (x + 2) + 3 and (x + 3) + (x + 4) "
        "give x the right gradients), yet every case that reuses a node an op made fails "
        f"for this alone, whatever its ops: {fix}, and run each node's step once, over "
        "reversed(topo), as micrograd does"
    )


def out_of_order(profile: Profile) -> str:
    """Why a backward() that runs a node's step before the nodes that use it is wrong
    (Profile.backward_in_order, measured on the unmutated engine): one blame, not one per op."""
    call = f"{profile.class_name}.{profile.backward_name}()"
    if not profile.backward_walks:
        return (
            f"{call} runs only the backward step of the node it is called on (measured with "
            "the engine's add: x + 2 gives x the gradient 1, but in (x + 2) + 3 the inner "
            "node's step never runs, and x gets 0): it never walks the graph, so every "
            "gradient past the output's own inputs is 0 and every op's gradient check fails "
            "for that alone: collect the nodes with a visited set, each after its children "
            "(a topological order), and run each node's step over reversed(topo), as "
            "micrograd does"
        )
    return (
        f"{call} runs a node's backward step before the nodes that use it have given it its "
        "gradient (measured with the engine's add: x + 2 gives x the gradient 1, but "
        "(x + 2) + 3 gives 0): it walks the nodes in topological order, inputs first, where "
        "the pass needs the reverse, so every op's step past the first level adds nothing and "
        "every op's gradient check fails for that alone: append each node to topo after its "
        "children (after the loop over them, not before it) and run the steps over "
        "reversed(topo), as micrograd does"
    )


def unseeded(profile: Profile) -> str:
    """Why a backward() that does not start the pass from gradient 1 is wrong
    (Profile.backward_seeds, measured on the unmutated engine): one blame, not one per op."""
    call = f"{profile.class_name}.{profile.backward_name}()"
    return (
        f"{call} does not set the gradient of the node it is called on to 1 before the pass "
        "(measured: a node holding a leaf, with no backward step of its own, keeps "
        f".{profile.grad_name} 0 after its {profile.backward_name}()), so every gradient it "
        "gives is 0 and every op's gradient check fails for that alone: start the pass with "
        f"self.{profile.grad_name} = 1 (ones for an array), as micrograd does, before the "
        "steps run"
    )


def reset_by_backward(profile: Profile) -> str:
    """Why a backward() that sets every gradient it reaches to zero before the pass is wrong
    (Profile.backward_resets, measured on the unmutated engine): one blame, not one per op."""
    call = f"{profile.backward_name}()"  # backwards(), where that is the engine's name
    return (
        f"{profile.class_name}.{call} sets .{profile.grad_name} to zero on every node it "
        "reaches before the pass (measured: a leaf whose gradient was 1, reached from a node "
        "with no backward step of its own, ends with 0): a pre-seeded gradient is lost, and "
        f"gradients do not add up across {call} calls as micrograd's and torch's do. Zero them "
        f"before a pass (zero_grad() in the training loop), not inside {call}. The op cases "
        "are checked with this engine's convention, so each op's verdict is its own"
    )
