"""What the adapter found in an engine, as plain data that crosses process boundaries.

A child process discovers the profile (running engine code); the parent reads
it as JSON and builds the battery, the probes and the mutants from it without
ever importing the engine.
"""

from __future__ import annotations

import dataclasses
import functools
import importlib
import json
import operator
from collections import Counter
from collections.abc import Callable, Hashable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, NamedTuple, TypeVar

from minigrad_tool import ops as catalogue
from minigrad_tool.adapter.nodes import LEAF_LABEL
from minigrad_tool.adapter.spec import file_name
from minigrad_tool.findings import Finding, blame_constituents, blame_raisers

__all__ = [
    "COMPILED",
    "TAKES_ARGUMENTS",
    "CallForm",
    "Op",
    "Precision",
    "Profile",
    "ReuseWalk",
    "Step",
    "StepStyle",
    "Sweep",
    "apply_op",
    "binary_add",
    "bound",
    "call_text",
    "method_text",
    "resolve_function",
    "step_owners",
]

Point = tuple[float, ...]
# How an op is called: `a + b`, `a + 2.0`, `2.0 + a`, `a ** 2`, `-a`, `a.sigmoid()`, `a[i]`.
CallForm = Literal["binary", "reflected", "pow", "unary", "method", "index"]
# What a profile describes: one number per node, or an array per node.
EngineKind = Literal["scalar", "tensor"]
StepStyle = Literal["closure", "lambda", "method", "function-class", "local-grads"]
_HOLDS_ARRAYS: dict[EngineKind, bool] = {"scalar": False, "tensor": True}

_SYMBOLS: dict[str, Callable[[Any, Any], Any]] = {
    "+": operator.add,
    "-": operator.sub,
    "*": operator.mul,
    "/": operator.truediv,
    "**": operator.pow,
    "@": operator.matmul,
    "//": operator.floordiv,
    "%": operator.mod,
}
_UNARY: dict[str, Callable[[Any], Any]] = {"-": operator.neg, "+": operator.pos, "abs": abs}


@dataclass(frozen=True)
class Step:
    """One backward step an op attaches to its output, and where its code is."""

    style: StepStyle
    qualname: str  # the step's function (closure, lambda, method); for local-grads, the op method
    line: int  # where the step starts: its `def`/`lambda`, or its local-derivative tuple
    col: int  # column of that node (0-based, UTF-8 bytes as in the AST)
    attribute: str  # the output node's attribute that holds it ("_backward", "_local_grads")
    # The file the step is in, when it is another file of the engine's package than the
    # engine's own (DeZero's functions.py, an ops.py of closures); "" for the engine's file.
    file: str = ""


K = TypeVar("K", bound=Hashable)


def step_owners(ops: Iterable[Op], key: Callable[[Step], K | None]) -> dict[K, str]:
    """Each step's op, by `key` (None leaves the step out): of the ops that share one
    (`__radd__ = __add__`), the first found, the operator before its alias, as its mutants
    are named: an op built from it reads "built from add", and its habits are add's."""
    owner: dict[K, str] = {}
    for op in ops:
        for step in op.steps:
            k = key(step)
            if k is not None:
                owner.setdefault(k, op.name)
    return owner


# Why discovery does not call a method of the node class that needs arguments (`x.hypot(y)`):
# it cannot know what to pass.
TAKES_ARGUMENTS = "takes arguments besides self: not called"

# Why an op of compiled code (a C extension's method) has no step minigrad can mutate.
COMPILED = (
    "compiled code (a C extension's): minigrad mutates Python code only; `minigrad gradcheck` "
    "checks compiled ops as black boxes, by their values and gradients"
)


@dataclass(frozen=True)
class Op:
    """An op of the engine: how to call it, where it is, its backward steps, where to check it."""

    name: str  # unique: "add", "relu", "gamma_actual"; used in case names and mutant IDs
    method: str  # the attribute it is reached through: "__add__", "reLU"
    call: CallForm
    symbol: str  # operator symbol for dunders ("+", "abs"); "" for methods
    oracle: str | None  # key of the forward oracle in minigrad_tool.ops, or None
    parameter: float | None  # the default of a one-parameter op (leaky_relu's slope)
    qualname: str  # where the method is defined
    line: int
    steps: tuple[Step, ...]  # its own backward steps; () when built from other ops
    uses: tuple[str, ...]  # ops whose backward steps ran for it (composites)
    points: tuple[Point, ...]  # where to check it
    exponents: tuple[float, ...] = ()  # for pow: the exponents it accepts
    forward_helpers: tuple[str, ...] = ()  # Function-style `forward` code it runs
    # Functions of other files of the package the op's method hands its work to (`ops.exp`,
    # DeZero's `functions.sum`): (file, qualname, first line).  Their steps are the op's.
    delegates: tuple[tuple[str, str, int], ...] = ()
    # The file its method is defined in when that is another file of the package (DeZero's
    # `Variable.__getitem__ = functions.get_item`); "" for the engine's file.
    file: str = ""
    # An op that is a function of one of the engine's modules, not a method (`F.sum(x)`,
    # `ops.exp(x)`): "module:name"; it is called with the node first.  "" for a method.
    function: str = ""
    compiled: bool = False  # compiled code (a C extension's): a black box (COMPILED)
    # Where its method keeps its step wrong, read from its source (adapter.steps.step_fault):
    # ("input", line, `self._backward = _backward`, the statement that would store it on the
    # returned node), ("unattached", line, the step's name, the returned node's name) or
    # ("attribute", line, `out._backwards = _backward`, the attribute it is stored in).
    step_fault: tuple[str, int, str, str] | None = None

    @property
    def spelled(self) -> str:
        """How its call is written after the node: `.sum` for a method; for a module function,
        the function's dotted path (`clumsygrad.math.sum`), which takes the node first."""
        module, _, name = self.function.partition(":")
        return f"{module}.{name}" if self.function else f".{self.method}"

    note: str = ""
    # Tensor ops: the engine's spelling of each keyword (reductions: axis, then keepdims;
    # "" where it has none), or how a shape is passed (reshape, transpose: "tuple", "args").
    keywords: tuple[str, ...] = ()
    keepdims_default: bool = False  # what a reduction does without keepdims (some keep them)

    @property
    def arity(self) -> int:
        return 2 if self.call == "binary" else 1

    @property
    def kink(self) -> catalogue.Kink | None:
        known = catalogue.KNOWN.get(self.oracle or "")
        return known.kink if known else None

    @property
    def composite(self) -> bool:
        return not self.steps

    def describe_call(self, names: Sequence[str] = ("x", "y"), constant: str = "2.0") -> str:
        """Source text of a call: `x + y`, `2.0 - x`, `x ** 2`, `abs(x)`, `x.sigmoid()`."""
        x = names[0]
        if self.call == "binary" and not self.symbol:  # `x.add(y)`, `F.matmul(x, y)`
            return call_text(self, x, [names[1]])
        if self.call == "binary":
            return f"{x} {self.symbol} {names[1]}"
        if self.call == "reflected":
            return f"{constant} {self.symbol} {x}"
        if self.call == "pow":
            return f"{x} ** {constant}"
        if self.call == "unary":
            return f"abs({x})" if self.symbol == "abs" else f"{self.symbol}{x}"
        if self.call == "index":
            return f"{x}[i]"
        shown: list[str] = []
        if self.keywords in (("tuple",), ("args",)):  # a tensor op taking a shape
            shown = ["(...)" if self.keywords[0] == "tuple" else "..."]
        elif self.keywords:  # a tensor reduction, in the engine's spelling
            axis, keep = (*self.keywords, "")[:2]
            shown = [{"": "", "*": "axis"}.get(axis, f"{axis}=..."), f"{keep}=..." if keep else ""]
        return call_text(self, x, [t for t in shown if t])


def method_text(class_name: str, method: str) -> str:
    """A method as said, `Value.tanh`; a function of the engine's module is named by its
    module already (`engine.tanh`, candidates.Candidate.label)."""
    return method if "." in method else f"{class_name}.{method}"


def call_text(op: Op, node: str, arguments: Sequence[str]) -> str:
    """Source of a call of a method op, `x.sum(axis=1)`, or of a function op,
    `clumsygrad.math.sum(x, axis=1)`."""
    if op.function:
        return f"{op.spelled}({', '.join([node, *arguments])})"
    return f"{node}.{op.method}({', '.join(arguments)})"


def bound(op: Op, node: Any) -> Callable[..., Any]:
    """The op's method bound to `node`, or its module function with `node` first: call it
    with the rest of the arguments.  Runs in a child, where the engine is imported.  The
    oracle's stand-in for a node (battery.oracle.Ref, which says so) answers every op as a
    method: plain math, never the engine's function."""
    if not op.function or getattr(type(node), "STANDS_FOR_A_NODE", False):
        return getattr(node, op.method)  # type: ignore[no-any-return]
    return functools.partial(resolve_function(op.function), node)


def resolve_function(where: str) -> Callable[..., Any]:
    """The function "module:name" names (Op.function), or "module:Class.name", a static
    method.  Runs in a child, where the engine is imported."""
    module, _, name = where.partition(":")
    found: Any = importlib.import_module(module)
    for part in name.split("."):
        found = getattr(found, part)
    return found  # type: ignore[no-any-return]


def binary_add(ops: Sequence[Op]) -> Op | None:
    """The engine's `x + y` of two nodes, which backward()'s walk is measured with (and
    --suggest writes the walk's test with): None where it has none."""
    return next((op for op in ops if op.name == "add" and op.call == "binary"), None)


def apply_op(op: Op, args: Sequence[Any], constant: float = 2.0) -> Any:
    """Call `op` the way user code does: through Python's operators, or the method."""
    if op.call == "binary" and not op.symbol:  # `x.add(y)`, `F.matmul(x, y)`
        return bound(op, args[0])(args[1])
    if op.call == "binary":
        return _SYMBOLS[op.symbol](args[0], args[1])
    if op.call == "reflected":
        return _SYMBOLS[op.symbol](constant, args[0])
    if op.call == "pow":
        return args[0] ** constant
    if op.call == "unary":
        return _UNARY[op.symbol](args[0])
    return bound(op, args[0])()


class ReuseWalk(NamedTuple):
    """backward() walks a node that two others use wrongly (adapter.traversal, measured with
    the engine's add on w = x + 2, used by w + 3 and ((w + 4) + 5) + 6)."""

    kind: Literal["repeats", "early"]  # w's step runs once per path; or before both users gave
    input_grad: float  # what x got (2 is right)
    runs: int  # how often w's step ran
    at_step: float  # w's gradient as its step first ran (2 is right)
    # the ops built from others whose own graph reuses a node (adapter.traversal._sharing)
    sharing: tuple[str, ...] = ()
    graph: str = ""  # the graph it was measured on, as said (adapter.traversal._GRAPHS)
    order: int = 0  # the graph order it went wrong in (0: insertion order, every run's)


def _reuse_walk(data: list[Any] | None) -> ReuseWalk | None:
    """A ReuseWalk from its JSON (a list), or None."""
    if not data:
        return None
    kind, input_grad, runs, at_step, sharing, graph, order = data
    return ReuseWalk(kind, input_grad, runs, at_step, tuple(sharing), graph, order)


@dataclass(frozen=True)
class Precision:
    """The float width an engine computes in, measured, and what follows from it."""

    bits: int  # mantissa bits: 52 for float64, 23 for float32
    how: str = "measured"

    @property
    def macheps(self) -> float:
        return 2.0**-self.bits

    @property
    def name(self) -> str:
        return {52: "float64", 23: "float32", 10: "float16"}.get(self.bits, f"{self.bits}-bit")

    def describe(self) -> str:
        return f"{self.name} (machine epsilon {self.macheps:.3g}, {self.how})"


FLOAT64 = Precision(52, "assumed")


@dataclass(frozen=True)
class Sweep:
    """The engine's `backward()`: its method and the helpers it runs for every node."""

    qualname: str  # "" when backward() itself is in another file of the package
    line: int
    helpers: tuple[tuple[str, int], ...] = ()  # (qualname, first line) of helper code
    # Its code in other files of the package (jungrad's autograd.backward, a base class's
    # backward()): (file, qualname, first line), mutated there.
    elsewhere: tuple[tuple[str, str, int], ...] = ()
    # backward() ran once in the pass of x + 2 (measured, Session.backward_runs_once): what it
    # adds to its own node's gradient is the seed, added once; False where it runs again for
    # the nodes below (a recursive pass: TinyTorch's, gradzero's) or where it cannot tell
    once: bool = False


@dataclass(frozen=True)
class Profile:
    """Everything minigrad found in an engine."""

    spec: str
    module: str
    path: str
    class_name: str
    class_qualname: str
    class_line: int
    children_attr: str | None
    precision: Precision
    ops: tuple[Op, ...]
    sweep: Sweep | None
    skipped: tuple[tuple[str, str], ...] = ()  # (method, why it is not an op)
    # Functions holding a backward step that nothing minigrad runs calls (a method taking an
    # argument, a binary function of the module): (method or `module.function`, why); their
    # steps get mutants, judged by the tests that call them (mutation.sites)
    uncalled: tuple[tuple[str, str], ...] = ()
    unreachable: tuple[tuple[str, str], ...] = ()  # (op, why its step cannot be mutated)
    notes: tuple[str, ...] = field(default_factory=tuple)
    broken: tuple[tuple[str, str], ...] = ()  # (method, how it crashed): ops that are bugs
    # (method, the engine function its crash was raised in: faults.raised_in)
    broken_in: tuple[tuple[str, str], ...] = ()
    data_attr: str = "data"  # where a node keeps its number (`.val` in some engines)
    kind: EngineKind = "scalar"
    # Functions several ops' backward steps call (a tensor engine's `unbroadcast`): each is
    # one site of its own, (qualname, first line).
    helpers: tuple[tuple[str, int], ...] = ()
    # The nested functions of the engine's files that it keeps as objects (adapter.live):
    # TinyTorch's backward(), which `enable_autograd()` defines and sets on the class, is the
    # unit of a mutant of its code, not enable_autograd (mutation.sites).  (file, "" for the
    # engine's own; qualname; first line)
    live_nested: tuple[tuple[str, str, int], ...] = ()
    grad_is_node: bool = False  # a tensor engine keeping a node in .grad (DeZero)
    grad_writable: bool = True  # False: `.grad` is a read-only property (reset by a method)
    # A fresh leaf's `.grad` is None (PyTorch's "no gradient"): a node no gradient reaches keeps
    # it, which reads as 0, and the tests minigrad writes accept it where they expect 0
    grad_starts_none: bool = False
    # False: backward() sets gradients, it does not add to an earlier backward's: the measured
    # convention of an engine with a read-only `.grad` (mygrad); else gradients must accumulate
    grad_accumulates: bool = True
    # backward() sets every gradient it reaches to zero before the pass (measured on the
    # unmutated engine, adapter.nodes.backward_resets): then it owns them, and they do not add up
    backward_resets: bool = False
    # False: backward() does not set the gradient of the node it is called on to 1 before the
    # pass, so every gradient it gives is 0 (measured, adapter.nodes.backward_seeds)
    backward_seeds: bool = True
    # False: backward() runs a node's step before the nodes that use it gave it its gradient
    # (its topological order, not reversed), measured with add (Session.backward_in_order)
    backward_in_order: bool = True
    # False: backward() runs only the step of the node it is called on, never one below it
    # (adapter.traversal.walks_past_the_output): not out of order, no walk at all
    backward_walks: bool = True
    # backward() walks a node two others use wrongly (adapter.traversal): None where it is
    # right, or it cannot tell
    backward_reuse: ReuseWalk | None = None
    # what the engine calls its backward pass (`backwards`: aliased as backward in minigrad's
    # processes, adapter.nodes.alias_backward); the tests minigrad writes call it so
    backward_name: str = "backward"
    # what the engine calls a node's gradient (`gradient`: read and written as .grad in
    # minigrad's processes, adapter.nodes.alias_grad); the tests minigrad writes read it so
    grad_name: str = "grad"
    # the binary operators that take nodes only, whose number operand minigrad makes a leaf of
    # in its processes (`__add__`: adapter.nodes.coerce_numbers); the tests it writes do too
    coerced: tuple[str, ...] = ()
    # of those, the operators the engine's own code calls with a number (`-x` as `self * -1`,
    # which crashes: its bug): minigrad makes leaves of its own number operands only there
    coerced_for_minigrad: tuple[str, ...] = ()
    # Constructor switches a leaf is made with, set to True (`requires_grad`): written tests too
    leaf_keywords: tuple[str, ...] = ()
    leaf_label: bool = False  # the constructor takes a label first: `Node("x", value)`
    leaf_factory: str = ""  # what makes leaves where the constructor cannot: `tensor`
    # Enum switches a leaf is made with: (keyword, `Enum.MEMBER` as source, the enum's module)
    leaf_enums: tuple[tuple[str, str, str], ...] = ()
    second_order: bool = False  # backward() takes create_graph: gradients can be differentiated
    min_rank: int = 0  # the fewest dimensions the engine keeps an array in (fygrad: 2)

    @property
    def step_files(self) -> tuple[str, ...]:
        """Other files of the package that hold steps or forwards of its ops, sorted."""
        found = {s.file for op in self.ops for s in op.steps if s.file}
        found |= {file for op in self.ops for file, _, _ in op.delegates}
        found |= {op.file for op in self.ops if op.file}
        found |= {file for file, _, _ in (self.sweep.elsewhere if self.sweep else ())}
        return tuple(sorted(found))

    def attributed(self, findings: Sequence[Finding]) -> list[Finding]:
        """The findings, each also calling the ops whose code raised its exception
        (findings.blame_raisers) and, for an op built from others, those
        (findings.blame_constituents): a wrong one of them may be all that is wrong."""
        methods: dict[str, set[str]] = {}
        for op in self.ops:
            if op.qualname and not op.compiled:
                methods.setdefault(op.qualname, set()).add(op.name)
        uses = {op.name: op.uses for op in self.ops if op.uses}
        return blame_constituents(blame_raisers(findings, methods), uses)

    def op(self, name: str) -> Op:
        for op in self.ops:
            if op.name == name:
                return op
        raise KeyError(name)

    @property
    def holds_arrays(self) -> bool:
        """Its nodes hold numpy arrays: the tensor battery, probes and operators apply."""
        return _HOLDS_ARRAYS[self.kind]

    @property
    def tuned_by_flags(self) -> bool:
        """--fast, --eps, --atol, --rtol and --any-subgradient apply (the scalar checker's
        settings); the tensor battery picks its own from the measured precision."""
        return not self.holds_arrays

    @property
    def names(self) -> frozenset[str]:
        """Every op name, plus the oracle names they answer to (`reLU` answers to relu)."""
        return frozenset(n for op in self.ops for n in (op.name, op.oracle) if n)

    @property
    def runs_compiled_code(self) -> bool:
        """Is any op compiled (a C or Rust extension's), whose crash may corrupt what the
        process reads next?"""
        return any(op.compiled for op in self.ops)

    def method_for(self, name: str) -> str | None:
        """The engine's method for a named op (`relu` -> "reLU"), or None."""
        for op in self.ops:
            if op.call == "method" and name in (op.name, op.oracle):
                return op.method
        return None

    def place(self, op: Op) -> str:
        """`Value.__mul__ (engine.py:52)`; `jungrad.ops.max (ops.py:610)` for a function op;
        with where its step is when that is another file (`functions.py:36`)."""
        name = op.spelled.lstrip(".") if op.function else f"{self.class_name}.{op.method}"
        elsewhere = [  # "" is the engine's file, for the op and for each step
            self.where(s.file, s.line)
            for s in op.steps
            if (s.file or self.path) != (op.file or self.path)
        ]
        step = f"; its step: {', '.join(elsewhere)}" if elsewhere else ""
        return f"{name} ({self.op_where(op)}{step})"

    @property
    def backward_zeroes_every_op(self) -> bool:
        """backward() itself gives 0 for every gradient past the output's, whatever op the
        steps are of: it does not start from gradient 1, or runs the steps inputs first."""
        return not (self.backward_seeds and self.backward_in_order)

    def backward_functions(self) -> tuple[str, ...]:
        """The qualified names of backward()'s own code: its method, wherever it is (the
        functions nested in it are its own too).  Not its helpers: code the ops' steps share
        (a function that sums a broadcast gradient back) is a helper as well."""
        sweep = self.sweep
        if sweep is None:
            return ()
        return tuple(n for n in [sweep.qualname, *(q for _, q, _ in sweep.elsewhere)] if n)

    def backward_where(self) -> tuple[str, int | None]:
        """Where backward() is, as a finding names it: "Value.backward (engine.py:78)", and
        its line in the engine's file (None where it is in another)."""
        sweep = self.sweep
        if sweep is None or not sweep.qualname:
            return f"{self.class_name}.{self.backward_name}()", None
        return f"{sweep.qualname} ({self.where('', sweep.line)})", sweep.line

    def op_where(self, op: Op) -> str:
        """`engine.py:52`, `functions.py:36`, or `compiled` for an op with no line to point at."""
        return "compiled" if op.compiled else self.where(op.file, op.line)

    def step_cause(self, op: Op) -> str:
        """Why op's cases fail when its method keeps its step wrong (Op.step_fault): read
        from its source, said beside what the checks measured."""
        if op.step_fault is None:
            return ""
        kind, line, text, fix = op.step_fault
        where = self.where(op.file, line)
        if kind == "input":
            instead = f" ({fix})" if fix else ""
            return (
                f"{op.qualname} stores its backward step on its input, not on the node it "
                f"returns ({where}: {text}): backward() runs it only on reaching that input, "
                "and the next op on the same input replaces it, so an input used twice, or by "
                f"two ops, gets a wrong gradient; store it on the result{instead}"
            )
        attributes = Counter(s.attribute for o in self.ops for s in o.steps if s.attribute != "?")
        usual = attributes.most_common(1)[0][0] if attributes else ""
        if kind == "called":
            return (
                f"{op.qualname} stores what its backward step returns, not the step ({where}: "
                f"{text}): the step ran once, as the op's forward ran (its output's gradient "
                "still 0), and backward() finds None where it calls it; store the function "
                f"itself ({fix})"
            )
        if kind == "attribute":
            called = f", where the other ops store theirs in .{usual}" if usual != fix else ""
            return (
                f"{op.qualname} stores its backward step in .{fix} ({where}: {text}){called}: "
                "backward() never runs it, so the op passes no gradient to its inputs"
            )
        store = f" ({fix}.{usual} = {text}, as the other ops do)" if fix and usual else ""
        return (
            f"{op.qualname} defines its backward step, {text} ({where}), but never stores it "
            "on the node it returns, so backward() never runs it and the op passes no "
            f"gradient to its inputs; store it{store}"
        )

    def where(self, file: str, line: int) -> str:
        """`engine.py:52`, `functions.py:36`: a line of the engine's file ("") or another."""
        return f"{file_name(file or self.path, self.path)}:{line}"

    def leaf_call(self, value: str) -> str:
        """Source that makes a leaf of `value`: `Tensor(value, requires_grad=True)`."""
        switches = "".join(f", {name}=True" for name in self.leaf_keywords)
        switches += "".join(f", {name}={member}" for name, member, _ in self.leaf_enums)
        label = f"{LEAF_LABEL!r}, " if self.leaf_label else ""
        return f"{self.leaf_factory or self.class_name}({label}{value}{switches})"

    def to_json(self) -> str:
        return json.dumps(dataclasses.asdict(self))

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Profile:
        ops = tuple(
            Op(
                **{
                    **o,
                    "steps": tuple(Step(**s) for s in o["steps"]),
                    "uses": tuple(o["uses"]),
                    "points": tuple(tuple(p) for p in o["points"]),
                    "exponents": tuple(o["exponents"]),
                    "forward_helpers": tuple(o["forward_helpers"]),
                    "delegates": tuple(map(tuple, o.get("delegates", ()))),
                    "keywords": tuple(o.get("keywords", ())),
                    "step_fault": tuple(o["step_fault"]) if o.get("step_fault") else None,
                }
            )
            for o in data["ops"]
        )
        sweep = data["sweep"]
        return cls(
            **{
                **data,
                "precision": Precision(**data["precision"]),
                "ops": ops,
                "sweep": None
                if sweep is None
                else Sweep(
                    sweep["qualname"],
                    sweep["line"],
                    tuple(map(tuple, sweep["helpers"])),
                    tuple(map(tuple, sweep.get("elsewhere", ()))),
                    sweep.get("once", False),
                ),
                "skipped": tuple(map(tuple, data["skipped"])),
                "uncalled": tuple(map(tuple, data.get("uncalled", ()))),
                "unreachable": tuple(map(tuple, data["unreachable"])),
                "notes": tuple(data["notes"]),
                "broken": tuple(map(tuple, data.get("broken", ()))),
                "broken_in": tuple(map(tuple, data.get("broken_in", ()))),
                "helpers": tuple(map(tuple, data.get("helpers", ()))),
                "live_nested": tuple(map(tuple, data.get("live_nested", ()))),
                "leaf_keywords": tuple(data.get("leaf_keywords", ())),
                "leaf_enums": tuple(map(tuple, data.get("leaf_enums", ()))),
                "backward_reuse": _reuse_walk(data.get("backward_reuse")),
            }
        )
