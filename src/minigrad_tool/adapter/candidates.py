"""Which methods of the node class are ops, and the ways to call each.

Every method is a candidate unless its name says it is no op or might do
something other than compute (write, plot, train); arithmetic dunders are
called with their operator, other methods as `x.m()`.  A call that crashes in
the engine's own code (not a deliberate `raise`) is a broken op.
"""

from __future__ import annotations

import inspect
import traceback
from dataclasses import dataclass
from pathlib import Path
from types import CodeType, FunctionType

from minigrad_tool import ops as catalogue
from minigrad_tool.adapter.classes import function_of
from minigrad_tool.adapter.functions import (
    beside_lone_module,
    exported_place,
    import_op_modules,
    package_modules,
)
from minigrad_tool.adapter.native import is_compiled
from minigrad_tool.adapter.nodes import BACKWARD_ALIASES, GRAD_RESETS, takes_no_arguments
from minigrad_tool.adapter.profile import TAKES_ARGUMENTS, CallForm, Op
from minigrad_tool.adapter.session import Point, Session

__all__ = ["Candidate", "candidates", "crash_in_engine", "forms", "is_an_op", "op_for"]

# Methods that are never ops, or that might do something other than compute
# (write a file, plot, train): they are not called.
_NOT_OPS = {
    "backward",
    *BACKWARD_ALIASES,  # backwards(): the backward pass, aliased (nodes.alias_backward)
    *GRAD_RESETS,  # zero_grad(), null_grad(), ...
    "item",
    "tolist",
    "numpy",
    "detach",
    "named",
    "copy",
    "clone",
}
_NOT_OP_PREFIXES = (
    "draw",
    "plot",
    "show",
    "save",
    "print",
    "visual",
    "render",
    "display",
    "dump",
    "export",
    "write",
    "train",
    "fit",
    "build",
    "topo",
    "_topo",
)
_REFLECTED = ("radd", "rsub", "rmul", "rdiv", "rpow")


@dataclass
class Candidate:
    """A method of the node class that may be an op, and how it is called."""

    name: str
    function: FunctionType | None  # None: compiled code (a C extension's), a black box
    form: CallForm | None  # None: a method, to be tried as one
    op: str
    symbol: str
    # A function of the engine's module taking the node (`tanh(x)` where the class has no
    # `tanh`): "module:name", which the op is called through; "" for a method.
    where: str = ""
    # Does its code name the node class (`Value(t, (x,))`)?  One that does not may be a
    # function of numbers (`log(v)`): its crash on a node is no bug of the engine.
    of_nodes: bool = True
    # Said nowhere if a call fails: a function of numbers in another file of the package
    # (kaitorch's `functional.sigmoid`, which its `Scalar`'s steps call), not the engine's.
    quiet: bool = False

    @property
    def label(self) -> str:
        """How the candidate is named where it is said: `tanh`, or `engine.tanh`."""
        return self.where.replace(":", ".") if self.where else self.name


def _never_called(name: str) -> bool:
    """Not an op by its name, or possibly harmful to call (it might write or plot).

    Names with `__mutmut_` are the mutant copies mutmut adds to a class it mutates.
    """
    return name in _NOT_OPS or name.lower().startswith(_NOT_OP_PREFIXES) or "__mutmut_" in name


def _numeric_default(function: FunctionType) -> float | None:
    for p in list(inspect.signature(function).parameters.values())[1:]:
        if isinstance(p.default, int | float) and not isinstance(p.default, bool):
            return float(p.default)
    return None


# Exceptions that mean the engine's own code is wrong, not that the call is unsupported:
# a name it never defined, an attribute it never set, an operand type it cannot handle.
# A RecursionError is one too: an op that calls itself without end (`__rsub__` as `next -
# self`), at the budget of frames a user's program has (discovery._users_recursion_budget).
_PROGRAMMING_ERRORS = (NameError, AttributeError, TypeError, KeyError, IndexError, RecursionError)


def crash_in_engine(err: Exception, filename: str, op: Op, point: Point) -> str:
    """Why this call crashed in the engine's code, if it did: a programming error raised by a
    line of the engine's file that is not a deliberate `raise` (an engine may refuse a call on
    purpose).  Python's own "unsupported operand" before any engine code runs is no crash."""
    if not isinstance(err, _PROGRAMMING_ERRORS):
        return ""
    frames = [f for f in traceback.extract_tb(err.__traceback__) if f.filename == filename]
    if not frames:
        return ""
    if isinstance(err, RecursionError):  # raised on entering a frame: its caller's line recursed
        frames = [f for f in frames if not (f.line or "").lstrip().startswith("def ")] or frames
    last = frames[-1]
    if (last.line or "").lstrip().startswith("raise"):
        return ""
    call = op.describe_call()
    at = ", ".join(f"{n}={v!r}" for n, v in zip(("x", "y", "z"), point, strict=False))
    return (
        f"{call} at {at} raised {type(err).__name__}: {err} "
        f"({Path(filename).name}:{last.lineno}: {(last.line or '').strip()})"
    )


def is_an_op(c: Candidate) -> bool:
    """An arithmetic dunder or a method named like an op minigrad knows (a function of the
    module, if its code makes nodes): a crash is a bug."""
    if c.where and not c.of_nodes:
        return False
    return c.form is not None or catalogue.canonical(c.name) is not None


def candidates(session: Session) -> list[Candidate]:
    attrs: dict[str, object] = {}
    for klass in reversed(session.cls.__mro__):
        # float's or list's methods are no ops; the engine's own class is looked at even when
        # a C extension left its module unnamed ("builtins": minigrad 0.0.6 on the registry)
        if klass is object or (klass.__module__ == "builtins" and klass is not session.cls):
            continue
        attrs.update(vars(klass))
    found: list[Candidate] = []
    backward = function_of(attrs.get("backward"))  # the pass, by any name (`--backward NAME`)
    for name, attr in attrs.items():
        function = function_of(attr, name)
        if function is None and not (is_compiled(attr) and _op_like(name)):
            continue  # a compiled op is a candidate too: called, and checked as a black box
        if name in catalogue.BINARY_DUNDERS:
            op, symbol = catalogue.BINARY_DUNDERS[name]
            found.append(Candidate(name, function, "binary", op, symbol))
        elif name in catalogue.REFLECTED_DUNDERS:
            op, symbol = catalogue.REFLECTED_DUNDERS[name]
            found.append(Candidate(name, function, "reflected", op, symbol))
        elif name in catalogue.UNARY_DUNDERS:
            op, symbol = catalogue.UNARY_DUNDERS[name]
            found.append(Candidate(name, function, "unary", op, symbol))
        elif name.startswith("__") or _never_called(name) or function is backward is not None:
            continue
        elif function is None:  # a compiled method: called as `x.m()`; one that needs
            found.append(Candidate(name, None, None, name, ""))  # arguments raises there
        elif name in catalogue.BINARY_METHODS and _an_alias(function, attrs):
            op = catalogue.BINARY_METHODS[name]
            found.append(Candidate(name, function, "binary", op, ""))
        elif not takes_no_arguments(function):
            session.skipped.append((name, TAKES_ARGUMENTS))
        else:
            found.append(Candidate(name, function, None, name, ""))
    found += _static_methods(session, attrs, {c.op for c in found} | {c.name for c in found})
    found += _module_functions(session, {c.op for c in found} | {c.name for c in found})
    return sorted(found, key=lambda c: c.function.__code__.co_firstlineno if c.function else 0)


def _static_methods(session: Session, attrs: dict[str, object], taken: set[str]) -> list[Candidate]:
    """Static methods of the class named like a known op that take one node (`@staticmethod
    def sigmoid(x)`): called as `engine.Value.sigmoid(x)`.  They were never called, and a
    wrong step there went unseen."""
    found = []
    cls = session.cls
    for name, attr in attrs.items():
        if not isinstance(attr, staticmethod) or not _op_named(name):
            continue
        function = attr.__func__
        if not isinstance(function, FunctionType) or _required_positional(function) != 1:
            continue
        op = str(catalogue.canonical(name))
        if op in taken or name in taken:
            continue
        where = f"{session.module.__name__}:{cls.__name__}.{name}"
        found.append(
            Candidate(name, function, None, name, "", where, _names(function.__code__, cls))
        )
        taken.add(op)
    return found


def _module_functions(session: Session, taken: set[str]) -> list[Candidate]:
    """Ops the class has no method for that the engine's module, or a module of its package,
    defines as a function of one node (`def tanh(x)` beside a `Value` with no `tanh`): a step
    the battery never ran would be a wrong derivative nobody checked.  Known op names only
    (ops.KNOWN), so that nothing else of the engine is ever called; called as
    `engine.tanh(x)`, through the package where it exports the function."""
    import_op_modules(session, _op_named)
    beside = beside_lone_module(session, _op_named)
    places: dict[str, list[tuple[str, FunctionType]]] = {}
    for module_name, module in package_modules(session, lone=False, beside=beside):
        for name, attr in vars(module).items():
            if not _op_named(name) or not isinstance(attr, FunctionType) or attr.__name__ != name:
                continue
            file = attr.__code__.co_filename
            if file != session.filename and not session.in_package(file):
                continue
            op = str(catalogue.canonical(name))
            if op not in taken and name not in taken and _required_positional(attr) == 1:
                places.setdefault(op, []).append((module_name, attr))
    found = []
    for op in sorted(places):
        module_name, function = exported_place(session, places[op])
        name, of_nodes = function.__name__, _names(function.__code__, session.cls)
        quiet = not of_nodes and function.__code__.co_filename != session.filename
        where = f"{module_name}:{name}"
        found.append(Candidate(name, function, None, name, "", where, of_nodes, quiet))
    return found


def _op_named(name: str) -> bool:
    """A public name that spells an op minigrad knows (`tanh`, `reLU`, `ln`)."""
    return not name.startswith("_") and catalogue.canonical(name) is not None


def _names(code: CodeType, cls: type) -> bool:
    """Does `code`, or code nested in it, name `cls` (a global read)?"""
    if cls.__name__ in code.co_names:
        return True
    return any(isinstance(c, CodeType) and _names(c, cls) for c in code.co_consts)


def _required_positional(function: FunctionType) -> int:
    """How many positional arguments a call of `function` needs; -1 where it cannot tell."""
    try:
        params = list(inspect.signature(function).parameters.values())
    except (TypeError, ValueError):
        return -1
    positional = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    return sum(p.default is p.empty and p.kind in positional for p in params)


def _op_like(name: str) -> bool:
    """An operator's dunder, or a method an op could be (not private, not never called)."""
    dunders = (catalogue.BINARY_DUNDERS, catalogue.REFLECTED_DUNDERS, catalogue.UNARY_DUNDERS)
    if any(name in table for table in dunders):
        return True
    return not name.startswith("_") and not _never_called(name)


def _an_alias(function: FunctionType, attrs: dict[str, object]) -> bool:
    """`add(self, other)` beside `__add__`: one argument besides self, and code of its own
    (`__add__ = add` makes one op, checked through the operator)."""
    dunders = {function_of(attrs.get(d)) for d in catalogue.BINARY_DUNDERS}
    return _required_positional(function) == 2 and function not in dunders  # self, other


def op_for(c: Candidate, form: CallForm, name: str, symbol: str, owner: str = "") -> Op:
    code = c.function.__code__ if c.function else None
    if form == "method":
        oracle = catalogue.canonical(c.name)
    elif form == "binary" and not symbol:  # an alias method: the operator's oracle
        oracle = c.op if c.op in catalogue.ARITHMETIC else None
    else:
        oracle = name if name in catalogue.ARITHMETIC or name in _REFLECTED else None
    return Op(
        name=name,
        method=c.name,
        call=form,
        symbol=symbol,
        oracle=oracle,
        parameter=_numeric_default(c.function) if form == "method" and c.function else None,
        qualname=code.co_qualname if code else f"{owner}.{c.name}",
        line=code.co_firstlineno if code else 0,
        steps=(),
        uses=(),
        points=(),
        compiled=code is None,
        file=code.co_filename if code else "",  # "" once known to be the engine's (Session.profile)
        function=c.where,
    )


def forms(c: Candidate) -> list[tuple[CallForm, str, str, tuple[Point, ...], float]]:
    """The ways to call a candidate: (form, op name, symbol, points to try first, constant)."""
    if c.form == "binary" and not c.symbol:  # an alias method, `x.add(y)`
        return [("binary", f"{c.op}_method", "", catalogue.PAIRS, 2.0)]
    if c.form == "binary" and c.op == "pow":
        return [
            ("pow", "pow", "**", ((1.5,), (-0.7,)), 2.0),
            ("binary", "vpow", "**", catalogue.POSITIVE_PAIRS, 2.0),
        ]
    if c.form == "binary":
        return [("binary", c.op, c.symbol, catalogue.PAIRS, 2.0)]
    points: tuple[Point, ...]
    if c.form == "reflected":
        points = ((0.7,), (-2.0,)) if c.op == "rdiv" else ((1.5,), (-0.4,))
        return [("reflected", c.op, c.symbol, points, 2.0)]
    if c.form == "unary":
        known = catalogue.KNOWN.get(c.op)
        points = known.points if known else ((1.5,), (-0.4,))
        return [("unary", c.op, c.symbol, points, 2.0)]
    oracle = catalogue.canonical(c.name)
    points = catalogue.KNOWN[oracle].points if oracle else ()
    return [("method", c.name, "", points, 2.0)]
