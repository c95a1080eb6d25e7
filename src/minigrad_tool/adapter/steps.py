"""Discovery's second job: which code of the engine is an op's backward step.

The code an op's backward ran (seen by the tracer) is sorted against the op's
own source: a closure or lambda defined in it, a method or a `Function` class
it refers to, or (microgpt) the local derivatives it hands the node's
constructor.  Code it ran that none of these own is *foreign*: another op's
step, or a helper they share.
"""

from __future__ import annotations

import ast
import dataclasses
from collections import Counter
from collections.abc import Iterator, Sequence
from types import FunctionType
from typing import Any

from minigrad_tool.adapter.nodes import NodeAccess, attribute_names, is_node, real
from minigrad_tool.adapter.profile import COMPILED, Op, Step, StepStyle
from minigrad_tool.adapter.session import Session, Watch
from minigrad_tool.adapter.source import Function, FunctionNode, SourceIndex, references
from minigrad_tool.adapter.trace import CodeKey
from minigrad_tool.mutation.sites import grad_writes, own_nodes

__all__ = [
    "delegates_of",
    "forward_helpers",
    "release_aliases",
    "release_lent_classes",
    "settle_delegates",
    "step_fault",
    "steps_of",
]


def steps_of(
    session: Session, op: Op, watch: Watch
) -> tuple[tuple[Step, ...], tuple[CodeKey, ...]]:
    """The backward steps op owns, from the code its backward ran; and foreign code it ran."""
    if op.compiled:
        session.unreachable.append((op.name, COMPILED))
        return (), ()
    method = method_of(session, op)
    if method is None:
        session.unreachable.append((op.name, f"{op.qualname} is not in {session.spec.path.name}"))
        return (), ()
    refs = references(method.node)
    refs |= _owners_named(session, refs)
    steps: list[Step] = []
    foreign: list[CodeKey] = []
    try:
        fresh = session.leaf(0.5)
    except Exception:  # a 0-d array it cannot take (it iterates its data): compared with none
        fresh = None
    attribute = _attached_attribute(watch.out, fresh)
    # module functions of the engine's file the method hands its work to (nanotorch's
    # `tensor.relu` returns `relu(self)`), and the method of its class it only calls
    # (`__pow__` returning `self.pow(exponent)`): their closures are the op's steps
    handed = tuple(f"{q}.<locals>." for q, _ in watch.forward_codes if "." not in q and q in refs)
    built = _built_through_helpers(session, watch, refs)
    alias = _alias_of(method, op.qualname)
    if alias:  # kept only if no other op has a claim on it (release_aliases)
        handed += (f"{alias}.<locals>.",)
    for key in watch.backward_codes:
        qualname, first = key
        style: StepStyle
        if qualname.startswith((f"{op.qualname}.<locals>.", *handed)):
            function = session.index.function(qualname, first)
            style = "lambda" if qualname.endswith("<lambda>") else "closure"
        elif qualname.rpartition(".")[2] in refs:
            function = session.index.function(qualname, first)
            style = "method"
        elif qualname.rpartition(".")[0].rpartition(".")[2] in refs | built:
            function = session.index.function(qualname, first)
            style = "function-class"
        else:
            foreign.append(key)
            continue
        if function is None:
            continue
        node = function.node
        steps.append(Step(style, qualname, node.lineno, node.col_offset, attribute))
    steps += delegated_steps(session, op, watch, attribute)
    if not steps and not foreign:
        steps = local_grad_steps(session, op, method, watch.out)
    return tuple(dict.fromkeys(steps)), tuple(foreign)


def _built_through_helpers(session: Session, watch: Watch, refs: set[str]) -> set[str]:
    """The classes (not the node's) that the module functions of the engine's file the op's
    forward ran name, from those `refs` names on, and those they name (spladtool's
    `__truediv__` returns `div(self, y)`, which returns `prod(x, inv(y))`, which build
    `TensorProd()(x, y)` and `TensorInv()(y)`): their backward is the op's step."""
    helpers = {key for key in watch.forward_codes if "." not in key[0]}
    names = set(refs)
    while reached := {key for key in helpers if key[0] in names}:
        helpers -= reached
        for qualname, first in reached:
            function = session.index.function(qualname, first)
            names |= references(function.node) if function is not None else set()
    namespace = session.namespace("")
    classes = {n for n in names - refs if isinstance(namespace.get(n), type)}
    return classes - {session.cls.__name__}


def release_lent_classes(ops: list[Op], foreign_codes: dict[str, tuple[CodeKey, ...]]) -> None:
    """A `Function` class's step that several methods name is theirs that name the fewest
    such steps: CMU needle's `__sub__` builds `EWiseAdd()(self, Negate()(other))`, which
    are `__add__`'s and `__neg__`'s, so sub is built from add and neg, and neg's step is
    neg's (its mutants were named sub's, and neg read "not mutated").  Of methods that name
    as few, the first op's (spladtool's `__add__` and `__sub__` each build two, `TensorSum`
    among them: sub is built from add).  The ops of one method (`__radd__ = __add__`, which
    runs only its `AddScalar`) count as that method."""
    by_method: dict[tuple[str, str, int], set[str]] = {}
    for op in ops:
        by_method.setdefault((op.file, op.qualname, op.line), set()).update(
            s.qualname for s in op.steps if s.style == "function-class"
        )
    keeper: dict[str, tuple[int, tuple[str, str, int]]] = {}  # step -> (count, method)
    for method, steps in by_method.items():  # in the order of their first ops: ties go first
        for qualname in steps:
            if qualname not in keeper or len(steps) < keeper[qualname][0]:
                keeper[qualname] = (len(steps), method)
    for i, op in enumerate(ops):
        method = (op.file, op.qualname, op.line)
        lent = [
            s for s in op.steps if s.style == "function-class" and keeper[s.qualname][1] != method
        ]
        if lent:
            ops[i] = dataclasses.replace(op, steps=tuple(s for s in op.steps if s not in lent))
            foreign_codes[op.name] = (
                *foreign_codes[op.name],
                *((s.qualname, s.line) for s in lent),
            )


def _alias_of(method: Function, qualname: str) -> str:
    """The method of the same class that `method` only calls and returns (`def __pow__(self,
    e): return self.pow(e)`): its qualname, or "" if the method does more than that."""
    if not isinstance(method.node, ast.FunctionDef | ast.AsyncFunctionDef):
        return ""
    body = [
        s
        for s in method.node.body
        if not (isinstance(s, ast.Expr) and isinstance(s.value, ast.Constant))  # a docstring
    ]
    if len(body) != 1 or not isinstance(body[0], ast.Return):
        return ""
    call = body[0].value
    if not (
        isinstance(call, ast.Call)
        and isinstance(call.func, ast.Attribute)
        and isinstance(call.func.value, ast.Name)
        and call.func.value.id == "self"
    ):
        return ""
    owner, _, name = qualname.rpartition(".")
    return f"{owner}.{call.func.attr}" if owner and call.func.attr != name else ""


def release_aliases(
    session: Session, ops: list[Op], foreign_codes: dict[str, tuple[CodeKey, ...]]
) -> None:
    """The closures of a method an op's method only calls are its steps (`__pow__` returning
    `self.pow(exponent)`), unless that method is an op's own (`__rmul__` returning
    `self.__mul__(other)`, `__matmul__` returning `self.matmul(other)`: built from that op) or
    several ops only call it (a shared helper, vizgrad's `_create_unary_op`)."""
    methods = {op.qualname for op in ops}
    aliases = {
        op.name: target
        for op in ops
        if (method := method_of(session, op)) and (target := _alias_of(method, op.qualname))
    }
    callers = Counter(aliases.values())
    for i, op in enumerate(ops):
        alias = aliases.get(op.name, "")
        if not alias or (alias not in methods and callers[alias] == 1):
            continue
        prefix = f"{alias}.<locals>."
        released = tuple((s.qualname, s.line) for s in op.steps if s.qualname.startswith(prefix))
        kept = tuple(s for s in op.steps if not s.qualname.startswith(prefix))
        ops[i] = dataclasses.replace(op, steps=kept)
        foreign_codes[op.name] = (*foreign_codes[op.name], *released)


# A fault of where an op keeps its step, read from its source (Op.step_fault): (kind, line,
# the statement or the step's name, the statement that would fix it, the returned node's
# name or the attribute used).  "input": the step is stored on an input; "unattached": it is
# never stored at all; "attribute": stored on the result, under a name backward() never calls.
StepFault = tuple[str, int, str, str]


def step_fault(session: Session, op: Op, steps: Sequence[Step]) -> StepFault | None:
    """Where op's method keeps its step wrong, read from its source, or None.

    A step stored on an input (`self._backward = _backward`, NanoAutoGrad 0.1.2's exp) still
    runs when backward() reaches that input, so an op used once gets its gradient; but the
    next op on the same input replaces it.  A step defined and never stored (the assignment
    forgotten), called where it should be stored (`out._backward = _backward()`), or stored
    under another name than the one backward() calls (`out._backwards`), never runs in a
    backward pass.  Each explains a failing case of the op; none fails one."""
    method = method_of(session, op)
    if method is None:
        return None
    node = method.node
    nodes = list(own_nodes(node))
    returned = sorted(
        n.value.id for n in nodes if isinstance(n, ast.Return) and isinstance(n.value, ast.Name)
    )
    own = [s for s in steps if s.style in ("closure", "lambda") and not s.file]
    if own:
        return _stored_on_input(node, nodes, own, returned)
    if steps:
        return None
    read = {n.id for n in ast.walk(node) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}
    defined = [n for n in nodes if isinstance(n, ast.FunctionDef)]
    for n in defined:
        if n.name not in read:
            return "unattached", n.lineno, n.name, returned[0] if returned else ""
    names = {f.name for f in defined}
    called = _called_not_stored(nodes, names)
    if called is not None:
        return called
    for statement, owner, attribute in _stores(nodes, names, lambdas=False):
        if owner in returned:  # on the node it returns, under a name backward() never calls
            return "attribute", statement.lineno, ast.unparse(statement), attribute
    return None


def _called_not_stored(nodes: Sequence[ast.AST], names: set[str]) -> StepFault | None:
    """`out._backward = _backward()`: what the step returns is stored, not the step, which
    ran once as the forward ran (the output's gradient still 0).  ("called", line, the
    statement, the statement that stores the step itself.)"""
    for n in nodes:
        if not (isinstance(n, ast.Assign) and len(n.targets) == 1):
            continue
        target, value = n.targets[0], n.value
        if (
            isinstance(target, ast.Attribute)
            and isinstance(value, ast.Call)
            and isinstance(value.func, ast.Name)
            and value.func.id in names
            and not value.args
            and not value.keywords
        ):
            return "called", n.lineno, ast.unparse(n), f"{ast.unparse(target)} = {value.func.id}"
    return None


def _stores(
    nodes: Sequence[ast.AST], names: set[str], *, lambdas: bool
) -> Iterator[tuple[ast.Assign, str, str]]:
    """`owner.attribute = step` among a method's statements, the step one of its functions
    `names` (or a lambda, with `lambdas`): (the statement, owner, attribute)."""
    for n in nodes:
        if not (isinstance(n, ast.Assign) and len(n.targets) == 1):
            continue
        target, value = n.targets[0], n.value
        stored = (isinstance(value, ast.Name) and value.id in names) or (
            lambdas and isinstance(value, ast.Lambda)
        )
        if stored and isinstance(target, ast.Attribute) and isinstance(target.value, ast.Name):
            yield n, target.value.id, target.attr


def _stored_on_input(
    node: FunctionNode, nodes: Sequence[ast.AST], own: Sequence[Step], returned: Sequence[str]
) -> StepFault | None:
    names = {s.qualname.rpartition(".")[2] for s in own if s.style == "closure"}
    arguments = node.args
    inputs = {a.arg for a in (*arguments.posonlyargs, *arguments.args)} - set(returned)
    lambdas = any(s.style == "lambda" for s in own)
    for statement, owner, attribute in _stores(nodes, names, lambdas=lambdas):
        if owner in inputs:
            stored = ast.unparse(statement.value)
            fix = f"{returned[0]}.{attribute} = {stored}" if returned else ""
            return "input", statement.lineno, ast.unparse(statement), fix
    return None


def method_of(session: Session, op: Op) -> Function | None:
    """The op's method in the source: the engine's file, or the package file it is in."""
    index = session.index_for(op.file)
    return index.function(op.qualname, op.line) if index is not None else None


def _named(node: ast.AST) -> set[str]:
    """The names a method refers to, and those it imports (`from .ops import sum as sum_op`
    names `sum`)."""
    names = references(node)
    for n in ast.walk(node):
        if isinstance(n, ast.ImportFrom | ast.Import):
            names |= {alias.name.rpartition(".")[2] for alias in n.names}
    return names


def delegates_of(session: Session, op: Op, watch: Watch) -> tuple[tuple[str, str, int], ...]:
    """The functions of other files of the package that the op's method hands its work to
    (jungrad's `Tensor.exp` calls `ops.exp`, DeZero's `Variable.sum` calls `functions.sum`):
    module-level functions it names that ran in its forward.  (file, qualname, first line).
    A method that is itself such a function (`__getitem__ = functions.get_item`) is one."""
    method = method_of(session, op)
    if method is None:
        return ()
    names = _named(method.node)
    mine = op.file and op.file != session.filename
    found = [(op.file, op.qualname, op.line)] if mine else []
    found += [
        (file, qualname, line)
        for file, (qualname, line) in watch.forward_elsewhere
        if ("." not in qualname and qualname in names) or _aliased(session, file, qualname, names)
    ]
    return tuple(dict.fromkeys(found))


def _owners_named(session: Session, names: set[str]) -> set[str]:
    """The classes (not the engine's own) whose functions the engine's module gives names of
    their own among `names`: `add = Add.forward` at the top of the file names Add, whose
    backward is then add's step (miniad's shape, in one file)."""
    classes = {q.rpartition(".")[0] for q in _class_functions_named(session, "", names)}
    return {c.rpartition(".")[2] for c in classes} - {session.cls.__name__}


def _aliased(session: Session, file: str, qualname: str, names: set[str]) -> bool:
    """A class's function that its module gives a name of its own, which the method names
    (miniad's `F.add`, where functional.py says `add = Add.forward`)."""
    return qualname in _class_functions_named(session, file, names)


def _class_functions_named(session: Session, file: str, names: set[str]) -> set[str]:
    """The qualified names of the classes' functions (`Add.forward`) that the module of
    `file` (the engine's for "") holds under `names` of its own."""
    namespace = session.namespace(file)
    found = {_qualname_of(namespace.get(name)) for name in names}
    return {q for q in found if "." in q and "<locals>" not in q}


def _qualname_of(obj: object) -> str:
    """`obj.__qualname__`, or "" (an engine's object may raise anything when asked)."""
    try:
        found = getattr(obj, "__qualname__", "")
    except Exception:
        return ""
    return found if isinstance(found, str) else ""


def delegated_steps(session: Session, op: Op, watch: Watch, attribute: str) -> list[Step]:
    """The op's steps in other files of its package: a closure or lambda of a function it
    hands its work to, or the backward of a `Function` class that function (or the op's own
    method) names, or a function that function names."""
    method = method_of(session, op)
    if method is None or not watch.backward_elsewhere:
        return []
    delegates = delegates_of(session, op, watch)
    refs = _method_names(session, op, method)
    steps = []
    for file, (qualname, first) in watch.backward_elsewhere:
        index = session.index_for(file)
        function = index.function(qualname, first) if index is not None else None
        if index is None or function is None:
            continue
        style = _delegated_style(session, index, qualname, file, delegates, refs)
        if style is not None:
            node = function.node
            steps.append(Step(style, qualname, node.lineno, node.col_offset, attribute, file))
    return steps


def settle_delegates(session: Session, ops: Sequence[Op]) -> list[Op]:
    """A function several ops hand work to is the op's that hands work to the fewest: jungrad's
    `functional.tanh` computes tanh from `ops.exp` and `ops.div`, which are exp's and div's, so
    their closures are not tanh's steps (tanh is built from those ops)."""
    counts = {op.name: len(op.delegates) for op in ops}
    fewest: dict[tuple[str, str, int], int] = {}
    for op in ops:
        for delegate in op.delegates:
            fewest[delegate] = min(fewest.get(delegate, counts[op.name]), counts[op.name])
    settled = []
    for op in ops:
        kept = tuple(d for d in op.delegates if counts[op.name] == fewest[d] or _own(op, d))
        method = method_of(session, op)
        refs = _method_names(session, op, method) if method else set()
        steps = tuple(s for s in op.steps if not s.file or _still_owned(session, s, kept, refs))
        settled.append(dataclasses.replace(op, delegates=kept, steps=steps))
    return settled


def _own(op: Op, delegate: tuple[str, str, int]) -> bool:
    """The op's method is this function (a function op, `__getitem__ = functions.get_item`)."""
    return delegate == (op.file, op.qualname, op.line)


def _still_owned(
    session: Session, step: Step, kept: tuple[tuple[str, str, int], ...], refs: set[str]
) -> bool:
    index = session.index_for(step.file)
    return index is not None and (
        _delegated_style(session, index, step.qualname, step.file, kept, refs) is not None
    )


def _method_names(session: Session, op: Op, method: Function) -> set[str]:
    """What the op's method names, with the base classes of the classes it names."""
    return _with_bases(session, references(method.node), op.file)


def _with_bases(session: Session, names: set[str], file: str) -> set[str]:
    """The names, and those of the base classes of each class they name in the module of
    `file` (the engine's for ""): mygrad's `Tensor.max` names `Max`, whose step is the
    `backward_var` it inherits from `MaxMin`."""
    namespace = session.namespace(file)
    bases = {
        base.__name__
        for name in names
        if isinstance(found := namespace.get(name), type)
        for base in found.__mro__[1:]
        if base is not object
    }
    return names | bases


def _delegated_style(
    session: Session,
    index: SourceIndex,
    qualname: str,
    file: str,
    delegates: tuple[tuple[str, str, int], ...],
    method_refs: set[str],
) -> StepStyle | None:
    owner = qualname.rpartition(".")[0].rpartition(".")[2]  # the class of a method
    named = [method_refs]
    for where, name, line in delegates:
        source = index if where == file else session.index_for(where)
        delegate = source.function(name, line) if source is not None else None
        if delegate is None:
            continue
        if where == file and qualname.startswith(f"{name}.<locals>."):
            return "lambda" if qualname.endswith("<lambda>") else "closure"
        named.append(_with_bases(session, references(delegate.node), where))
    if any(owner and owner in refs for refs in named):
        return "function-class"
    if "." not in qualname and any(qualname in refs for refs in named):
        # a module function named as the node's step (clumsygrad's `grad_fn=add_backward`)
        function = index.function(qualname, 0)
        returns = function is not None and not grad_writes(function.node)
        return "function-class" if returns else "method"
    return None


def local_grad_steps(session: Session, op: Op, method: Function, out: Any) -> list[Step]:
    """Local derivatives stored on the output node, applied by one generic backward: passed
    to its constructor (microgpt's `Value(data, (self, other), (other.data, self.data))`, or a
    dict `{self: 1.0, other: 1.0}`), or set on it after (`out.grad_wrt[self] = other.value`,
    `out._local_grads = (...)`).  Each expression that holds them is a step."""
    if op.file and op.file != session.filename:
        return []
    attribute = _local_grads_attribute(out, session.access)
    if attribute is None:
        return []
    held = list(_local_grads_set(method.node, attribute))
    position = _constructor_parameter(session.index, session.cls, attribute)
    calls = _constructor_calls(method.node, session.cls.__name__)
    passed = [_argument(call, *position) for call in calls] if position is not None else []
    held += [_bound_value(method.node, arg) for arg in passed if arg is not None]
    return [Step("local-grads", op.qualname, e.lineno, e.col_offset, attribute) for e in held]


def _local_grads_set(function: ast.AST, attribute: str) -> Iterator[ast.expr]:
    """The values the function sets as local derivatives: `out.ATTRIBUTE[key] = value` and
    `out.ATTRIBUTE = value`."""
    for node in own_nodes(function):
        if not (isinstance(node, ast.Assign) and len(node.targets) == 1):
            continue
        target = node.targets[0]
        if isinstance(target, ast.Subscript):
            target = target.value
        if isinstance(target, ast.Attribute) and target.attr == attribute:
            yield node.value


def _bound_value(function: ast.AST, arg: ast.expr) -> ast.expr:
    """The value a name passed as the local derivatives is bound to, where it is bound once
    in the function to a literal (`local_gradients = {self: 1.0, other: 1.0}`); else `arg`."""
    if not isinstance(arg, ast.Name):
        return arg
    bound = [
        n.value
        for n in own_nodes(function)
        if isinstance(n, ast.Assign | ast.AnnAssign)
        and any(isinstance(t, ast.Name) and t.id == arg.id for t in _targets(n))
    ]
    if len(bound) == 1 and isinstance(bound[0], ast.Tuple | ast.List | ast.Dict):
        return bound[0]
    return arg


def _targets(node: ast.Assign | ast.AnnAssign) -> list[ast.expr]:
    return node.targets if isinstance(node, ast.Assign) else [node.target]


def forward_helpers(session: Session, op: Op, watch: Watch) -> tuple[str, ...]:
    """Function-style `forward` code the op ran (owned by a class the op refers to)."""
    method = method_of(session, op)
    if method is None:
        return ()
    refs = references(method.node)
    return tuple(
        q
        for q, _ in watch.forward_codes
        if q != op.qualname
        and not q.startswith(f"{op.qualname}.")
        and q.rpartition(".")[0].rpartition(".")[2] in refs
    )


def _attached_attribute(out: Any, leaf: Any) -> str:
    """The attribute in which the output carries something a fresh leaf does not."""
    names = attribute_names(out)
    for name in names:
        value, before = getattr(out, name, None), getattr(leaf, name, None)
        if callable(value) and not is_node(value) and value is not before:
            code = getattr(value, "__code__", None)
            if code is None or code is not getattr(before, "__code__", None):
                return str(name)
    for name in names:
        value = getattr(out, name, None)
        if (
            value is not None
            and not is_node(value)
            and type(value) is not type(getattr(leaf, name, None))
        ):
            return str(name)
    return "?"


def _local_grads_attribute(out: Any, access: NodeAccess) -> str | None:
    """The output node's attribute that holds a number per child (a tuple or list as long as
    its children), or per distinct child (a dict keyed by them, or by their positions)."""
    children = access.children(out)
    for name in attribute_names(out):
        if name == access.children_attr:
            continue
        value = getattr(out, name, None)
        if isinstance(value, dict) and value:
            if not all(_names_a_child(key, children) for key in value):
                continue
            value = list(value.values())
        elif not (isinstance(value, tuple | list) and children and len(value) == len(children)):
            continue
        try:
            [real(v, name) for v in value]
        except ValueError:
            continue
        return str(name)
    return None


def _names_a_child(key: object, children: Sequence[Any]) -> bool:
    """A child itself, or its position."""
    if isinstance(key, int) and not isinstance(key, bool):
        return 0 <= key < len(children)
    return any(key is child for child in children)


def _constructor_parameter(index: SourceIndex, cls: type, attribute: str) -> tuple[int, str] | None:
    """(position after self, name) of the __init__ parameter stored in `attribute`."""
    for klass in cls.__mro__:
        init = klass.__dict__.get("__init__")
        if not isinstance(init, FunctionType):
            continue
        code = init.__code__
        function = index.function(code.co_qualname, code.co_firstlineno)
        if function is None or isinstance(function.node, ast.Lambda):
            continue
        params = [a.arg for a in function.node.args.args][1:]
        for node in ast.walk(function.node):
            for target, value in _assigned(node):
                if isinstance(target, ast.Attribute) and target.attr == attribute:
                    used = references(value)
                    for position, name in enumerate(params):
                        if name in used:
                            return position, name
    return None


def _assigned(node: ast.AST) -> Iterator[tuple[ast.expr, ast.expr]]:
    """(target, value) of an assignment, element by element where a tuple is unpacked
    (`self._prev, self._local = tuple(children), tuple(local)`)."""
    if not isinstance(node, ast.Assign):
        return
    for target in node.targets:
        if (
            isinstance(target, ast.Tuple)
            and isinstance(node.value, ast.Tuple)
            and len(target.elts) == len(node.value.elts)
        ):
            yield from zip(target.elts, node.value.elts, strict=True)
        else:
            yield target, node.value


def _constructor_calls(node: ast.AST, class_name: str) -> list[ast.Call]:
    """Calls that make a node: `Value(...)`, `type(self)(...)`, `self.__class__(...)`."""
    calls = []
    for n in ast.walk(node):
        if not isinstance(n, ast.Call):
            continue
        f = n.func
        if (
            (isinstance(f, ast.Name) and f.id in (class_name, "Value", "cls"))
            or (isinstance(f, ast.Attribute) and f.attr == "__class__")
            or (isinstance(f, ast.Call) and isinstance(f.func, ast.Name) and f.func.id == "type")
        ):
            calls.append(n)
    return calls


def _argument(call: ast.Call, position: int, name: str) -> ast.expr | None:
    for kw in call.keywords:
        if kw.arg == name:
            return kw.value
    if position < len(call.args) and not any(isinstance(a, ast.Starred) for a in call.args):
        return call.args[position]
    return None
