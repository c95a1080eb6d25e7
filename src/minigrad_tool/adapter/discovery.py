"""Discover an engine: its class, children, ops, backward steps and precision.

This runs engine code, so it only ever runs in a child process.  It learns by
watching: each candidate method is called on real nodes; the attribute the
result carries and the code that runs during its `backward()` show the op's
backward step, whatever its style:

* micrograd: a nested function under any name, `out._backward = _backward`;
* a `lambda` (of `setattr` calls, say);
* a method of the class or module referenced by the op (minigrad's own);
* a `Function`-style class whose `backward` the generic sweep calls;
* local derivatives (`_local_grads`) stored on the node and applied by one
  generic `backward()`, as in Karpathy's microgpt.

The jobs live in their own modules, on one :class:`~minigrad_tool.adapter.session.Session`:
the node class (:mod:`~minigrad_tool.adapter.classes`), candidate methods
(:mod:`~minigrad_tool.adapter.candidates`), steps (:mod:`~minigrad_tool.adapter.steps`),
points (:mod:`~minigrad_tool.adapter.points`) and precision
(:mod:`~minigrad_tool.adapter.precision`); this module runs them in order.
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
import sys
import traceback
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from types import ModuleType

from minigrad_tool import ops as catalogue
from minigrad_tool.adapter.candidates import (
    candidates,
    crash_in_engine,
    forms,
    is_an_op,
    op_for,
)
from minigrad_tool.adapter.classes import node_class, steps_named_backward
from minigrad_tool.adapter.nodes import (
    COERCIBLE,
    backward_name,
    coerce_numbers,
    numbers_made_leaves,
    takes_nodes_only,
)
from minigrad_tool.adapter.points import branch_points, exponents, fallback_points, points_for
from minigrad_tool.adapter.precision import scalar_precision
from minigrad_tool.adapter.profile import (
    CallForm,
    Op,
    Profile,
    Step,
    apply_op,
    method_text,
    step_owners,
)
from minigrad_tool.adapter.session import Point, Progress, Session, Watch, quiet
from minigrad_tool.adapter.spec import EngineSpec, EngineWrong
from minigrad_tool.adapter.steps import (
    delegates_of,
    forward_helpers,
    release_aliases,
    release_lent_classes,
    settle_delegates,
    step_fault,
    steps_of,
)
from minigrad_tool.adapter.trace import CodeKey
from minigrad_tool.adapter.traversal import reuse_walk, walks_past_the_output
from minigrad_tool.faults import raised_in, told

__all__ = ["discover"]


def discover(
    spec: EngineSpec,
    module: ModuleType,
    progress: Progress = quiet,
    avoid: Mapping[str, str] | None = None,
    as_scalar: str = "",
) -> Profile:
    """Everything minigrad needs to know about the engine (call in a child process).

    `avoid` names methods whose call killed an earlier discovery child (the engine exited,
    hung or crashed in them): they are not called again, and are broken ops.  `as_scalar`
    says why an engine whose nodes also take arrays is checked as a scalar one.
    """
    cls, data_attr = node_class(spec, module, progress, as_scalar=bool(as_scalar))
    d = Session(spec, module, cls, progress)
    d.access.data_attr = data_attr
    if as_scalar:
        d.notes.append(as_scalar)
    if data_attr != "data":
        d.notes.append(f"its nodes keep their number in .{data_attr}, not .data: read there")
    if "__add__" not in (avoid or {}):  # the measures call x + 2: not where add killed one
        _whole_pass_checked(d)
    progress(f"calling {cls.__name__}(0.5).backward()")
    sweep = d.find_sweep()
    ops, foreign_codes, forward_codes = _called_ops(d, avoid or {})
    _coerce_numbers(d, ops)
    ops = settle_delegates(d, ops)
    final = _settled(d, ops, foreign_codes, forward_codes)
    add = next((o for o in final if o.name == "add"), None)
    progress("measuring the precision")
    d.precision = scalar_precision(d, add)
    final = [_with_form(d, op) for op in final]
    if sweep is not None and d.backward_helpers:
        sweep = dataclasses.replace(sweep, helpers=tuple(d.backward_helpers))
    compiled = [op.name for op in final if op.compiled]
    if compiled:
        d.notes.append(
            f"{', '.join(compiled)}: compiled code, checked as black boxes (their values and "
            "gradients, not their code): `minigrad mutate` needs backward steps in Python"
        )
    if final and not {"add", "mul", "rmul"} & {op.name for op in final}:
        d.notes.append(
            "it has neither * nor + of nodes: no output can be scaled, so no check gives an "
            "op an upstream gradient other than 1 (a step that drops it, `x.grad += local` "
            "for `x.grad += local * out.grad`, goes unseen)"
        )
    for op in final:
        if op.composite and not op.uses and not op.compiled:
            d.unreachable.append((op.name, d.no_step_here(op.name)))
    return d.profile(
        final,
        sweep,
        backward_reuse=reuse_walk(d.leaf, d.access, final),
        backward_walks=walks_past_the_output(d.leaf, d.access, final) is not False,
    )


def _whole_pass_checked(d: Session) -> None:
    """EngineWrong (or EngineError) where x.backward() on an op's output is no pass: the node
    keeps its own step in .backward (classes.steps_named_backward, which node_class asks of a
    leaf); then where a second pass reruns the first one's steps (_first_pass_forgotten)."""
    try:
        out = d.added(d.leaf(0.5), 2.0)
    except Exception:  # no `+` of nodes: the measures cannot be built, nothing is blamed
        return
    steps_named_backward(d.cls, out, f"{d.cls.__name__}(0.5) + 2")
    _first_pass_forgotten(d)


def _first_pass_forgotten(d: Session) -> None:
    """EngineWrong where a second backward pass runs the first one's steps again: every later
    measure, case and mutant would read the earlier graphs' gradients too (discovery itself
    mistook one op's steps for another's), so nothing else is checked."""
    got = d.backward_forgets()
    if got is None:
        return
    name = f"{d.cls.__name__}.{backward_name(d.cls)}()"
    raise EngineWrong(
        f"{name} runs the backward steps of earlier passes again (measured with the "
        f"engine's +: x + 2 and its backward pass give x the gradient 1; x's gradient set "
        f"back to 0, x + 3 and its backward pass give it {got:g}, not 1): what it keeps "
        "between calls still holds the first graph, a topological order or visited set made "
        "once (a default argument `topo=[]` or `visited=set()` of a function defined outside "
        f"it, evaluated when the function is defined) or kept at module level. Every gradient "
        "after a process's first backward pass is wrong, and minigrad checks nothing else "
        f"while it is: make them afresh in each call of {name}"
    )


Codes = dict[str, tuple[CodeKey, ...]]


def _called_ops(
    d: Session, avoid: Mapping[str, str]
) -> tuple[list[Op], Codes, dict[str, list[str]]]:
    """Every candidate method called in each form it takes: the ops, the code their backward
    ran outside their own steps, and the engine functions their forward ran."""
    cls, progress = d.cls, d.progress
    ops: list[Op] = []
    foreign_codes: Codes = {}
    forward_codes: dict[str, list[str]] = {}
    taken: set[str] = set()
    for c in candidates(d):
        if c.name in avoid:
            d.broken.append((c.label, avoid[c.name]))
            continue
        # forms of this method that crashed inside the engine's code: (why, raised in, call)
        crashes: list[tuple[str, str, Callable[[], object]]] = []
        worked = False
        for form, name, symbol, points, constant in forms(c):
            unique = name if name not in taken else f"{name}_method"
            op = op_for(c, form, unique, symbol, cls.__qualname__)
            said = method_text(cls.__name__, c.label)  # Value.tanh, or engine.tanh
            progress(f"calling {said} ({op.describe_call()})", method=c.name)
            watch, error, crash, raised, call = None, "", "", "", None
            for point in (*points, *fallback_points(op.arity)):
                try:
                    with _users_recursion_budget():
                        watch = d.watch(op, point, constant)
                    break
                except Exception as err:
                    error = told(err)
                    crash = crash_in_engine(err, d.filename, op, point)
                    raised = raised_in(err)
                    call = call or _call_of(d, op, point, constant)
            if watch is None:
                if not c.quiet:
                    d.skipped.append((c.label, f"{op.describe_call()} raised {error}"))
                if crash and call is not None:
                    crashes.append((crash, raised, call))
                continue
            worked = True
            steps, foreign = steps_of(d, op, watch)
            progress(f"calling {said} to choose points for {op.name}", method=c.name)
            op = _placed(d, op, form, points, constant, steps, watch)
            foreign_codes[op.name] = foreign
            forward_codes[op.name] = [q for q, _ in watch.forward_codes]
            ops.append(op)
            taken.add(unique)
        if crashes and not worked and is_an_op(c):
            d.broken.append((c.label, crashes[0][0]))
            d.broken_in.append((c.label, crashes[0][1]))
            d.crashing_calls.append(crashes[0][2])
    return ops, foreign_codes, forward_codes


# The frames Python lets a program recurse by default.  minigrad's processes allow 20 times
# more (cli.RECURSION_LIMIT, for its walks over deep syntax trees), where an op that calls
# itself without end (`__rsub__` as `next - self`) overflows the C stack and dies with
# SIGSEGV instead of raising the RecursionError its users see.
_DEFAULT_RECURSION = 1000


@contextlib.contextmanager
def _users_recursion_budget() -> Iterator[None]:
    """While the block runs, the engine recurses as deep as in a user's program: Python's
    default budget of frames above this one."""
    depth, frame = 0, sys._getframe()
    while frame.f_back is not None:
        depth, frame = depth + 1, frame.f_back
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(min(limit, depth + _DEFAULT_RECURSION))
    try:
        yield
    finally:
        sys.setrecursionlimit(limit)


def _call_of(d: Session, op: Op, point: Point, constant: float) -> Callable[[], object]:
    """The op's call at `point` on fresh leaves, to make again."""
    return lambda: apply_op(op, tuple(d.leaf(v) for v in point), constant)


def _coerce_numbers(d: Session, ops: Sequence[Op]) -> None:
    """Where the engine's binary operators take nodes only (`x + 2.0` raises, `x + y` works),
    the battery's constants become leaves in minigrad's processes (nodes.coerce_numbers),
    said in a note; the ops found are those that work as the engine is.  Where an operator the
    engine's own ops call with a number crashes in them (`-x` as `self * -1`, `2.0 + x` as
    `self + other`: a crashing op that works once the operator makes leaves of numbers), that
    is a bug of the engine: the operator's own `_runs` case fails (`x * 2.0` crashes), and
    those ops', each saying which operator mends it.  The operator makes leaves of minigrad's
    own numbers only, so that its derivative is judged by its own cases, not by that bug."""
    refused = [
        (op, takes_nodes_only(d.cls, op.method, 2.0))
        for op in ops
        if op.call == "binary" and op.method in COERCIBLE and not op.function
    ]
    refused = [(op, why) for op, why in refused if why]
    rescued = {op.method: _rescued(d, [op.method]) for op, _ in refused}
    relied = [op for op, _ in refused if rescued[op.method]]
    refusals = [_refusal(d, op) for op in relied]  # as the engine is, before leaves are made
    given = coerce_numbers(
        d.cls,
        [op.method for op, _ in refused if not rescued[op.method]],
        [op.method for op in relied],
    )
    if given:
        first, why = refused[0]
        said = ", ".join(op.symbol for op, _ in refused if op.method in given)
        d.notes.append(
            f"its {said} take nodes only (x {first.symbol} 2.0 raised {why}): minigrad makes a "
            f"leaf of a number operand (x {first.symbol} {d.cls.__name__}(2.0)) in its own "
            "processes (your files are unchanged), and the tests it writes do the same"
            + (
                f"; not where your engine's own code calls {_symbols(relied)} with a number: "
                "that crashes there as its users see (the `_runs` failures)"
                if relied
                else ""
            )
        )
    _say_what_mends(d, relied, rescued)
    callers = [
        ", ".join(catalogue.op_name(d.broken[i][0]) for i in rescued[op.method]) for op in relied
    ]
    for op, (said, raised), its in reversed(list(zip(relied, refusals, callers, strict=True))):
        # each a crash of its own, said first: those of the ops calling it come from it
        d.broken.insert(0, (op.method, f"{said}; your engine's own ops call it so: {its}"))
        d.broken_in.insert(0, (op.method, raised))


def _say_what_mends(d: Session, relied: Sequence[Op], rescued: dict[str, list[int]]) -> None:
    """Each crashing op that works once the operators it calls with a number take one says
    so, with how (one operator alone, else all of them together: `2.0 - x` as `other +
    (-self)` needs both + and *)."""
    mended: dict[int, list[Op]] = {}
    for op in relied:
        for i in rescued[op.method]:
            mended.setdefault(i, []).append(op)
    if len(relied) > 1:
        for i in _rescued(d, [op.method for op in relied]):
            mended.setdefault(i, list(relied))
    name = d.cls.__name__
    for i, ops in sorted(mended.items()):
        method, crash = d.broken[i]
        d.broken[i] = (
            method,
            f"{crash}; it works once {_symbols(ops)} {'takes' if len(ops) == 1 else 'take'} a "
            f"number operand (make a {name} "
            f"of it in the operator, as micrograd does: `other = other if isinstance(other, "
            f"{name}) else {name}(other)`)",
        )


def _refusal(d: Session, op: Op) -> tuple[str, str]:
    """How the operator crashes on a number operand (`x * 2.0`), said as a crashing op's call
    is, and the engine function it raised in (call before the operator makes leaves)."""
    try:
        getattr(d.leaf(1.5), op.method)(2.0)
    except Exception as err:
        frames = [f for f in traceback.extract_tb(err.__traceback__) if f.filename == d.filename]
        at = (
            f" ({Path(d.filename).name}:{frames[-1].lineno}: {(frames[-1].line or '').strip()})"
            if frames
            else ""
        )
        return f"x {op.symbol} 2.0 at x=1.5 raised {told(err)}{at}", raised_in(err)
    return f"x {op.symbol} 2.0 at x=1.5 raised nothing here", ""


def _symbols(ops: Sequence[Op]) -> str:
    return " and ".join(op.symbol for op in ops)


def _rescued(d: Session, methods: Sequence[str]) -> list[int]:
    """The crashing ops' calls (their places in d.crashing_calls) that work while `methods`
    make leaves of numbers: the engine's own code calls them with a number there."""
    worked = []
    with contextlib.ExitStack() as stack:
        for method in methods:
            stack.enter_context(numbers_made_leaves(d.cls, method))
        stack.enter_context(_users_recursion_budget())
        for i, call in enumerate(d.crashing_calls):
            try:
                call()
            except Exception:
                continue
            worked.append(i)
    return worked


def _placed(
    d: Session,
    op: Op,
    form: CallForm,
    points: tuple[Point, ...],
    constant: float,
    steps: tuple[Step, ...],
    watch: Watch,
) -> Op:
    """The op with its steps, the points to check it at (and its branches'), and notes."""
    chosen = points if form == "pow" else points_for(d, op, points, constant)
    if form != "pow":
        with_steps = dataclasses.replace(op, steps=steps)
        chosen = (*chosen, *branch_points(d, with_steps, chosen, constant))
    note = ""
    if not op.oracle:
        note = (
            "points found by a domain search"
            if chosen
            else ("no point in [-4.5, 4.5] where its forward is finite and smooth")
        )
    return dataclasses.replace(
        op,
        steps=steps,
        points=chosen,
        exponents=exponents(d, op) if form == "pow" else (),
        forward_helpers=forward_helpers(d, op, watch),
        delegates=delegates_of(d, op, watch),
        note=note,
        step_fault=step_fault(d, op, steps),
    )


def _settled(
    d: Session, ops: list[Op], foreign_codes: Codes, forward_codes: dict[str, list[str]]
) -> list[Op]:
    """Each op's own steps (a function several ops' steps call is none's) and the ops whose
    steps it uses; code no op owns becomes a backward helper."""
    release_aliases(d, ops, foreign_codes)
    release_lent_classes(ops, foreign_codes)
    claims = Counter(s.qualname for op in ops for s in op.steps if s.style == "method")
    shared = {q for q, n in claims.items() if n > 1}
    for i, op in enumerate(ops):
        mine = tuple(s for s in op.steps if s.qualname not in shared)
        moved = tuple((s.qualname, s.line) for s in op.steps if s.qualname in shared)
        ops[i] = dataclasses.replace(op, steps=mine)
        foreign_codes[op.name] = (*foreign_codes[op.name], *moved)
    owner = step_owners(ops, lambda s: s.qualname)
    final = []
    for op in ops:
        foreign = foreign_codes[op.name]
        uses = [owner[q] for q, _ in foreign if q in owner] + d.uses_elsewhere(op, ops)
        if op.composite:  # local derivatives run no code in backward: the forward shows the ops
            uses += [o.name for o in ops if o.steps and o.qualname in forward_codes[op.name]]
        final.append(
            dataclasses.replace(op, uses=tuple(dict.fromkeys(u for u in uses if u != op.name)))
        )
        for key in foreign:
            if key[0] not in owner:
                d.backward_helpers[key] = None
    return final


def _with_form(d: Session, op: Op) -> Op:
    """The op with the standard definition its forward computes (gelu: the exact form or the
    tanh approximation) as its parameter, which the oracle follows; said in a note.  A forward
    that matches none keeps the first: the battery's forward check then fails, a finding."""
    forms = catalogue.FORMS.get(op.oracle or "", ())
    if not forms or not op.points:
        return op
    forward = catalogue.KNOWN[op.oracle or ""].forward
    tolerance = max(1e-7, 64 * d.precision.macheps)  # forms differ by 1e-4 and more
    try:
        values = [(d.value_at(op, point, 2.0), point[0]) for point in op.points]
    except Exception:
        return op
    for form, label in enumerate(forms):
        if all(
            math.isclose(got, forward(x, float(form)), rel_tol=tolerance, abs_tol=tolerance)
            for got, x in values
        ):
            d.notes.append(f"{op.name}: its forward is {label}")
            return dataclasses.replace(op, parameter=float(form))
    return op
