"""Why your tests miss it: the weak habits behind survivors, read from what the tests did.

Once the survivors are known, each test that ran a survivor's code runs again
on the unmutated engine (TestsJudge.explain) while a profile hook watches
every call of an op's backward step and reads, from the
step's own frame, what it was given: the upstream gradient (`out.grad`), the
gradients of the nodes it adds to (`self.grad`, `other.grad`) and its operands.
A *habit* holds for a test and an op when it held in every call of that op's
step in that test.  A survivor is explained by a habit when every test that
ran its code showed the habit for its op, and the habit is the one its
operator needs to live:

* `chain` (a dropped `* out.grad`) lives when every upstream gradient is 1;
* `assign` (`=` for `+=`) lives when no step ever adds to a non-zero `.grad`;
* `swap` (operands exchanged) lives when both operands are equal;
* `offset` (a constant added) lives when no upstream gradient is ever 0;
* `stale` (a value read from the op's latest forward) lives when each step runs right
  after its op's only forward (the recorder counts the op's forward calls too);
* `unbroadcast` (a reduction skipped) lives when nothing is ever broadcast;
* `transpose` (a transpose dropped) lives when every matrix is square, and `.T` for
  `swapaxes(-1, -2)` when every operand is 2-D (no batch axis);
* every mutant lives when the test compares no gradient at all: it still passes, run once
  more, with the engine's backward() doing nothing (`backward_undone`).

Habits are rows: a habit is a name, what it means, its fix and the operator it
lets through (with words of the mutant's description where the habit hides only some of
that operator's mutants).
"""

from __future__ import annotations

import contextlib
import dataclasses
import sys
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from minigrad_tool.adapter.loader import engine_modules
from minigrad_tool.adapter.nodes import NodeAccess

__all__ = [
    "ANY_OP",
    "HABITS",
    "NO_GRADIENT",
    "Diagnosis",
    "Habit",
    "HabitWatch",
    "Spelling",
    "backward_undone",
    "diagnose",
    "record_habits",
]


@dataclass(frozen=True)
class Habit:
    """A weak habit of tests: what it is, the mutants it lets live, and the fix."""

    name: str
    operator: str  # the mutation operator whose mutants it lets through
    shows: str  # what the tests did, in words
    fix: str  # the one change that breaks it, written by a Spelling: `x.{grad}`, `out * {weight}`
    broken_by: str  # how a suggested test breaks it, for its docstring
    described: str = ""  # words of the mutant's description it needs ("": any of the operator's)

    def hides(self, operator: str, description: str) -> bool:
        """Could this habit be what lets a mutant of `operator` so described live?  ("" for
        the habit's operator: any mutant.)"""
        return self.operator in ("", operator) and self.described in description


@dataclass(frozen=True)
class Spelling:
    """How a habit's fix writes the engine: its name for a gradient (`gradient`), a number
    multiplying a node (`Value({})` where its `*` takes nodes only), and its name for the
    backward pass (`backwards`)."""

    grad: str = "grad"
    number: str = "{}"
    backward: str = "backward"

    def fix(self, habit: Habit) -> str:
        weight, zero = (self.number.format(n) for n in ("-1.7", "0"))
        return habit.fix.format(grad=self.grad, weight=weight, zero=zero, backward=self.backward)


# A habit shown by a test whatever the op (test -> "" -> habits, beside test -> op -> ...)
ANY_OP = ""
# The habit of a test that passes with backward() doing nothing: it compares no gradient
NO_GRADIENT = "no-gradient-checked"

HABITS: tuple[Habit, ...] = (
    Habit(
        NO_GRADIENT,
        "",
        "they pass with the engine's backward() doing nothing at all (each run once more so, "
        "on the unmutated engine): whatever gradient a step gives, no test compares it with "
        "anything",
        "after {backward}(), assert each input's .{grad} against its derivative (a central "
        "difference, (f(x + h) - f(x - h)) / (2 * h)), not only the output's .data",
        "it asserts the gradients backward() gives",
    ),
    Habit(
        "upstream-one",
        "chain",
        "every backward step they ran received an upstream gradient of 1 (backward() called "
        "straight on the op's output, or a .sum() loss, or ops that pass 1 along)",
        "multiply the output by a weight before {backward}(), e.g. (out * {weight}).{backward}(), "
        "and expect -1.7 times each gradient (for arrays, (out * w).sum().{backward}() with a "
        "random w of out's shape)",
        "its upstream gradient is not 1",
    ),
    Habit(
        "no-accumulation",
        "assign",
        "no step ever added to a .grad that was not zero (each node used once, nothing pre-seeded)",
        "use an input twice (x * x, or x * y + x), or set x.{grad} = 0.37 before {backward}() and "
        "expect 0.37 + the gradient",
        "gradients are added to ones that are not zero",
    ),
    Habit(
        "nonzero-upstream",
        "offset",
        "no backward step they ran received a zero upstream gradient, so a step that adds a "
        "small constant to its gradient passes every tolerance",
        "multiply the output by 0 before {backward}() and expect every gradient to be exactly 0 "
        "((out * {zero}).{backward}(); assert x.{grad} == 0)",
        "its upstream gradient is 0",
    ),
    Habit(
        "one-graph-at-a-time",
        "stale",
        "each backward step ran right after its op's only forward: no test built two nodes of "
        "an op, or a second graph, before calling backward()",
        "build a second graph at other inputs before {backward}() on the first (g1 = f(x); "
        "g2 = f(x2); g1.{backward}()) and expect the gradients g1 has alone, or use the op twice "
        "in one graph at different inputs (x * y + y * z)",
        "a second graph of the op is built before backward()",
    ),
    Habit(
        "no-broadcast",
        "unbroadcast",
        "every operand had its output's shape (no size-1 or missing axis was stretched), so a "
        "step that skips the reduction back to its input's shape changes nothing",
        "broadcast in a test: x of shape (3, 4) with y of shape (4,) or (3, 1) (for matmul, "
        "a batch against none: (2, 3, 4) @ (4, 5) and (3, 4) @ (2, 4, 5)), and compare the "
        "gradients with numerical derivatives",
        "its operands are broadcast",
    ),
    Habit(
        "square-shapes",
        "transpose",
        "every matrix operand was square, so a step that drops a transpose keeps its shapes "
        "(and, where they are symmetric, its values)",
        "use matrices that are not square, e.g. (2, 3) @ (3, 4), with random values",
        "its matrices are not square",
        described="dropped",
    ),
    Habit(
        "two-d-only",
        "transpose",
        "every operand was 2-D (no batch axis), so .T where swapaxes(-1, -2) is needed "
        "reverses the same two axes",
        "use a batched operand, e.g. (2, 3, 4) @ (4, 5), and compare with numerical derivatives",
        "its operands have a batch axis",
        described="becomes .T",
    ),
    Habit(
        "equal-operands",
        "swap",
        "both operands were equal in every call (x = y), so exchanging them changes nothing",
        "use distinct operand values, e.g. x = 1.3 and y = -0.7",
        "its operands differ",
    ),
)
_RECEIVERS = ("self", "other")
# The habits a step's frame shows (record_habits); NO_GRADIENT is measured by a run of its own
_WATCHED = tuple(h.name for h in HABITS if h.name != NO_GRADIENT)


def _floats(value: Any) -> Any:
    """A number as it is; an array (or a node holding one, DeZero's gradient) as a float
    array, when the engine has loaded numpy."""
    if isinstance(value, int | float):
        return float(value)
    if hasattr(value, "grad") and hasattr(value, "data"):
        value = value.data
    numpy = sys.modules.get("numpy")
    return numpy.asarray(value, dtype=float) if numpy is not None else float(value)


def _all(value: Any, target: float) -> bool | None:
    """Is `value` `target` everywhere?  None if it cannot be read."""
    if value is None:
        return target == 0.0  # no gradient yet: as good as zero
    try:
        floats = _floats(value)
    except (TypeError, ValueError):
        return None
    same = floats == target
    return bool(same.all() if hasattr(same, "all") else same)


def _equal(a: Any, b: Any) -> bool | None:
    try:
        x, y = _floats(a), _floats(b)
    except (TypeError, ValueError):
        return None
    if hasattr(x, "shape") and hasattr(y, "shape"):
        return bool(x.shape == y.shape and (x == y).all())
    return bool(x == y)


def _shape(node: Any) -> tuple[int, ...] | None:
    shape = getattr(getattr(node, "data", None), "shape", None)
    return tuple(shape) if isinstance(shape, tuple) else None


def _output_of(local: Mapping[str, Any], grad: str) -> Any:
    """The node a step's frame gives its gradient from: `out`, else the one node among its
    locals that is not a receiver (`output` in tardigrad 0.1.0's closures); None if unsure.
    `grad`: what the engine calls a node's gradient (HabitWatch.grad)."""
    if "out" in local:
        return local["out"]
    nodes = [
        v
        for name, v in local.items()
        if name not in _RECEIVERS and hasattr(v, grad) and hasattr(v, "data")
    ]
    return nodes[0] if len(nodes) == 1 else None


def _observe(
    local: Mapping[str, Any], flags: dict[str, bool], watch: HabitWatch, forwards: int
) -> None:
    """One call of a step: clear each habit its frame shows broken (or cannot show).  The
    nodes it adds to are its `self` and `other`, else the output's children (a step that
    unpacks `out._prev` only after it is called).  `forwards`: the op's forward calls since
    its step last ran."""
    grad = watch.grad
    out = _output_of(local, grad)
    upstream = getattr(out, grad, None) if out is not None else None
    flags["upstream-one"] &= out is not None and _all(upstream, 1.0) is True
    flags["nonzero-upstream"] &= out is not None and _all(upstream, 0.0) is False
    flags["one-graph-at-a-time"] &= forwards == 1
    receivers = [local[n] for n in _RECEIVERS if hasattr(local.get(n), grad)]
    if not receivers and out is not None:
        receivers = list(NodeAccess(type(out), watch.children).children(out))
    if not receivers:
        flags["no-accumulation"] = False
    for node in receivers:
        flags["no-accumulation"] &= _all(getattr(node, grad), 0.0) is True
    shapes = [_shape(node) for node in receivers]
    out_shape = _shape(out)
    flags["no-broadcast"] &= (
        out_shape is not None and bool(shapes) and all(s == out_shape for s in shapes)
    )
    flags["square-shapes"] &= bool(shapes) and all(
        s is not None and len(s) >= 2 and s[-1] == s[-2] for s in shapes
    )
    flags["two-d-only"] &= bool(shapes) and all(s is not None and len(s) <= 2 for s in shapes)
    if len(receivers) < 2:
        flags["equal-operands"] = False
    else:
        a, b = receivers
        same = a is b or _equal(getattr(a, "data", None), getattr(b, "data", None))
        flags["equal-operands"] &= same is True


# A function's code, wherever in the engine's files: (file, qualname, first line).
FileCode = tuple[str, str, int]


@dataclass(frozen=True)
class HabitWatch:
    """What the recorder watches: each step's code and each op's forward code, by op, in the
    engine's file or another file of its package (steps in a functions.py)."""

    steps: Mapping[FileCode, str]  # a step's code -> its op
    forwards: Mapping[FileCode, str] = field(default_factory=dict)  # an op's method -> the op
    children: str | None = None  # where the engine's nodes keep their children
    # the engine's file, its node class's qualified name and its backward's name, which
    # backward_undone makes do nothing; None: no such run
    backward: tuple[str, str, str] | None = None
    grad: str = "grad"  # what the engine calls a node's gradient (Profile.grad_name)

    @property
    def files(self) -> frozenset[str]:
        return frozenset(f for f, _, _ in [*self.steps, *self.forwards])

    def to_json(self) -> dict[str, Any]:
        def rows(codes: Mapping[FileCode, str]) -> list[list[Any]]:
            return [[*code, op] for code, op in codes.items()]

        return {
            "steps": rows(self.steps),
            "forwards": rows(self.forwards),
            "children": self.children,
            "backward": self.backward,
            "grad": self.grad,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> HabitWatch:
        def codes(rows: list[list[Any]]) -> dict[FileCode, str]:
            return {(file, qualname, line): op for file, qualname, line, op in rows}

        backward = data.get("backward")
        return cls(
            codes(data["steps"]),
            codes(data["forwards"]),
            data["children"],
            (backward[0], backward[1], backward[2]) if backward else None,
            data.get("grad", "grad"),
        )


@contextlib.contextmanager
def backward_undone(backward: tuple[str, str, str]) -> Iterator[list[int]]:
    """While the block runs, the engine's backward() does nothing: on its node class (file,
    qualified name, method name; each such class of a module loaded from that file).  The list
    yielded counts its calls: a test that passes so, having called it, compares no gradient."""
    file, qualname, name = backward
    calls = [0]

    def nothing(self: Any, *args: Any, **kwargs: Any) -> None:
        calls[0] += 1

    classes: list[tuple[type, Any]] = []
    for module in engine_modules(Path(file)):
        found: Any = module
        for part in qualname.split("."):
            found = getattr(found, part, None)
        if isinstance(found, type) and all(found is not c for c, _ in classes):
            classes.append((found, found.__dict__.get(name, _ABSENT)))
    for cls, _ in classes:
        setattr(cls, name, nothing)
    try:
        yield calls
    finally:
        for cls, old in classes:
            if old is _ABSENT:
                delattr(cls, name)
            else:
                setattr(cls, name, old)


_ABSENT = object()  # a class that inherits its backward(): nothing of its own to put back


@contextlib.contextmanager
def record_habits(watch: HabitWatch) -> Iterator[dict[str, Any]]:
    """While the block runs, watch the steps' calls; the habits each op showed in every call
    are in the yielded mapping's "habits" when the block ends: {op: [habit, ...]}."""
    seen: dict[str, dict[str, bool]] = {}
    forwards: dict[str, int] = {}  # an op's forward calls since its step last ran
    # Another hook (a coverage tool's) keeps its events.  A profiler written in C (cProfile)
    # shows as an object that cannot be called: it cannot be chained, and stops meanwhile.
    previous: Any = sys.getprofile()
    previous = previous if callable(previous) else None
    files = watch.files

    def hook(frame: Any, event: str, arg: Any) -> None:
        if event == "call" and frame.f_code.co_filename in files:
            code = frame.f_code
            key = (code.co_filename, code.co_qualname, code.co_firstlineno)
            forward = watch.forwards.get(key)
            if forward is not None:
                forwards[forward] = forwards.get(forward, 0) + 1
            op = watch.steps.get(key)
            if op is not None:
                flags = seen.setdefault(op, dict.fromkeys(_WATCHED, True))
                try:
                    _observe(frame.f_locals, flags, watch, forwards.get(op, 0))
                except Exception:  # an engine object that will not be read: no claim
                    flags.update(dict.fromkeys(flags, False))
                forwards[op] = 0
        if previous is not None:
            previous(frame, event, arg)

    found: dict[str, Any] = {"habits": {}}
    sys.setprofile(hook)
    try:
        yield found
    finally:
        if sys.getprofile() is hook:
            sys.setprofile(previous)
        found["habits"] = {op: sorted(n for n, held in f.items() if held) for op, f in seen.items()}


@dataclass(frozen=True)
class Diagnosis:
    """A habit that explains survivors: the survivors, and the tests that show it."""

    habit: Habit
    survivors: tuple[str, ...]
    tests: tuple[str, ...]

    def to_json(self) -> dict[str, Any]:
        return {
            "habit": self.habit.name,
            "shows": self.habit.shows,
            "fix": self.habit.fix,
            "survivors": list(self.survivors),
            "tests": list(self.tests),
        }


def diagnose(
    survivors: Sequence[tuple[str, str, str, str, Sequence[str]]],
    habits: Mapping[str, Mapping[str, Sequence[str]]],
    spelling: Spelling = Spelling(),
) -> tuple[list[Diagnosis], list[str]]:
    """Survivors as (id, op, operator, description, tests that ran its code); habits: test ->
    op -> habit names it showed.  The habits that explain survivors, and the survivors none
    explains, their fixes in the engine's spelling."""
    explained: dict[str, tuple[list[str], set[str]]] = {}
    unexplained: list[str] = []

    def held(habit: Habit, op: str, tests: Sequence[str]) -> bool:
        return bool(tests) and all(
            habit.name in (*habits.get(t, {}).get(op, ()), *habits.get(t, {}).get(ANY_OP, ()))
            for t in tests
        )

    for mutant, op, operator, description, tests in survivors:
        habit = next(
            (h for h in HABITS if h.hides(operator, description) and held(h, op, tests)), None
        )
        if habit is not None:
            ids, shown = explained.setdefault(habit.name, ([], set()))
            ids.append(mutant)
            shown.update(tests)
        else:
            unexplained.append(mutant)
    found = [
        Diagnosis(
            dataclasses.replace(h, fix=spelling.fix(h)),
            tuple(explained[h.name][0]),
            tuple(sorted(explained[h.name][1])),
        )
        for h in HABITS
        if h.name in explained
    ]
    return found, unexplained
