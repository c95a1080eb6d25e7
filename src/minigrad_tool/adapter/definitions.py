"""The engine's file with its definitions alone (`--definitions-only`): its script left out.

A single-file engine that is also a training script (microgpt's shape) reads a dataset and
trains at its top level, so importing it fails or hangs where minigrad imports it.  Asked to,
minigrad runs only what defines the engine: imports, functions, classes, docstrings, and
assignments that call nothing and read only names already defined so (`n_embd = 16`,
`head_dim = n_embd // n_head`, `matrix = lambda ...`), with `if` and `try` blocks made of
those alone.  Every other statement (a call, a loop, `docs = open(...)`, `BOS = len(uchars)`)
is left out, in minigrad's processes only: the file is unchanged.  The lines kept keep their
numbers, so tracebacks, steps and mutants point at the file as it is.
"""

from __future__ import annotations

import ast
import builtins

__all__ = ["definitions_alone"]

_DEFINING = (ast.Import, ast.ImportFrom, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)


def definitions_alone(tree: ast.Module) -> ast.Module:
    """The module with its script's statements left out (see the module's doc)."""
    bound = set(dir(builtins)) | {"__name__", "__file__", "__doc__", "__spec__", "__package__"}
    tree.body = _kept(tree.body, bound) or [ast.Pass()]
    return ast.fix_missing_locations(tree)


def _kept(body: list[ast.stmt], bound: set[str]) -> list[ast.stmt]:
    """The statements of `body` that define something, each adding the names it binds."""
    kept = []
    for statement in body:
        if _defines(statement, bound):
            kept.append(statement)
            bound |= _binds(statement)
    return kept


def _defines(statement: ast.stmt, bound: set[str]) -> bool:
    if isinstance(statement, _DEFINING):
        return True
    if isinstance(statement, ast.Expr):  # a docstring; a call is a script's
        return isinstance(statement.value, ast.Constant)
    if isinstance(statement, ast.Assign | ast.AnnAssign | ast.AugAssign):
        value = statement.value
        reads = _reads(value) if value is not None else set()
        if isinstance(statement, ast.AugAssign):  # `x += 1` reads x first
            reads |= _reads(statement.target)
        return value is not None and _calls_nothing(value) and reads <= bound
    if isinstance(statement, ast.If):
        inner = [*statement.body, *statement.orelse]
        test_ok = _calls_nothing(statement.test) and _reads(statement.test) <= bound
        return test_ok and all(_defines(s, set(bound)) for s in inner)
    if isinstance(statement, ast.Try):
        inner = [*statement.body, *statement.orelse, *statement.finalbody]
        inner += [s for handler in statement.handlers for s in handler.body]
        return all(_defines(s, set(bound)) or isinstance(s, ast.Pass) for s in inner)
    return isinstance(statement, ast.Pass)


# What runs code as an expression is evaluated: a call, and a comprehension (it iterates).
_RUNS = (
    ast.Call,
    ast.Await,
    ast.Yield,
    ast.YieldFrom,
    ast.ListComp,
    ast.SetComp,
    ast.DictComp,
    ast.GeneratorExp,
)


def _calls_nothing(expression: ast.expr) -> bool:
    """Nothing runs as the expression is evaluated (a lambda's body does not run: it is only
    defined)."""
    return not any(isinstance(node, _RUNS) for node in _evaluated(expression))


def _reads(expression: ast.expr) -> set[str]:
    """The names the expression reads as it is evaluated (not those a lambda reads later)."""
    return {n.id for n in _evaluated(expression) if isinstance(n, ast.Name)}


def _evaluated(expression: ast.expr) -> list[ast.AST]:
    """The nodes of the expression evaluated now: a lambda's defaults, not its body."""
    found: list[ast.AST] = []
    stack: list[ast.AST] = [expression]
    while stack:
        node = stack.pop()
        if isinstance(node, ast.Lambda):
            stack.extend(node.args.defaults + [d for d in node.args.kw_defaults if d])
            continue
        found.append(node)
        stack.extend(ast.iter_child_nodes(node))
    return found


def _binds(statement: ast.stmt) -> set[str]:
    """The names a kept statement binds at the module's top level."""
    if isinstance(statement, ast.Import | ast.ImportFrom):
        return {(a.asname or a.name).partition(".")[0] for a in statement.names}
    if isinstance(statement, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
        return {statement.name}
    targets: list[ast.expr] = []
    if isinstance(statement, ast.Assign):
        targets = list(statement.targets)
    elif isinstance(statement, ast.AnnAssign | ast.AugAssign):
        targets = [statement.target]
    names = {n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name)}
    if isinstance(statement, ast.If | ast.Try):
        for inner in ast.iter_child_nodes(statement):
            if isinstance(inner, ast.stmt):
                names |= _binds(inner)
            elif isinstance(inner, ast.ExceptHandler):
                for s in inner.body:
                    names |= _binds(s)
    return names
