"""Discovery's first job: which class of the engine makes nodes, and what they hold.

`--engine engine.py` names a file; this finds its node class (`:CLASS`, else
`Value`, else the one class whose instances carry a number, `.grad` and
`backward()`), says precisely what a would-be node lacks when none fits, and
tells a scalar engine from one whose nodes hold arrays (the tensor discovery's).
Runs engine code (it makes nodes), so only in a child.
"""

from __future__ import annotations

import difflib
import inspect
import sys
from collections.abc import Callable
from types import FunctionType, ModuleType

from minigrad_tool.adapter.nodes import (
    DATA_NAMES,
    FACTORY_METHODS,
    FACTORY_NAMES,
    NotANumber,
    alias_backward,
    alias_grad,
    backward_name,
    find_data_attribute,
    forget_leaf_factory,
    grad_is_lazy,
    is_node,
    is_number,
    make_leaf,
    real,
    set_leaf_factory,
)
from minigrad_tool.adapter.spec import EngineError, EngineSpec, EngineWrong

__all__ = [
    "Redirect",
    "TensorEngine",
    "class_line",
    "find_leaf_factory",
    "function_of",
    "node_class",
    "node_classes",
    "resolve_class",
    "steps_named_backward",
    "what_is_missing",
]


def function_of(attr: object, name: str = "") -> FunctionType | None:
    """The plain function behind a class attribute (unwrapped), or None for anything minigrad
    does not call as a method: static and class methods, properties, builtins.  `name`: the
    attribute's, to see through a decorator that keeps no `__wrapped__` (a `force_var` whose
    `var_func(this, other)` coerces the operand, then calls the op it closes over)."""
    if isinstance(attr, staticmethod | classmethod | property):
        return None
    function = inspect.unwrap(attr) if callable(attr) else None
    if not isinstance(function, FunctionType):
        return None
    if name and function.__name__ != name:
        held = _closed_over(function)
        own = [f for f in held if isinstance(f, FunctionType) and f.__name__ == name]
        if len(own) == 1:
            return own[0]
    return function


def _closed_over(function: FunctionType) -> list[object]:
    """What a function's closure holds (cells not yet filled left out)."""
    held = []
    for cell in function.__closure__ or ():
        try:
            held.append(cell.cell_contents)
        except ValueError:  # a cell not yet filled
            continue
    return held


class TensorEngine(Exception):
    """Its nodes hold arrays: :mod:`minigrad_tool.tensor.discovery` takes over."""

    def __init__(self, cls: type, data_attr: str, scalar_too: bool = False) -> None:
        self.cls, self.data_attr = cls, data_attr
        self.scalar_too = scalar_too  # a node made from a number holds a plain number
        super().__init__(f"{cls.__name__} holds arrays in .{data_attr}")


class Redirect(Exception):
    """The class is defined in another module than the one named (a package re-exports it)."""

    def __init__(self, module: str, class_name: str) -> None:
        self.module = module
        self.class_name = class_name
        super().__init__(f"{class_name} is defined in {module}")


def node_class(
    spec: EngineSpec,
    module: ModuleType,
    progress: Callable[[str], None],
    as_scalar: bool = False,
) -> tuple[type, str]:
    """The engine's node class and where its nodes keep their number; Redirect to the module
    that defines it, TensorEngine for nodes holding arrays (unless `as_scalar`: the tensor
    discovery refused it), EngineError if it is unusable."""
    progress("finding the node class")
    cls = resolve_class(module, spec.class_name, spec.text, spec.backward)
    home = sys.modules.get(cls.__module__)
    home_file = getattr(home, "__file__", None)
    if home is not module and isinstance(home_file, str) and home_file.endswith(".py"):
        raise Redirect(cls.__module__, cls.__name__)
    try:
        leaf = make_leaf(cls, 0.5)
    except Exception as err:
        arrays = _array_node(cls)  # DeZero's Variable takes arrays only
        if arrays is not None:
            raise TensorEngine(cls, arrays) from None
        if not find_leaf_factory(module, cls):
            raise EngineError(
                f"{cls.__name__}(0.5) raised {type(err).__name__}: {err}, and no leaf factory "
                f"of the engine ({', '.join(FACTORY_NAMES[:2])}, "
                f"{cls.__name__}.{FACTORY_METHODS[0]}, ...) makes one"
            ) from err
        progress(f"{cls.__name__}(0.5) raised {type(err).__name__}: leaves from a factory")
        return node_class(spec, module, progress, as_scalar)
    steps_named_backward(cls, leaf, f"{cls.__name__}(0.5)")  # an op's output: discovery's
    missing = what_is_missing(leaf)
    if missing:
        raise EngineError(
            f"engine {spec.text!r} cannot be used: {cls.__name__}(0.5) {missing}"
            + ("" if callable(getattr(leaf, "backward", None)) else _NAME_THE_PASS)
        )
    data_attr = find_data_attribute(leaf, 0.5) or "data"
    if not as_scalar and _holds_arrays(cls, data_attr):
        number = getattr(leaf, data_attr)
        raise TensorEngine(cls, data_attr, scalar_too=getattr(number, "shape", None) is None)
    try:  # axgrad keeps a compiled CTensor there: nothing minigrad can read or compare
        real(getattr(leaf, data_attr), f"{cls.__name__}(0.5).{data_attr}")
    except NotANumber as err:
        raise EngineError(
            f"engine {spec.text!r} cannot be used: {err}, nor a numpy array; minigrad reads "
            "the number a node holds"
        ) from None
    return cls, data_attr


def find_leaf_factory(module: ModuleType, cls: type) -> str:
    """A function of the engine's module (`tensor(value)`) or a class method of its node class
    (`Tensor.from_numpy(array)`) that makes a usable leaf of `cls` from a number or an array,
    registered for :func:`make_leaf`; how it is spelled, or "" if there is none."""
    candidates = [(getattr(module, n, None), n) for n in FACTORY_NAMES]
    candidates += [(getattr(cls, n, None), f"{cls.__name__}.{n}") for n in FACTORY_METHODS]
    for factory, spelled in candidates:
        if not callable(factory) or isinstance(factory, type):
            continue
        set_leaf_factory(cls, factory, spelled)
        for value in _FACTORY_VALUES:
            try:
                leaf = make_leaf(cls, value())
            except Exception:
                continue
            if isinstance(leaf, cls) and not what_is_missing(leaf):
                return spelled
        forget_leaf_factory(cls)
    return ""


def _array() -> object:
    import numpy  # only for an engine whose leaves come from a factory that takes arrays

    return numpy.array([1.0, 2.0])


_FACTORY_VALUES: tuple[Callable[[], object], ...] = (lambda: 0.5, _array)


def resolve_class(
    module: ModuleType, class_name: str | None, spec_text: str, backward: str | None = None
) -> type:
    """`:CLASS`, else `Value`, else the one class with data, grad and backward() on its nodes
    (a backward pass named otherwise, `backwards()` or `backward`, the user's name for it,
    and a gradient kept in `.gradient` aliased first: _alias)."""
    for candidate in _own_classes(module):
        _alias(candidate, backward)
    try:
        cls = _resolved_class(module, class_name, spec_text, backward)
    except EngineError:
        if backward and not any(hasattr(c, backward) for c in _own_classes(module)):
            raise EngineError(
                f"engine {spec_text!r} has no class with a {backward}() (the backward pass "
                "you named)" + _backward_hint(module, backward)
            ) from None
        raise
    if backward:
        _check_named_backward(cls, backward)
    return cls


def _resolved_class(
    module: ModuleType, class_name: str | None, spec_text: str, backward: str | None
) -> type:
    if class_name is not None:
        cls = getattr(module, class_name, None)
        if not isinstance(cls, type):
            raise EngineError(
                f"engine {spec_text!r} has no class {class_name!r}"
                + (_submodule_hint(module, class_name) or _candidates_hint(module, spec_text))
            )
        _alias(cls, backward)  # named, though another module's
        return cls
    value = getattr(module, "Value", None)
    if isinstance(value, type):
        return value
    found = [c for c in node_classes(module) if _makes_nodes(c)]
    if len(found) == 1:
        return found[0]
    if not found:
        near = _nearest_node_class(module)
        raise EngineError(
            f"engine {spec_text!r} has no Value class, and no other class whose instances "
            "carry .data, .grad and .backward()"
            + (f"; the nearest, {near[0]}: {near[1]}" if near else "")
            + _candidates_hint(module, spec_text)
            + _gradients_function_hint(module)
        )
    names = ", ".join(c.__name__ for c in found)
    raise EngineError(
        f"engine {spec_text!r} has several node classes ({names}): "
        f"name one, e.g. --engine {spec_text}:{found[0].__name__}"
    )


def _alias(cls: type, backward: str | None = None) -> None:
    """The engine's own names for the backward pass (`backward`: the user's) and a node's
    gradient, aliased as the names minigrad uses (nodes.alias_backward, nodes.alias_grad: a
    node class only, for the leaf the second makes)."""
    alias_backward(cls, backward)
    if callable(_class_attribute(cls, "backward")):
        alias_grad(cls)


def _own_classes(module: ModuleType) -> list[type]:
    """The classes of this module, or of a module of its package."""
    own = (module.__name__, f"{module.__name__}.")
    return [
        c
        for name, c in vars(module).items()
        if isinstance(c, type)
        and not name.startswith("__")
        and (c.__module__ == own[0] or c.__module__.startswith(own[1]))
    ]


def node_classes(module: ModuleType) -> list[type]:
    return [c for c in _own_classes(module) if callable(_class_attribute(c, "backward"))]


def _class_attribute(cls: type, name: str) -> object:
    """`cls.name`, or None: a metaclass's `__getattr__` may raise what it likes for a name
    it lacks (skinnygrad's `Configuration` raises KeyError), which says only "not here"."""
    try:
        return getattr(cls, name, None)
    except MemoryError:
        raise
    except Exception:
        return None


def _nearest_node_class(module: ModuleType) -> tuple[str, str] | None:
    """A class of the engine that makes objects from a number, and what they lack."""
    own = (module.__name__, f"{module.__name__}.")
    for name, c in vars(module).items():
        if not isinstance(c, type) or name.startswith("_"):
            continue
        if not (c.__module__ == own[0] or c.__module__.startswith(own[1])):
            continue
        try:
            missing = what_is_missing(c(0.5))
        except MemoryError:
            raise
        except Exception:
            continue
        if missing and missing.count(";") < 2:  # at most two of the three missing
            return f"{name}(0.5)", missing
    return None


def _makes_nodes(cls: type) -> bool:
    """Its instances are nodes, made from a number or (an engine taking arrays only) from an
    array."""
    try:
        return is_node(make_leaf(cls, 0.5))
    except MemoryError:
        raise  # the memory limit, said as such by the child (isolation), not "no class"
    except Exception:
        try:
            return _array_node(cls) is not None
        except EngineError:
            return False


def steps_named_backward(cls: type, node: object, made: str) -> None:
    """Where a node keeps its own backward step in an attribute named `backward` (`self.
    backward = lambda: None`, `out.backward = back_prop`), `x.backward()` runs that one step,
    never a pass: EngineWrong where that hides the class's own backward() (dead code then),
    EngineError where the engine's pass has another name (minigrad calls `.backward()`).
    `made`: how the node was made, for the message (`Value(0.5)`, `Value(0.5) + 2`)."""
    step = getattr(node, "__dict__", {}).get("backward")
    if not callable(step) or getattr(step, "__self__", None) is node:
        return  # none, or a method of the node's own bound there: the pass itself
    where = getattr(step, "__qualname__", type(step).__name__)
    kept = f"{made} keeps its own backward step in .backward, an attribute of the node ({where})"
    named = backward_name(cls)
    if named == "backward" and callable(inspect.getattr_static(cls, "backward", None)):
        raise EngineWrong(
            f"{kept}, which hides the class's {cls.__name__}.backward() method: "
            "x.backward() runs that one node's step, never the pass, so no gradient "
            "reaches any input (the method is never called). Name the step otherwise, as "
            "micrograd does (`self._backward = lambda: None`, `out._backward = ...`), and "
            "call `node._backward()` in the pass"
        )
    its_pass = f", {cls.__name__}.{named}() here," if named != "backward" else ""
    guessed = _pass_names(cls)  # a pass minigrad does not alias by itself: the user names it
    then = f", then name the pass: --backward {guessed[0]}" if guessed and not its_pass else ""
    raise EngineError(
        f"{kept}: minigrad calls the whole backward pass{its_pass} as x.backward(), and on "
        "these nodes that runs one node's step; name the step otherwise (micrograd's "
        f"`_backward`){then}"
    )


_NAME_THE_PASS = (
    "; where a method of another name runs the whole backward pass (from the output node, "
    "with no argument), name it: --backward NAME, or `backward` in [tool.minigrad]"
)


def _check_named_backward(cls: type, name: str) -> None:
    """The backward pass the user named is the one minigrad calls, or EngineError says why not."""
    method = inspect.getattr_static(cls, name, None)
    own = inspect.getattr_static(cls, "backward", None)
    if name == "backward" or (method is not None and own is method):
        return
    if method is None:
        raise EngineError(
            f"{cls.__name__} has no {name}() (the backward pass you named)"
            + _backward_hint(cls, name)
        )
    if not callable(method):
        raise EngineError(f"{cls.__name__}.{name} (the backward pass you named) is no method")
    if callable(own):
        raise EngineError(
            f"{cls.__name__} has a backward() of its own, which minigrad calls as the whole "
            f"backward pass; it cannot call {name}() in its place (the backward pass you named): "
            "name none, or the class whose backward pass that is"
        )
    raise EngineError(  # alias_backward took it unless it needs arguments
        f"{cls.__name__}.{name}() (the backward pass you named) needs arguments; minigrad "
        "calls the whole backward pass with none, from the output node"
    )


def _backward_hint(where: type | ModuleType, name: str) -> str:
    """Methods of a class (or of a module's classes) that may be the backward pass `name`
    meant: names close to it, and names that say backward pass."""
    owners = [where] if isinstance(where, type) else _own_classes(where)
    methods = {  # read statically: a descriptor or a metaclass may raise what it likes
        (owner.__name__, method)
        for owner in owners
        for method in dir(owner)
        if not method.startswith("__") and callable(inspect.getattr_static(owner, method, None))
    }
    close = set(difflib.get_close_matches(name, [m for _, m in methods], n=3, cutoff=0.6))
    passes = {(o.__name__, m) for o in owners for m in _pass_names(o)}
    found = sorted(
        f"{owner}.{method}()"
        for owner, method in methods
        if method in close or (owner, method) in passes
    )
    return f"; did you mean {', '.join(found)}?" if found else ""


def _pass_names(cls: type) -> list[str]:
    """The class's public methods whose names say backward pass (`backwardPropagation`, not
    the node's own step `_backward`), read statically, other than backward() itself."""
    return [
        n
        for n in sorted(dir(cls))
        if not n.startswith("_")
        and n != "backward"
        and _sounds_like_backward(n)
        and callable(inspect.getattr_static(cls, n, None))
    ]


# Where other engines keep a gradient or a backward pass, for saying what was found instead.
_GRAD_NAMES = ("_grad", "gradient", "g", "adjoint")
_BACKWARD_NAMES = ("backwards", "backprop", "back", "_backward_pass", "grad_fn", "propagate")


def _sounds_like_backward(name: str) -> bool:
    """`backwardPropagation`, `run_backprop`: a name that says backward pass, in any style."""
    lowered = name.lower()
    return not name.startswith("__") and ("backward" in lowered or "backprop" in lowered)


def what_is_missing(node: object) -> str:
    """What a would-be node lacks of a number, `.grad` and `backward()`, precisely, with what
    it has instead; "" when nothing is missing."""
    problems = []
    for attr in ("data", "grad"):
        if callable(getattr(node, attr, None)):
            problems.append(
                f"has .{attr} as a method, not a number (a compiled engine?); minigrad reads "
                f"and writes .{attr} as an attribute"
            )
    if not hasattr(node, "data") and find_data_attribute(node, 0.5) is None:
        problems.append(f"has no .data, nor a number in .{', .'.join(DATA_NAMES[1:])}")
    if not hasattr(node, "grad") and not grad_is_lazy(type(node)):
        instead = [n for n in _GRAD_NAMES if is_number(getattr(node, n, None))]
        problems.append(
            "has no .grad"
            + (f" (it keeps a number in .{instead[0]}; minigrad reads .grad)" if instead else "")
        )
    if not callable(getattr(node, "backward", None)):
        instead = [n for n in _BACKWARD_NAMES if callable(getattr(node, n, None))] or [
            n  # `_backward` is a node's own step, in micrograd's style: no whole pass
            for n in sorted(dir(node))
            if not n.startswith("_") and _sounds_like_backward(n) and callable(getattr(node, n))
        ]
        problems.append(
            f"has no backward() (found {instead[0]}(), not backward())"
            if instead
            else "has no backward()"
        )
    return "; ".join(problems)


def _array_node(cls: type) -> str | None:
    """Where a class that refuses floats keeps its array, if it takes a numpy array and makes a
    node of it (None when numpy is missing: then it is no engine minigrad can use)."""
    try:
        import numpy

        node = make_leaf(cls, numpy.array([1.0, 2.0]))
    except Exception:
        return None
    missing = what_is_missing(node)
    if missing:
        raise EngineError(
            f"{cls.__name__}(0.5) raises, and {cls.__name__}(numpy.array([1.0, 2.0])) {missing}"
        )
    return find_data_attribute(node) or None


def _holds_arrays(cls: type, data_attr: str = "data") -> str:
    """What a node built from a list (or an array) holds, if it is an array of one or more
    dimensions."""
    try:
        data = getattr(make_leaf(cls, [1.0, 2.0]), data_attr)
    except Exception:
        return ""
    shape = getattr(data, "shape", None)
    if isinstance(shape, tuple) and len(shape) >= 1:
        return f"an array of shape {shape}"
    return ""


def _submodule_hint(module: ModuleType, class_name: str) -> str:
    """Where a package that does not export the class has it: pytorch-mini's `minitorch`
    imports its module `tensor` but not `Tensor` from it.  Only modules the package itself
    imported are read: nothing more of the engine is run to find it."""
    prefix = f"{module.__name__}."
    homes = sorted(
        name
        for name, sub in list(sys.modules.items())
        if name.startswith(prefix)
        and isinstance(getattr(sub, class_name, None), type)
        and getattr(sub, class_name).__module__ == name
    )
    if not homes:
        return ""
    return f"; {homes[0]} defines it: use --engine {homes[0]}:{class_name}"


def _gradients_function_hint(module: ModuleType) -> str:
    """An engine whose gradients come back from a function of the output, in a mapping
    (`get_gradients(variable)`, the style of a reverse-mode tutorial many copy), not in each
    node's `.grad` after a backward pass: what minigrad needs instead."""
    functions = [
        name
        for name, f in vars(module).items()
        if isinstance(f, FunctionType)
        and f.__module__ == module.__name__
        and name.lower().endswith(("gradients", "grads"))  # not zero_grad(params)
        and not name.lower().startswith(("zero", "reset", "clear", "null"))
        and f.__code__.co_argcount >= 1
    ]
    if not functions:
        return ""
    return (
        f"; its gradients seem to come back from {functions[0]}(...), a function, where minigrad "
        "reads each input's .grad after the output's backward(): `self.grad = 0` in the "
        f"constructor and a backward() that adds what {functions[0]}(self) returns to each "
        "node's .grad let `minigrad gradcheck` check it"
    )


def _candidates_hint(module: ModuleType, spec_text: str) -> str:
    classes = [c.__name__ for c in node_classes(module)]
    if not classes:
        return ""
    target = spec_text.rpartition(":")[0] if ":" in spec_text else spec_text
    return f"; classes with a backward(): {', '.join(classes)} (use --engine {target}:CLASS)"


def class_line(cls: type) -> int:
    for attr in vars(cls).values():
        function = function_of(attr)
        if function is not None:
            return function.__code__.co_firstlineno
    return 0
