"""The engine's functions as objects: every function of its files that its modules reach.

A function the engine defines once and keeps (a method, a module function, a closure set on
the class or held in another's cell) is one the patcher swaps a mutant's code into, and so is
the *unit* of the code nested in it.  A closure made anew at each call (micrograd's
`_backward`, made by each `__mul__`) is reached by no module: its unit is the function that
makes it.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Iterator, Mapping
from types import FunctionType, ModuleType
from typing import Any

__all__ = ["UnitKey", "live_functions"]

# (file as the engine's spec names it: "" for the engine's own file, qualname, first line)
UnitKey = tuple[str, str, int]


def live_functions(
    modules: Iterable[ModuleType], files: Mapping[str, str]
) -> dict[UnitKey, list[FunctionType]]:
    """Every function object of `files` (a code's file name -> its key's file) reachable from
    the modules: their globals, the classes among them (and their bases), and what a function
    holds in its closure (edugrad's `@tensor_op class add` leaves a function that holds the
    class; TinyTorch's backward() holds a helper defined beside it)."""
    found: dict[UnitKey, list[FunctionType]] = {}
    seen: set[int] = set()
    stack: list[object] = [v for m in modules for v in vars(m).values()]
    while stack:
        obj = stack.pop()
        if id(obj) in seen:
            continue
        seen.add(id(obj))
        if isinstance(obj, type):
            if getattr(sys.modules.get(obj.__module__), "__file__", None) is None:
                continue
            stack.extend(vars(obj).values())
            stack.extend(obj.__bases__)
            continue
        for function in _functions_of(obj):
            code = function.__code__
            if code.co_filename in files:
                key = (files[code.co_filename], code.co_qualname, code.co_firstlineno)
                found.setdefault(key, []).append(function)
                stack += [c.cell_contents for c in function.__closure__ or () if _held(c)]
    return found


def _functions_of(obj: object) -> Iterator[FunctionType]:
    if isinstance(obj, staticmethod | classmethod):
        obj = obj.__func__
    elif isinstance(obj, property):
        for part in (obj.fget, obj.fset, obj.fdel):
            yield from _functions_of(part)
        return
    while isinstance(obj, FunctionType):
        yield obj
        obj = getattr(obj, "__wrapped__", None)


def _held(cell: Any) -> bool:
    """A closure cell holding a class or function (one that is not empty)."""
    try:
        return isinstance(cell.cell_contents, type | FunctionType)
    except ValueError:  # an empty cell
        return False
