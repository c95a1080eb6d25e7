"""Where mutation operators look: each op's backward step and forward, and the backward sweep.

The adapter watched each op run and recorded which code its backward step
is (a nested function, a lambda, a method, a `Function.backward`, or a
tuple of local derivatives).  This module finds that code in the source's
AST, together with the function a mutant of it must replace (the *unit*: a
method or module-level function that is reachable at run time), and the
expressions that compute each op's forward value.
"""

from __future__ import annotations

import ast
import dataclasses
from collections.abc import Callable, Collection, Iterator, Sequence
from dataclasses import dataclass
from typing import Literal, TypeGuard

from minigrad_tool import ops as catalogue
from minigrad_tool.adapter.nodes import GRAD_ALIASES, NODE_ATTRS
from minigrad_tool.adapter.profile import Op, Profile, Step, Sweep
from minigrad_tool.adapter.source import Function, SourceIndex, references

__all__ = [
    "ADDERS",
    "GRAD_ATTRS",
    "IN_PLACE",
    "Region",
    "Site",
    "callee_name",
    "find_sites",
    "grad_set_outright",
    "grad_writes",
    "node_aliases",
    "node_expr",
    "node_names",
    "node_text",
    "own_nodes",
    "sets_grad",
    "uncalled_step_holders",
]


@dataclass(frozen=True)
class Region:
    """A piece of code operators may edit, and the function a mutant of it replaces."""

    node: ast.AST  # a FunctionDef or Lambda (a step), a tuple (local derivatives), an expression
    unit: Function
    style: str  # the step's style, "forward", or "sweep"
    upstream: str | None = None  # a Function-style backward's upstream-gradient parameter
    # The engine's methods a step adds a gradient through (`x._acc(g)`), with the attribute
    # each adds to: (method, "grad")
    accumulators: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class Site:
    """One op's backward steps and forward expressions, or the backward sweep."""

    op: str  # readable op name used in mutant IDs: "sub", "sigmoid", "backward"
    kind: Literal["op", "sweep"]
    steps: tuple[Region, ...] = ()
    forward: tuple[Region, ...] = ()
    note: str = ""  # why this site's code may never run (an op that raised on scalars)
    tensor: bool = False  # array code: the tensor operators apply
    # backward() itself, where it runs once in a pass (Sweep.once): what it adds to its own
    # node's gradient is the seed (mutation.operators.operator_offset).  (file, "" for the
    # engine's own; qualname; first line), else None
    seed: tuple[str, str, int] | None = None


def _accumulators(index: SourceIndex, class_qualname: str) -> tuple[tuple[str, str], ...]:
    """The engine class's methods that add their one argument to the node's gradient, with
    the attribute they add to: `def _acc(self, g): self.grad = g if self.grad is None else
    self.grad + g` (torch's None for "no gradient" kept), or `self.grad += g`.  A step that
    calls one (`other._acc(self.data * out.grad)`) adds a contribution as `+=` does."""
    found = []
    for method in index.methods(class_qualname):
        node = method.node
        if isinstance(node, ast.Lambda) or len(node.args.args) != 2 or node.args.vararg:
            continue
        receiver, given = (a.arg for a in node.args.args)
        attr = _adds_to(node, receiver, given)
        if attr is not None:
            found.append((node.name, attr))
    return tuple(found)


def _adds_to(
    function: ast.FunctionDef | ast.AsyncFunctionDef, receiver: str, given: str
) -> str | None:
    """The gradient attribute `function` adds `given` to on `receiver`, if that is all it
    does: only assignments to that attribute (an `+=` of `given`, or an `=` whose value reads
    the attribute and `given`), under `if`s, and no call (a method that applies a function to
    its argument, or passes it on down the graph, is another form: `_passed_on`)."""
    attrs: set[str] = set()
    adds = False
    for n in ast.walk(ast.Module(body=function.body, type_ignores=[])):
        if isinstance(n, ast.Call | ast.Return | ast.Yield | ast.YieldFrom | ast.Delete):
            return None
        if not isinstance(n, ast.AugAssign | ast.Assign):
            continue
        targets = [n.target] if isinstance(n, ast.AugAssign) else n.targets
        attr = _grad_attribute(targets[0], receiver) if len(targets) == 1 else None
        if attr is None:
            return None
        attrs.add(attr)
        reads = {node_text(r) for r in ast.walk(n.value) if isinstance(r, ast.Name | ast.Attribute)}
        # `+=` adds; an `=` adds where its value reads the gradient it replaces
        if isinstance(n, ast.AugAssign):
            accumulates = isinstance(n.op, ast.Add)
        else:
            accumulates = f"{receiver}.{attr}" in reads
        adds = adds or (given in reads and accumulates)
    return attrs.pop() if adds and len(attrs) == 1 else None


def _grad_attribute(target: ast.AST, receiver: str) -> str | None:
    """ "grad" (or "_grad") where `target` is `receiver.grad` (`._grad`); else None."""
    if (
        isinstance(target, ast.Attribute)
        and target.attr in GRAD_ATTRS
        and isinstance(target.value, ast.Name)
        and target.value.id == receiver
    ):
        return target.attr
    return None


def _find_step(index: SourceIndex, op: Op, step: Step, unit_of: Units) -> Region | None:
    """The step in its file's source (`index`)."""
    if step.style == "local-grads":
        method = index.function(op.qualname, op.line)
        if method is None:
            return None
        for node in ast.walk(method.node):
            if (
                isinstance(node, ast.expr)
                and node.lineno == step.line
                and node.col_offset == step.col
            ):
                return Region(node, unit_of(method), step.style)
        return None
    for function in index.functions.values():
        if function.qualname == step.qualname and function.node.lineno == step.line:
            return Region(function.node, unit_of(function), step.style, _upstream(function, step))
    return None


def _upstream(function: Function, step: Step) -> str | None:
    """A Function-style backward(ctx, grad_output), or a closure that returns gradients
    (`grad_fn(grad)`): the name of its upstream gradient."""
    node = function.node
    returning = step.style in ("closure", "lambda") and not grad_writes(node)  # ugrad's grad_fn
    if not (step.style == "function-class" or returning):
        return None
    params = [a.arg for a in node.args.args]
    rest = [p for p in params if p not in ("self", "ctx", "cls")]
    # `add_backward(tensor, grad)` (clumsygrad): the gradient is the one named so, else first
    named = [p for p in rest if "grad" in p.lower() or p in _UPSTREAM_NAMES]
    chosen = named or rest
    return chosen[0] if chosen else None


_UPSTREAM_NAMES = ("g", "gy", "dy", "dout", "upstream", "delta")


def own_nodes(function: ast.AST) -> Iterator[ast.AST]:
    """The nodes of a function's body, not descending into nested functions or lambdas."""
    stack = list(ast.iter_child_nodes(function))
    while stack:
        node = stack.pop()
        yield node
        if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda | ast.ClassDef):
            stack.extend(ast.iter_child_nodes(node))


def _constructor_calls(function: ast.AST, class_names: set[str]) -> list[ast.Call]:
    calls = []
    for node in own_nodes(function):
        if not isinstance(node, ast.Call):
            continue
        f = node.func
        if (
            (isinstance(f, ast.Name) and f.id in class_names)
            or (isinstance(f, ast.Attribute) and f.attr == "__class__")
            or (isinstance(f, ast.Call) and isinstance(f.func, ast.Name) and f.func.id == "type")
        ):
            calls.append(node)
    return calls


def _assigned(function: ast.AST, name: str) -> list[ast.expr]:
    """The values a local variable is assigned in the function (not in nested ones)."""
    values = []
    for node in own_nodes(function):
        if isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == name for t in node.targets
        ):
            values.append(node.value)
    return values


def _returned_calls(function: Function) -> set[int]:
    """The calls a function returns: `return T(...)`, or `out = T(...)` ... `return out`."""
    returned = {
        n.value.id
        for n in own_nodes(function.node)
        if isinstance(n, ast.Return) and isinstance(n.value, ast.Name)
    }
    found = set()
    for n in own_nodes(function.node):
        if (isinstance(n, ast.Return) and isinstance(n.value, ast.Call)) or (
            isinstance(n, ast.Assign)
            and isinstance(n.value, ast.Call)
            and any(isinstance(t, ast.Name) and t.id in returned for t in n.targets)
        ):
            found.add(id(n.value))
    return found


def _forward_expressions(
    method: Function, class_names: set[str], data_param: str, *, returned: bool = False
) -> list[ast.expr]:
    """What the op computes its output from: the data argument of each node it makes (with
    `returned`, of the nodes it returns: a function of another file that the op hands its
    work to also converts operands, `Tensor(b_data, requires_grad=...)`).

    A value computed into a local first (`t = math.tanh(x); out = Value(t, ...)`)
    is followed to where it is computed, through plain renames.
    """
    found: list[ast.expr] = []
    outputs = _returned_calls(method) if returned else set()
    for call in _constructor_calls(method.node, class_names):
        if len(call.args) < 2 and not call.keywords:
            continue  # `Value(other)` wraps an operand; the output node also gets its children
        if returned and id(call) not in outputs:
            continue
        data: ast.expr | None = call.args[0] if call.args else None
        for kw in call.keywords:
            if kw.arg == data_param:
                data = kw.value
        pending = [data] if data is not None else []
        for _ in range(3):  # follow `x = ...; t = f(x); Value(t)` a few renames deep
            follow = [d for d in pending if isinstance(d, ast.Name)]
            found += [d for d in pending if not isinstance(d, ast.Name)]
            pending = [v for d in follow for v in _assigned(method.node, d.id)]
        found += [d for d in pending if not isinstance(d, ast.Name)]
    return list(dict.fromkeys(found))


def _returns(function: Function) -> list[ast.expr]:
    return [
        n.value
        for n in own_nodes(function.node)
        if isinstance(n, ast.Return) and n.value is not None
    ]


def _data_param(index: SourceIndex, profile: Profile) -> str:
    init = index.function(f"{profile.class_qualname}.__init__", 0)
    if init is not None and not isinstance(init.node, ast.Lambda):
        params = [a.arg for a in init.node.args.args]
        if len(params) > 1:
            return params[1]
    return "data"


# `x.grad.__iadd__(v)`: `+=` (or `-=`) on an array, spelled out.
IN_PLACE = ("__iadd__", "__isub__")
# Where a node keeps its gradient: `.grad`, `._grad` behind a read-only `grad` property (an
# engine that resets gradients through a method), or `.gradient` (read as .grad: alias_grad).
GRAD_ATTRS = frozenset({"grad", "_grad", *GRAD_ALIASES})


def _is_grad(target: ast.AST) -> bool:
    """`x.grad`, `x.grad.data` (a gradient wrapper's array, written in place), or an index of
    either (`x.grad[index] += g`: embedml's getitem)."""
    if isinstance(target, ast.Subscript):
        target = target.value
    if isinstance(target, ast.Attribute) and target.attr == "data":
        target = target.value
    return isinstance(target, ast.Attribute) and target.attr in GRAD_ATTRS


def grad_set_outright(node: ast.AST) -> ast.Assign | None:
    """The first `x.grad = v` in the code whose v does not read x.grad: a step that sets a
    gradient instead of adding to it (`self.grad = x * out.grad`), which no operator edits."""
    for n in ast.walk(node):
        if isinstance(n, ast.Assign) and len(n.targets) == 1 and _is_grad(n.targets[0]):
            target = ast.unparse(n.targets[0])
            read = (ast.unparse(r) for r in ast.walk(n.value) if isinstance(r, ast.Attribute))
            if target not in read:
                return n
    return None


def sets_grad(node: ast.AST) -> TypeGuard[ast.Call]:
    """`setattr(x, "grad", v)` (or `"_grad"`)."""
    return (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id == "setattr"
        and len(node.args) == 3
        and isinstance(node.args[1], ast.Constant)
        and node.args[1].value in GRAD_ATTRS
    )


def grad_writes(node: ast.AST) -> bool:
    """Does the code change some node's `.grad` (`x.grad += ...`, `setattr(x, "grad", ...)`,
    `x.grad.__iadd__(...)`, a ufunc's `out=x.grad`)?"""
    for n in ast.walk(node):
        if isinstance(n, ast.AugAssign | ast.Assign):
            targets = n.targets if isinstance(n, ast.Assign) else [n.target]
            if any(_is_grad(t) for t in targets):
                return True
        if (  # `x.grad.__iadd__(v)`: in place on an array
            isinstance(n, ast.Call)
            and isinstance(n.func, ast.Attribute)
            and n.func.attr in IN_PLACE
            and isinstance(n.func.value, ast.Attribute)
            and n.func.value.attr in GRAD_ATTRS
        ):
            return True
        if sets_grad(n) or _out_is_grad(n):
            return True
    return False


# numpy's adding ufuncs (any module's: np, xp, cp, jnp), by name: whether each subtracts.
ADDERS = {"add": False, "subtract": True}


def callee_name(func: ast.AST) -> str:
    """The name a call is made by: `add` for `np.add(...)` or `add(...)`; else ""."""
    if isinstance(func, ast.Attribute):
        return func.attr
    return func.id if isinstance(func, ast.Name) else ""


def _out_is_grad(node: ast.AST) -> bool:
    """`np.add(x.grad, g, out=x.grad)`, `np.add(g, x.grad, x.grad)`, `np.add.at(x.grad, i, g)`:
    a numpy ufunc that writes into a gradient (out= by keyword, the third argument of a binary
    one, or the first of its `.at`)."""
    if not isinstance(node, ast.Call):
        return False
    outs = [k.value for k in node.keywords if k.arg == "out"]
    func = node.func
    if isinstance(func, ast.Attribute) and func.attr == "at" and node.args:  # np.add.at(x.grad,
        outs.append(node.args[0])
    if callee_name(func) in ADDERS and len(node.args) == 3:
        outs.append(node.args[2])
    return any(_is_grad(out) for out in outs)


def _unrun_sites(index: SourceIndex, profile: Profile, taken: set[int]) -> list[Site]:
    """Ops that raised on scalars still have backward steps: they get mutants that never run;
    so do the functions of the engine's module that hold steps but are not called (a binary
    `hypot(a, b)`, `uncalled_step_holders`), named `engine.hypot`, and their steps' mutants
    are judged by the tests that call them."""
    sites = []
    for name, why in (*profile.skipped, *profile.uncalled):
        module, _, function_name = name.rpartition(".")
        if module and module != profile.module:
            continue  # a function of another module of the package (a crash there is said)
        holders = _top_level(index) if module else index.methods(profile.class_qualname)
        for function in holders:
            if function.name != function_name:
                continue
            nested = [
                f
                for f in _step_writers(_nested_in(index, function, direct=not module))
                if id(f.node) not in taken
            ]
            if nested:
                op = catalogue.BINARY_DUNDERS.get(function_name, (function_name.strip("_"), ""))[0]
                regions = tuple(Region(f.node, function, "closure") for f in nested)
                sites.append(Site(op, "op", regions, note=f"{function_name}: {why}"))
    return sites


def _top_level(index: SourceIndex) -> list[Function]:
    """The functions of the module's top level (in no class)."""
    return [f for f in index.functions.values() if f.parent is None and not f.classes]


def _nested_in(index: SourceIndex, function: Function, direct: bool) -> list[Function]:
    """The functions defined in `function`: its own (`direct`), or at any depth, the
    outermost first."""
    return [f for f in index.functions.values() if _inside(f, function, direct)]


def _inside(f: Function, function: Function, direct: bool = False) -> bool:
    """Is `f` defined in `function` (directly, with `direct`)?"""
    outer = f.parent
    while outer is not None and outer is not function and not direct:
        outer = outer.parent
    return outer is function and f is not function


def _step_writers(functions: Sequence[Function]) -> list[Function]:
    """Those of `functions` that write a gradient, the innermost only: the step, not also the
    method it is nested in (whose code holds it)."""
    writers = [f for f in functions if grad_writes(f.node)]
    return [f for f in writers if not any(_inside(g, f) for g in writers)]


def uncalled_step_holders(
    index: SourceIndex,
    ops: Sequence[Op],
    sweep: Sweep | None,
    methods: Collection[str] = (),
    class_qualname: str = "",
) -> list[tuple[str, int]]:
    """Functions that hold a backward step (a nested function that writes a gradient) of no
    op found, which nothing minigrad runs calls: (qualified name, the step's first line), a
    method's `Value.hypot`, a function's `hypot`.  Those of the
    engine's module, at its top level (a binary `hypot(a, b)`: only functions of one node
    named like a known op are called), and the node class's `methods` named (those discovery
    did not call: `x.hypot(y)` takes an argument).  Not one that is an op, nor the sweep, nor
    one any of whose nested functions is an op's step (a factory of ops' methods)."""
    claimed = {s.qualname for op in ops for s in op.steps if not s.file}
    own = {op.qualname for op in ops if not op.file}
    if sweep is not None:
        own.add(sweep.qualname)
    holders = _top_level(index) + [f for f in index.methods(class_qualname) if f.name in methods]
    inside: dict[int, list[Function]] = {id(f): [] for f in holders}
    for g in index.functions.values():  # one pass: each function under its outermost
        if g.parent is not None and id(g.outermost) in inside:
            inside[id(g.outermost)].append(g)
    found = []
    for f in holders:
        nested = inside[id(f)]
        if f.qualname in own or any(g.qualname in claimed for g in nested):
            continue
        writers = _step_writers(nested)
        if writers:
            found.append((f.qualname, writers[0].first_line))
    return found


def _helper_sites(
    index: SourceIndex, profile: Profile, taken: set[str], unit_of: Units
) -> list[Site]:
    """Each helper the ops' steps share (`unbroadcast`): one site, whose mutants reach every
    op that calls it."""
    sites: list[Site] = []
    seen: set[str] = set()
    for qualname, line in profile.helpers:
        found = index.function(qualname, line)
        if found is None or unit_of(found).qualname in seen:
            continue
        unit = unit_of(found)
        seen.add(unit.qualname)
        name = unit.qualname.rpartition(".")[2].strip("_") or "helper"
        if name in taken:
            name = f"helper_{name}"
        taken.add(name)
        sites.append(Site(name, "op", (Region(unit.node, unit, "helper"),)))
    return sites


def find_sites(
    index_of: Callable[[str], SourceIndex], profile: Profile
) -> tuple[list[Site], list[tuple[str, str]]]:
    """Every op's site, then the sweep's; and the ops whose step cannot be mutated, with why.

    `index_of(file)` is the source of the engine's file ("") or of another file of its
    package that holds steps (`EngineSpec.index_of`)."""
    index = index_of("")
    live = frozenset(profile.live_nested)

    def unit_of(function: Function) -> Function:
        return _unit(function, live)

    unreachable = list(profile.unreachable)
    class_names = {profile.class_name, profile.class_qualname.rpartition(".")[2], "Value", "cls"}
    data_param = _data_param(index, profile)
    sites: list[Site] = []
    taken: set[int] = set()  # step nodes already given to an op (an alias shares its target's)
    adders = _accumulators(index, profile.class_qualname)
    for op in sorted(profile.ops, key=lambda o: o.line):
        if op.composite:
            continue
        steps = []
        for step in op.steps:
            region = _find_step(index_of(step.file), op, step, unit_of)
            if region is not None and adders:
                region = dataclasses.replace(region, accumulators=adders)
            if region is None:
                unreachable.append(
                    (op.name, f"its backward step {step.qualname} is not in the source")
                )
            elif id(region.node) not in taken:
                taken.add(id(region.node))
                steps.append(region)
        forward: list[Region] = []
        places = [(op.file, op.qualname, op.line), *op.delegates]
        for file, qualname, line in dict.fromkeys(places):
            method = index_of(file).function(qualname, line)
            if method is not None and id(method.node) not in taken:
                forward += [
                    Region(e, method, "forward")
                    for e in _forward_expressions(
                        method, class_names, data_param, returned=bool(file)
                    )
                ]
                taken.add(id(method.node))
        for helper in op.forward_helpers:
            function = next((f for f in index.functions.values() if f.qualname == helper), None)
            if function is not None:
                forward += [Region(e, unit_of(function), "forward") for e in _returns(function)]
        if steps or forward:
            sites.append(Site(op.name, "op", tuple(steps), tuple(forward)))
    sites += _unrun_sites(index, profile, taken)
    sites += _helper_sites(index, profile, {s.op for s in sites}, unit_of)
    if profile.sweep is not None:
        backward = index.function(profile.sweep.qualname, profile.sweep.line)
        units: list[Function] = [backward] if backward is not None else []
        places = [("", q, line) for q, line in profile.sweep.helpers]
        for file, qualname, line in [*places, *profile.sweep.elsewhere]:
            found = index_of(file).function(qualname, line)
            if found is not None and unit_of(found) not in units:
                units.append(unit_of(found))
        regions = tuple(Region(f.node, f, "sweep") for f in units)
        if regions:
            sites.append(Site("backward", "sweep", regions, seed=_seed(profile.sweep)))
    return [dataclasses.replace(s, tensor=profile.holds_arrays) for s in sites], unreachable


# The function a mutant of a function's code replaces (`_unit`, with the profile's live set)
Units = Callable[[Function], Function]


def _seed(sweep: Sweep) -> tuple[str, str, int] | None:
    """backward() itself, where it runs once in a pass (it seeds the pass); else None."""
    if not sweep.once:
        return None
    if sweep.qualname:
        return ("", sweep.qualname, sweep.line)
    return sweep.elsewhere[0] if sweep.elsewhere else None  # the first of its code there


def _unit(function: Function, live: frozenset[tuple[str, str, int]]) -> Function:
    """The function a mutant of code in `function` replaces: the innermost around it (itself
    included) that the engine keeps as an object (Profile.live_nested), else the top-level one.
    micrograd's `_backward` is made anew by each `__mul__`: its unit is `__mul__`.  TinyTorch's
    backward() is made once by `enable_autograd()` and set on the class: it is its own unit (a
    mutant of enable_autograd would never run again)."""
    f = function
    while f.parent is not None and (f.file, f.qualname, f.first_line) not in live:
        f = f.parent
    return f


def node_text(expr: ast.AST) -> str | None:
    """How a step names a node: `x`, or an attribute or constant index of one
    (`self.parents[0]`, `ctx.inputs[1]`, `self.out`, tidygrad's and embedml's); else None."""
    if isinstance(expr, ast.Name):
        return expr.id
    if isinstance(expr, ast.Attribute):
        base = node_text(expr.value)
        return f"{base}.{expr.attr}" if base is not None else None
    if (
        isinstance(expr, ast.Subscript)
        and isinstance(expr.slice, ast.Constant)
        and isinstance(expr.slice.value, int)
    ):
        base = node_text(expr.value)
        return f"{base}[{expr.slice.value}]" if base is not None else None
    return None


def node_expr(text: str) -> ast.expr:
    """The expression a node's name (from :func:`node_text`) stands for."""
    return ast.parse(text, mode="eval").body


def node_aliases(region: Region) -> dict[str, str]:
    """Locals that name a node another way: `a, b = self.parents` makes `a` the node
    `self.parents[0]`; `x = ctx.inputs[0]` makes `x` that one (a swap between them is none)."""
    aliases: dict[str, str] = {}
    for node in ast.walk(region.node):
        if not isinstance(node, ast.Assign) or len(node.targets) != 1:
            continue
        target, source = node.targets[0], node_text(node.value)
        if source is None:
            continue
        if isinstance(target, ast.Name):
            aliases[target.id] = source
        elif isinstance(target, ast.Tuple):
            for i, element in enumerate(target.elts):
                if isinstance(element, ast.Name):
                    aliases[element.id] = f"{source}[{i}]"
    return aliases


def node_names(region: Region) -> list[str]:
    """Nodes used in a region (`x.data`, `self.parents[0].grad`), first use first."""
    names: list[str] = []
    for node in ast.walk(region.node):
        if isinstance(node, ast.Attribute) and node.attr in NODE_ATTRS:
            name = node_text(node.value)
            if name is not None and name not in names:
                names.append(name)
    return names


def unit_references(region: Region) -> set[str]:
    return references(region.unit.node)
