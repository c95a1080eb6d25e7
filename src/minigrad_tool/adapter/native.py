"""Calls into compiled engine code that an exception can be traced back to.

A C extension's method has no Python frame: an exception it raises (pybind11's TypeError,
a C++ exception as RuntimeError) ends its traceback in minigrad's frame that called it, and
would read as minigrad's own failure (faults.engine_caused), an exit 2 that blames minigrad
for the engine.  In a child that runs cases, each compiled op method of the class, and a
compiled backward, is replaced by a Python function that calls it, compiled under a file
name faults knows as the engine's (faults.compiled_call_file): its frame is on the
traceback, and the exception is the engine's, raised in `compiled Value.__mul__`.  The
class changes in that process only, never in the engine's files.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable
from typing import Any

from minigrad_tool.faults import compiled_call_file

__all__ = ["is_compiled", "trace_compiled_calls"]

# How a C extension's methods look on its class (pybind11's `instancemethod`, CPython's own).
_COMPILED_KINDS = (
    "instancemethod",
    "method_descriptor",
    "wrapper_descriptor",  # a C type's operator slots (`__add__` from nb_add)
    "builtin_function_or_method",
)


def is_compiled(attr: object) -> bool:
    """Is this class attribute a method of compiled code?"""
    return type(attr).__name__ in _COMPILED_KINDS


# The call, as source: a method of the class that hands everything to the compiled one, bound
# as the class attribute would be (a builtin assigned to a class is not: it gets no self).
_CALL = "def {name}(self, *args, **kwargs):\n    return bound(self)(*args, **kwargs)\n"


def _binder(attr: Any) -> Callable[[Any], Any]:
    get = getattr(type(attr), "__get__", None)
    if get is None:
        return lambda node: attr
    return lambda node: get(attr, node, type(node))


def trace_compiled_calls(cls: type[Any], methods: Iterable[str]) -> list[str]:
    """Replace each of `methods` that is compiled code by a traced call of it (a Python
    method is left as it is); the methods replaced.  A class that refuses attributes (a C
    type of its own, not a heap type) keeps its methods: an exception of theirs stays
    minigrad's, and says where it was raised."""
    replaced: list[str] = []
    for name in dict.fromkeys(methods):
        attr = inspect.getattr_static(cls, name, None)
        if not is_compiled(attr) or not name.isidentifier():
            continue
        filename = compiled_call_file(f"{cls.__name__}.{name}")
        namespace: dict[str, Any] = {"bound": _binder(attr)}
        exec(compile(_CALL.format(name=name), filename, "exec"), namespace)
        try:
            setattr(cls, name, namespace[name])
        except (AttributeError, TypeError):  # "cannot set '__add__' of immutable type"
            break
        replaced.append(name)
    return replaced
