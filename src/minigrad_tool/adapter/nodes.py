"""Reading and writing the nodes of any micrograd-style engine.

A node has `.data`, `.grad` and `.backward()`, and keeps its operands in some
attribute (`_prev`, `_children`, `prev`, `kids`, ...).  Engines store numbers
as floats, ints or 0-d NumPy arrays, at 64 or 32 bits.  Everything minigrad
does to a node goes through :class:`NodeAccess`, so that knowledge lives here.
"""

from __future__ import annotations

import contextlib
import copy
import enum
import functools
import inspect
import operator
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from types import FunctionType
from typing import Any

from minigrad_tool.adapter.order import ControlledFrozenSet, ControlledSet

__all__ = [
    "BACKWARD_ALIASES",
    "CHILDREN_NAMES",
    "COERCIBLE",
    "DATA_NAMES",
    "FACTORY_METHODS",
    "FACTORY_NAMES",
    "GRAD_ALIASES",
    "GRAD_RESETS",
    "LEAF_LABEL",
    "NODE_ATTRS",
    "NodeAccess",
    "NotANumber",
    "ReadOnlyGrad",
    "alias_backward",
    "alias_grad",
    "attribute_names",
    "backward_name",
    "backward_resets",
    "backward_seeds",
    "coerce_numbers",
    "coerced",
    "coerced_for_minigrad",
    "cut_from_graph",
    "find_data_attribute",
    "forget_leaf_factory",
    "grad_is_lazy",
    "grad_is_owned",
    "grad_is_read_only",
    "grad_name",
    "grad_number",
    "grad_reset",
    "grad_wrapper",
    "install_leaf_factory",
    "is_node",
    "is_number",
    "leaf_enums",
    "leaf_factory",
    "leaf_keywords",
    "leaf_label",
    "leaf_maker",
    "make_leaf",
    "numbers_made_leaves",
    "read_attribute",
    "real",
    "remember_backward_resets",
    "require_writable_grad",
    "set_leaf_factory",
    "takes_no_arguments",
    "takes_nodes_only",
]

# Where engines keep a node's operands, most common first.
CHILDREN_NAMES = (
    "_prev",
    "_children",
    "prev",
    "children",
    "_parents",
    "parents",
    "kids",
    "_kids",
    "_inputs",
    "inputs",
    "_operands",
    "operands",
    "_src",
    "src",
    "dependency",
    "dependencies",
)
# Sets of any kind count: the `set` minigrad serves an order-sensitive engine is a Set too.
_COLLECTIONS = (tuple, list, AbstractSet)
_SERVED = (ControlledSet, ControlledFrozenSet)  # the sets served to an engine (adapter.order)


class NotANumber(ValueError):
    """A node's data or grad is not a real number (a complex, a string, a 2-element array)."""


def real(x: object, what: str) -> float:
    """`x` as a float; NotANumber if it is not one real number."""
    if isinstance(x, float):
        return x
    if isinstance(x, complex | str | bytes):
        raise NotANumber(f"{what} is {x!r}, not a real number")
    try:
        value = float(x)  # type: ignore[arg-type]
    except (TypeError, ValueError, OverflowError) as err:
        raise NotANumber(f"{what} is {type(x).__name__} {x!r:.60}, not a real number") from err
    return value


def mantissa_bits(one_plus: Callable[[float], float]) -> int:
    """Mantissa bits of a number type: the last k for which 1 + 2**-k is not 1."""
    for k in range(1, 70):
        if one_plus(2.0**-k) == 1.0:
            return k - 1
    return 64


# Where an engine may keep a node's number: `.data` (micrograd), else one of these names
# (`cached_data`: CMU's needle, whose `.data` is a detached node, not the array).
DATA_NAMES = ("data", "val", "value", "_data", "_val", "num", "cached_data")
# Where some engines keep a node's gradient instead of `.grad` (`self.gradient += out.gradient`:
# micrograd clones on GitHub, dragongrad on the registry): minigrad reads and writes it as
# `.grad`, a property it gives the class in its own processes.
GRAD_ALIASES = ("gradient", "_grad", "derivative")
# A name read as `x.<attr>` in a backward step marks x as a node (for swap mutants).
NODE_ATTRS = ("grad", *GRAD_ALIASES, *DATA_NAMES)  # `._grad`: behind a read-only `grad` too


def is_number(value: object) -> bool:
    """A number, or an array of them; not a method, a bool or a string."""
    if callable(value) or isinstance(value, bool | str | bytes):
        return False
    try:
        float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError, OverflowError):
        return getattr(value, "shape", None) is not None  # an array: a tensor engine's number
    return True


def find_data_attribute(node: object, number: float | None = None) -> str | None:
    """The attribute that holds a node's number: `.data` if it is one, else the first of the
    other usual names that holds a number (`number` itself, when the caller knows it)."""
    for name in DATA_NAMES:
        value = getattr(node, name, None)
        if not is_number(value) or isinstance(value, type(node)):  # a detached copy (needle)
            continue
        if number is None or name == "data":
            return name
        try:
            if float(value) == number:  # type: ignore[arg-type]
                return name
        except (TypeError, ValueError):
            return name
    return None


def is_node(x: object) -> bool:
    """Duck typing: a number (in .data or another usual name), a callable backward(), and
    .grad, or a class whose `.grad` a backward makes (needle's)."""
    return (
        callable(getattr(x, "backward", None))
        and (hasattr(x, "data") or find_data_attribute(x) is not None)
        and (hasattr(x, "grad") or grad_is_lazy(type(x)))
    )


def attribute_names(node: object) -> list[str]:
    """The attributes an object keeps: its `__dict__`'s, then each class's `__slots__`, once."""
    names = list(getattr(node, "__dict__", {}))
    for klass in type(node).__mro__:
        slots = klass.__dict__.get("__slots__", ())
        names += [slots] if isinstance(slots, str) else list(slots)
    return list(dict.fromkeys(names))


def find_children_attribute(node: object, operands: tuple[object, ...] = ()) -> str | None:
    """The attribute of `node` that holds its operands.

    With `operands` (the nodes an op was applied to), the attribute must hold
    them all, on the node or on the record of its op it keeps (`ctx._prev`); without,
    a known name holding a collection is taken.
    """
    found = _holding(node, operands)
    return found if found is not None or not operands else _held_by_a_part(node, operands)


def _holding(node: object, operands: tuple[object, ...]) -> str | None:
    names = [n for n in CHILDREN_NAMES if n in attribute_names(node) or hasattr(node, n)]
    names += [n for n in attribute_names(node) if n not in names]
    for name in names:
        value = getattr(node, name, None)
        if isinstance(value, dict):
            value = list(value.values())
        if not isinstance(value, _COLLECTIONS):
            continue
        if operands:
            held = {id(v) for v in value}
            if all(id(o) in held for o in operands):
                return name
        elif name in CHILDREN_NAMES:
            return name
    return None


# What a record of the node's op is not: a collection, a number, a string, a function.
_NOT_A_RECORD = (*_COLLECTIONS, dict, str, bytes, int, float, complex, type, FunctionType)


def _held_by_a_part(node: object, operands: tuple[object, ...]) -> str | None:
    """One level down: the record of its op that the node keeps holds the operands (old
    tinygrad's `_ctx.parents`, DeZero's `creator.inputs`, a GitHub minigrad's `ctx._prev`):
    "ctx._prev", read with :func:`read_attribute`."""
    for name in attribute_names(node):
        try:  # an engine's object may raise anything when asked
            part = getattr(node, name, None)
            if part is None or part is node or isinstance(part, _NOT_A_RECORD) or is_node(part):
                continue
            inner = _holding(part, operands)
        except Exception:
            continue
        if inner is not None:
            return f"{name}.{inner}"
    return None


def read_attribute(node: object, path: str, default: Any = None) -> Any:
    """`node.a`, or `node.a.b` for a path "a.b" (children kept in the op's record)."""
    value: Any = node
    for name in path.split("."):
        value = getattr(value, name, _MISSING)
        if value is _MISSING:
            return default
    return value


_MISSING = object()


def cut_from_graph(out: object, children: str | None, inputs: Sequence[object]) -> str:
    """Why no gradient reaches the inputs, where the graph says it: the output keeps no
    children (an op returned a fresh node, a copy cut from the graph), so backward() never
    reaches them.  "" unless `children` names an empty collection on `out` (or the record
    that would hold it is None: `ctx` of "ctx._prev"), and `out` is none of the inputs."""
    if children is None or any(out is x for x in inputs):
        return ""
    record = children.rpartition(".")[0]
    try:
        if record and read_attribute(out, record) is None:
            said = f"its .{record} is None"
        elif len(read_attribute(out, children)) == 0:
            said = f"its .{children} is empty"
        else:
            return ""
    except Exception:  # not a collection, or not readable: nothing to say
        return ""
    return (
        f"; the output keeps no children ({said}), so backward() never reaches the inputs: "
        "the op returns a node cut from the graph"
    )


# Torch-style constructors make a leaf that gets no gradient unless asked: `requires_grad`
# (ugrad, atomic-autograd), `requiresGrad`, mtorch's `require_grad`, nujo's `diff`, or
# `compute_grad` (a clone on GitHub, whose steps raise without it), defaulting to False.
# Without it, nujo's `.grad` is a fresh `np.empty`: every case read garbage as the op's
# gradient.
_REQUIRES_GRAD = (
    "requires_grad",
    "requiresGrad",
    "require_grad",
    "requires_gradient",
    "compute_grad",
    "diff",
    "differentiable",
)


@functools.cache
def _constructor_parameters(cls: Callable[..., Any]) -> Mapping[str, inspect.Parameter]:
    """The parameters a node's constructor takes: the class's signature, and `__init__`'s
    where that one passes anything on (neurograd's `__new__(cls, data, *args, **kwargs)`
    hides `__init__`'s `requires_grad=False`).  Empty for a compiled class."""
    try:
        parameters = dict(inspect.signature(cls).parameters)
    except (TypeError, ValueError):  # a compiled class without a signature
        return {}
    kinds = {p.kind for p in parameters.values()}
    init = inspect.getattr_static(cls, "__init__", None)
    if inspect.Parameter.VAR_KEYWORD in kinds and isinstance(init, FunctionType):
        passed_on = list(inspect.signature(init).parameters.items())[1:]  # after self
        parameters.update((name, p) for name, p in passed_on if name not in parameters)
    return parameters


def leaf_keywords(cls: Callable[..., Any]) -> tuple[str, ...]:
    """The switches a leaf needs set to True to take part in backward (`requires_grad`): off
    by default (False, or None meaning "decide later"), required, or keyword-only alike."""
    parameters = _constructor_parameters(cls)
    return tuple(
        name
        for name in _REQUIRES_GRAD
        if name in parameters and parameters[name].default is not True
    )


class ReadOnlyGrad(Exception):
    """The engine's `.grad` cannot be written: a property without a setter."""


# Methods engines reset a node's gradient with, when `.grad` itself is read-only.
GRAD_RESETS = (
    "zero_grad",
    "zerograd",
    "null_grad",
    "nullgrad",
    "reset_grad",
    "clear_grad",
    "cleargrad",
)


@functools.cache
def grad_is_read_only(cls: type) -> bool:
    """Is `.grad` a property without a setter (gradients reset through a method)?  Read from
    the class, without making a node."""
    attr = inspect.getattr_static(cls, "grad", None)
    return isinstance(attr, property) and attr.fset is None


def grad_is_lazy(cls: type[Any]) -> bool:
    """Does `.grad` appear only once a backward sets it (CMU's needle: `node.grad = sum(...)`)?
    A fresh leaf has none, and backward() on it makes one.  Runs engine code (call in a
    child); measured once per class."""
    return _grad_start(cls)[0]


def grad_wrapper(cls: type[Any]) -> str:
    """The engine's own gradient type (fygrad's `Data`), where `.grad` is None until a
    backward puts one there: a gradient minigrad cannot write.  "" for anything else."""
    return _grad_start(cls)[1]


_ABSENT = object()
_GRAD_STARTS: dict[type[Any], tuple[bool, str]] = {}


def _grad_start(cls: type[Any]) -> tuple[bool, str]:
    if cls not in _GRAD_STARTS:
        _GRAD_STARTS[cls] = _measure_grad_start(cls)
    return _GRAD_STARTS[cls]


def _measure_grad_start(cls: type[Any]) -> tuple[bool, str]:
    made = _first_leaves(cls)
    if made is None:
        return False, ""
    leaf = made[0]
    before = getattr(leaf, "grad", _ABSENT)
    if before is not _ABSENT and before is not None:
        return False, ""
    try:
        leaf.backward()
    except Exception:
        return False, ""
    if before is _ABSENT:
        return hasattr(leaf, "grad"), ""
    return False, _wrapper_name(getattr(leaf, "grad", None), cls)


def _wrapper_name(grad: Any, cls: type[Any]) -> str:
    """The name of a gradient's type if it is a wrapper of the engine's own (not a number, an
    array, nor a node) that keeps its array in `.data`."""
    kind = type(grad)
    if grad is None or isinstance(grad, int | float | cls) or kind.__module__ == "numpy":
        return ""
    return kind.__name__ if getattr(grad, "shape", None) is not None else ""


def _zero_d_array() -> Any:
    import numpy  # only for a class that refuses a float (a tensor engine's)

    return numpy.array(0.5)


_LEAF_VALUES: tuple[Callable[[], Any], ...] = (lambda: 0.5, _zero_d_array)


def _first_leaves(cls: type[Any], count: int = 1) -> list[Any] | None:
    """`count` fresh leaves of the first value of _LEAF_VALUES the class makes leaves of (a
    number, else a 0-d array: DeZero's Variable takes arrays only); None where it makes none."""
    for value in _LEAF_VALUES:
        try:
            return [make_leaf(cls, value()) for _ in range(count)]
        except Exception:
            continue
    return None


# What some engines call their whole backward pass (`backwards()`: NanoAutoGrad 0.1.2,
# nanograd-bgriebel 0.1.4; `backprop()`: delgrada 0.1.2; `backwardPropagation()`: quackgrad
# 0.1.0): minigrad calls it as `backward()`, an alias it gives the class in its own processes.
BACKWARD_ALIASES = (
    "backwards",
    "backprop",
    "backpropagate",
    "backwardPropagation",
    "backward_pass",
)
_ALIASED: dict[type[Any], str] = {}


def alias_backward(cls: type[Any], named: str | None = None) -> str:
    """Where `cls` has no `backward()` but a backward pass under another name of
    BACKWARD_ALIASES (or `named`, the user's name for it, alone), callable with no argument,
    give the class a `backward` that is that very function (so a mutant of it is a mutant of
    both), in this process only: never in the engine's files.  The name aliased, or "" (also
    where the class refuses the attribute)."""
    if cls in _ALIASED:
        return _ALIASED[cls]
    if callable(inspect.getattr_static(cls, "backward", None)):
        return ""
    for name in (named,) if named else BACKWARD_ALIASES:
        method = inspect.getattr_static(cls, name, None)
        if callable(method) and takes_no_arguments(getattr(cls, name), unreadable=True):
            try:
                cls.backward = method
            except (AttributeError, TypeError):  # a compiled class that takes no attribute
                return ""
            _ALIASED[cls] = name
            return name
    return ""


def backward_name(cls: type[Any]) -> str:
    """What the engine itself calls its backward pass: `backward`, or the name aliased."""
    return _ALIASED.get(cls) or "backward"


_GRAD_ALIASED: dict[type[Any], str] = {}


def alias_grad(cls: type[Any], name: str | None = None) -> str:
    """Where the nodes of `cls` have no `.grad` but keep their gradient under another name of
    GRAD_ALIASES (a number, or None until a backward), give the class a `grad` property that
    reads and writes that very attribute, in this process only: never in the engine's files.
    `name`: the alias discovery found (Profile.grad_name), installed without making a node;
    else a leaf is made to find it (runs engine code: call in a child).  The name aliased, or
    "" (also where the class refuses the attribute)."""
    if cls in _GRAD_ALIASED:
        return _GRAD_ALIASED[cls]
    if name is None:
        name = _grad_kept_as(cls)
    if not name or name == "grad" or inspect.getattr_static(cls, "grad", None) is not None:
        return ""
    engine_own = inspect.getattr_static(cls, name, None)
    read_only = isinstance(engine_own, property) and engine_own.fset is None
    try:
        cls.grad = property(  # read-only as the engine's own is (grad_is_read_only)
            operator.attrgetter(name),
            None if read_only else lambda node, value: setattr(node, name, value),
            doc=f"minigrad's name for .{name}",
        )
    except (AttributeError, TypeError):  # a compiled class that takes no attribute
        return ""
    _GRAD_ALIASED[cls] = name
    return name


def _grad_kept_as(cls: type[Any]) -> str:
    """The name of GRAD_ALIASES a fresh leaf keeps its gradient in ("" where a leaf has `.grad`,
    none of them, or cannot be made yet: a leaf factory not found so far)."""
    made = _first_leaves(cls)
    if made is None or hasattr(made[0], "grad"):
        return ""
    for name in GRAD_ALIASES:
        kept = getattr(made[0], name, _ABSENT)
        if kept is None or (kept is not _ABSENT and is_number(kept)):
            return name
    return ""


def grad_name(cls: type[Any]) -> str:
    """What the engine itself calls a node's gradient: `grad`, or the name aliased."""
    return _GRAD_ALIASED.get(cls) or "grad"


# Binary operators an engine may take nodes only in (`Value(self.data + other.data)` with no
# `Value(other)` for a number: micrograd as its lecture first builds it), whose number operand
# minigrad makes a leaf of in its own processes (coerce_numbers).
COERCIBLE = ("__add__", "__sub__", "__mul__", "__truediv__")
_COERCED: dict[type[Any], tuple[str, ...]] = {}
# Of those, the operators the engine's own code calls with a number (`-x` as `self * -1`):
# those crash, a bug of the engine's that its users meet, so only minigrad's own number
# operands (the battery's constants, its scaled outputs `out * w`) are made leaves there.
_COERCED_FOR_MINIGRAD: dict[type[Any], tuple[str, ...]] = {}


def takes_nodes_only(cls: type[Any], method: str, operand: float) -> str:
    """Where `x.method(operand)` fails with the TypeError or AttributeError of an operand that
    is not a node (`'float' object has no attribute 'data'`) and `x.method(node)` works: that
    error, said; else "".  Runs engine code (call in a child)."""
    try:
        x, node = make_leaf(cls, 1.5), make_leaf(cls, operand)
        getattr(x, method)(node)
    except Exception:
        return ""
    try:
        getattr(x, method)(operand)
    except (TypeError, AttributeError) as err:
        return f"{type(err).__name__}: {err}"
    except Exception:
        return ""
    return ""


def coerce_numbers(
    cls: type[Any], methods: Sequence[str], for_minigrad: Sequence[str] = ()
) -> tuple[str, ...]:
    """Where the engine's `methods` take nodes only (takes_nodes_only), give the class, in this
    process only, methods that make a leaf of a number operand and call the engine's own with
    it (`x + 2.0` runs the engine's `x + Value(2.0)`): the battery's constants and scaled
    outputs are then the engine's own nodes.  Those of `for_minigrad` do so for minigrad's own
    calls only, never for the engine's code (whose `self * -1` crashes as its users see).  The
    engine's functions are kept as they are (a mutant's code is swapped into them) and reached
    through `__wrapped__`.  The methods so given (either way)."""
    if cls in _COERCED:
        return _COERCED[cls]
    everywhere = [name for name in methods if _made_coercing(cls, name) is not None]
    ours = [name for name in for_minigrad if _made_coercing(cls, name, True) is not None]
    _COERCED_FOR_MINIGRAD[cls] = tuple(ours)
    _COERCED[cls] = (*everywhere, *ours)
    return _COERCED[cls]


@contextlib.contextmanager
def numbers_made_leaves(cls: type[Any], method: str) -> Iterator[None]:
    """While the block runs, `method` makes a leaf of a number operand (as coerce_numbers)."""
    own = method in vars(cls)  # else inherited: the class gets none of its own back
    engine_own = _made_coercing(cls, method)
    try:
        yield
    finally:
        if engine_own is not None and own:
            setattr(cls, method, engine_own)
        elif engine_own is not None:
            delattr(cls, method)


def _made_coercing(cls: type[Any], name: str, for_minigrad: bool = False) -> FunctionType | None:
    """Give the class a `name` that makes a leaf of a number operand: the engine's function it
    calls, or None where there is none (no Python function, a class that takes no attribute)."""
    engine_own = inspect.getattr_static(cls, name, None)
    if not isinstance(engine_own, FunctionType):
        return None
    try:
        setattr(cls, name, _coercing(cls, engine_own, for_minigrad))
    except (AttributeError, TypeError):  # a compiled class that takes no attribute
        return None
    return engine_own


def _coercing(
    cls: type[Any], engine_own: FunctionType, for_minigrad: bool
) -> Callable[[Any, Any], Any]:
    @functools.wraps(engine_own)
    def method(node: Any, other: Any) -> Any:
        if (
            isinstance(other, int | float)
            and not isinstance(other, bool)
            and (not for_minigrad or _called_by_minigrad())
        ):
            other = make_leaf(cls, float(other))
        return engine_own(node, other)

    return method


def _called_by_minigrad() -> bool:
    """Is the operator's caller minigrad's own code (`out * w` in the checker), not the
    engine's?  Read from the calling frame: an operator is called from Python code there (the
    interpreter's dispatch of `*` makes no frame of its own), two frames up from here."""
    caller = sys._getframe(2).f_globals.get("__name__", "")
    return isinstance(caller, str) and caller.partition(".")[0] == "minigrad_tool"


def coerced(cls: type[Any]) -> tuple[str, ...]:
    """The methods coerce_numbers gave the class, either way."""
    return _COERCED.get(cls, ())


def coerced_for_minigrad(cls: type[Any]) -> tuple[str, ...]:
    """Of those, the methods that make leaves of minigrad's own number operands only."""
    return _COERCED_FOR_MINIGRAD.get(cls, ())


def takes_no_arguments(method: Callable[..., Any], unreadable: bool = False) -> bool:
    """Callable as `x.m()`: every parameter after self has a default (`unreadable` where no
    signature can be read: a compiled method's)."""
    try:
        parameters = list(inspect.signature(method).parameters.values())[1:]
    except (TypeError, ValueError):
        return unreadable
    return all(
        p.default is not p.empty or p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD) for p in parameters
    )


_RESETS: dict[type[Any], bool] = {}


def backward_resets(cls: type[Any]) -> bool:
    """Does backward() itself set the `.grad` of every node it visits to zero before the pass
    (nano-autograds 1.1.1: "set grad to zero to prevent previous values affecting the
    result")?  Then a pre-seeded gradient is gone before any step adds to it: the engine
    owns its gradients, and a second backward gives the new graph's alone.  Runs engine code
    (call in a child); measured once per class, or as the unmutated engine's profile says
    (`remember_backward_resets`): a mutant never decides what is expected of it."""
    if cls not in _RESETS:
        _RESETS[cls] = _measure_backward_resets(cls)
    return _RESETS[cls]


def remember_backward_resets(cls: type[Any], resets: bool) -> None:
    """What discovery measured on the unmutated engine (Profile.backward_resets)."""
    _RESETS[cls] = resets


def _probed(cls: type[Any], measure: Callable[[Any, Any], bool], *, otherwise: bool) -> bool:
    """`measure(x, root)` on a leaf and a node that holds it (`_leaf_and_holder`), or
    `otherwise` where they cannot be built or the engine raises: each probe of backward()
    says which answer claims nothing without the evidence."""
    try:
        probe = _leaf_and_holder(cls)
        return otherwise if probe is None else measure(*probe)
    except Exception:
        return otherwise


def _leaf_and_holder(cls: type[Any]) -> tuple[Any, Any] | None:
    """A leaf x, and a node with no backward step of its own that holds it (a fresh leaf whose
    children are set to hold x): the probes of backward() itself.  None where they cannot be
    built (no leaf from a number or a 0-d array, no children attribute of a known kind); an
    engine error raises."""
    made = _first_leaves(cls, 2)
    if made is None:
        return None
    x, root = made
    children = find_children_attribute(root)
    held = getattr(root, children) if children is not None else None
    if children is None or not isinstance(held, (tuple, list, AbstractSet)):
        return None
    holding: Any = type(held)  # a set, tuple or list: hold x in the same kind
    setattr(root, children, holding([x]))
    return x, root


def _measure_backward_resets(cls: type[Any]) -> bool:
    """A leaf x backpropagated alone (its `.grad` 1, the root's seed), then reached from a node
    with no backward step of its own: x keeps 1 unless backward() reset it.  False where the
    probe cannot be built or read (no children attribute, a refused assignment, an engine
    error): the checks then see what they see; and where `.grad` cannot be written at all: the
    engine owns it anyway."""
    if _grad_is_locked(cls):
        return False

    def reset(x: Any, root: Any) -> bool:
        x.backward()
        if grad_number(x) != 1.0:
            return False
        root.backward()
        return grad_number(x) == 0.0

    return _probed(cls, reset, otherwise=False)


def backward_seeds(cls: type[Any]) -> bool:
    """Does backward() start the pass with the gradient of the node it is called on set to 1
    (micrograd's `self.grad = 1`)?  Measured on a node that holds a leaf and has no backward
    step of its own: after its backward() its `.grad` is 1 where the engine seeds it, and 0
    where it does not (every gradient the engine gives is then 0).  True where the probe
    cannot be built or read (no blame without the evidence).  Runs engine code (call in a
    child, on the unmutated engine: discovery's profile keeps the answer)."""

    def seeded(_: Any, root: Any) -> bool:
        root.backward()
        return grad_number(root) != 0.0

    return _probed(cls, seeded, otherwise=True)


def grad_number(node: Any) -> float:
    """A node's `.grad` as a float: a number, or a 0-d array; anything else raises (call in a
    child: a property may run engine code)."""
    grad: Any = getattr(node, "grad", None)
    if is_number(grad) or getattr(grad, "shape", None) == ():
        return float(grad)
    raise NotANumber(f"grad is {type(grad).__name__}")


def grad_is_owned(cls: type) -> bool:
    """Does the engine own its gradients, so that none can be pre-seeded: `.grad` is a
    read-only property, appears only after a backward (which sets it), or backward() sets
    every gradient it reaches to zero first?"""
    return _grad_is_locked(cls) or backward_resets(cls)


def _grad_is_locked(cls: type) -> bool:
    """Can `.grad` not be written at all (read-only, lazy, or the engine's own wrapper)?"""
    return grad_is_read_only(cls) or grad_is_lazy(cls) or bool(grad_wrapper(cls))


def require_writable_grad(cls: type) -> None:
    """ReadOnlyGrad unless a gradient can be pre-seeded (`.grad = g`)."""
    if grad_is_read_only(cls):
        raise ReadOnlyGrad(f"{cls.__name__}.grad is read-only: it cannot be pre-seeded")
    if grad_is_lazy(cls):
        raise ReadOnlyGrad(
            f"{cls.__name__}.grad appears only after a backward, which sets it: "
            "it cannot be pre-seeded"
        )
    if grad_wrapper(cls):
        raise ReadOnlyGrad(
            f"{cls.__name__}.grad holds the engine's own {grad_wrapper(cls)}: "
            "it cannot be pre-seeded"
        )
    if backward_resets(cls):
        raise ReadOnlyGrad(
            f"{cls.__name__}.backward() sets .grad to zero on every node it reaches: "
            "it cannot be pre-seeded"
        )


@functools.cache
def grad_reset(cls: type) -> str | None:
    """The method that resets a node's gradient (`null_grad()`), for read-only `.grad`."""
    for name in GRAD_RESETS:
        if callable(inspect.getattr_static(cls, name, None)):
            return name
    return None


# Members of a constructor's enum switch that make a leaf trainable (clumsygrad's
# `tensor_type=TensorType.INPUT` by default, `TensorType.PARAMETER` to get gradients).
_TRAINABLE = ("PARAMETER", "PARAM", "TRAINABLE", "VARIABLE", "WEIGHT")


@functools.cache
def leaf_enums(cls: Callable[..., Any]) -> tuple[tuple[str, enum.Enum], ...]:
    """Enum switches of the constructor whose default is not trainable while another member
    is: (keyword, the trainable member)."""
    parameters = _constructor_parameters(cls)
    found = []
    for name, parameter in parameters.items():
        default = parameter.default
        if not isinstance(default, enum.Enum) or default.name in _TRAINABLE:
            continue
        members = type(default).__members__
        member = next((members[m] for m in _TRAINABLE if m in members), None)
        if member is not None:
            found.append((name, member))
    return tuple(found)


# What a constructor calls a label it takes before the value (fygrad's `Node(label, value)`).
_LABEL_NAMES = ("label", "name", "tag", "key")
LEAF_LABEL = "x"  # the label every leaf minigrad makes gets


@functools.cache
def leaf_label(cls: Callable[..., Any]) -> bool:
    """Does the constructor take a required label before the value?"""
    positional = [
        p
        for p in _constructor_parameters(cls).values()
        if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
    ]
    return (
        len(positional) >= 2
        and positional[0].name in _LABEL_NAMES
        and positional[0].default is inspect.Parameter.empty
    )


def make_leaf(cls: type, value: Any) -> Any:
    """A leaf node holding `value` that takes part in backward: `cls(value)`, with
    `requires_grad=True` where the constructor has that switch and it is off by default, a
    trainable member for an enum switch that is not (`tensor_type=TensorType.PARAMETER`), and
    a label first where the constructor wants one (`Node("x", value)`); or the engine's leaf
    factory (`tensor(value)`) where its constructor cannot make one."""
    make = leaf_maker(cls)
    label = (LEAF_LABEL,) if leaf_label(make) else ()
    return make(*label, value, **dict.fromkeys(leaf_keywords(make), True), **dict(leaf_enums(make)))


# Leaf factories found for node classes whose constructor cannot make a leaf: the function
# and how it is spelled from the engine's module (`tensor`, `Tensor.from_numpy`).
_FACTORIES: dict[type, tuple[Callable[..., Any], str]] = {}
# Where engines make leaves when their constructor is internal: module functions first, then
# class and static methods of the node class.
FACTORY_NAMES = ("tensor", "as_tensor", "make_tensor", "value", "variable", "leaf")
FACTORY_METHODS = ("from_numpy", "from_array", "from_data", "from_value", "create", "leaf")


def set_leaf_factory(cls: type, factory: Callable[..., Any], spelled: str) -> None:
    _FACTORIES[cls] = (factory, spelled)


def forget_leaf_factory(cls: type) -> None:
    _FACTORIES.pop(cls, None)


def leaf_factory(cls: type) -> str:
    """How the leaf factory of `cls` is spelled ("" where its constructor makes leaves)."""
    return _FACTORIES.get(cls, (cls, ""))[1]


def leaf_maker(cls: type) -> Callable[..., Any]:
    """What makes a leaf of `cls`: its leaf factory, else the class itself."""
    return _FACTORIES.get(cls, (cls, ""))[0]


def install_leaf_factory(module: Any, cls: type, spelled: str) -> None:
    """In a child, the factory a profile names (`tensor`, `Tensor.from_numpy`), registered."""
    if spelled:
        owner, _, name = spelled.rpartition(".")
        set_leaf_factory(cls, getattr(cls if owner else module, name), spelled)


@dataclass
class NodeAccess:
    """How to create, read, write and walk the nodes of one engine class."""

    cls: type
    children_attr: str | None
    data_attr: str = "data"  # where a node keeps its number
    _zero: Any = field(default=None, repr=False)
    _macheps: float = field(default=0.0, repr=False)
    _owned: bool | None = field(default=None, repr=False)  # grad_is_owned(cls), asked once

    @classmethod
    def infer(cls, node: Any) -> NodeAccess:
        """The access for `node`'s class, guessing where children and the number live."""
        return cls(type(node), find_children_attribute(node), find_data_attribute(node) or "data")

    def leaf(self, x: float) -> Any:
        return make_leaf(self.cls, x)

    def value(self, node: Any) -> float:
        return real(getattr(node, self.data_attr), self.data_attr)

    def grad(self, node: Any) -> float:
        """The node's gradient; 0 where `.grad` is None: no gradient reached it (PyTorch's
        convention, where a fresh leaf's `.grad` is None and an input the output does not use
        keeps it).  An input the output does use and that ends with None still fails its
        check, as 0 against its derivative (the checker says which is None)."""
        grad = getattr(node, "grad", _ABSENT)
        if grad is None:
            return 0.0
        return real(None if grad is _ABSENT else grad, "grad")

    def set_value(self, node: Any, x: float) -> float:
        """Store `x` in the engine's own number type; the value actually stored."""
        setattr(node, self.data_attr, getattr(make_leaf(self.cls, x), self.data_attr))
        return self.value(node)

    @property
    def grad_writable(self) -> bool:
        """Can a gradient be pre-seeded (`.grad = g`)?  Not when the engine owns it."""
        if self._owned is None:  # a walk of a 10,000-node graph asks once per node
            self._owned = grad_is_owned(self.cls)
        return not self._owned

    def set_grad(self, node: Any, g: float) -> None:
        """Store `g` in the engine's own number type: a copy of the zero a fresh leaf has, set
        to `g` when that zero is a 0-d array (an engine may add to it in place, `__iadd__`).
        ReadOnlyGrad where `.grad` cannot be written."""
        require_writable_grad(self.cls)
        zero = self._fresh_zero()
        if getattr(zero, "shape", None) == () and hasattr(zero, "__setitem__"):
            zero[()] = g
            node.grad = zero
        else:
            node.grad = g

    def _fresh_zero(self) -> Any:
        if self._zero is None:
            self._zero = make_leaf(self.cls, 0.0).grad
        if type(self._zero) in (int, float):  # immutable: the same zero serves every node
            return self._zero
        return copy.copy(self._zero)

    def zero_grad(self, node: Any) -> None:
        """Reset `.grad` to the zero a fresh leaf has (0, 0.0 or a 0-d array), or through the
        engine's own method (`null_grad()`) where `.grad` is read-only."""
        if self.grad_writable or not _grad_is_locked(self.cls):  # writable, though reset
            node.grad = self._fresh_zero()
            return
        reset = grad_reset(self.cls)
        if reset is None:
            raise ReadOnlyGrad(
                f"{self.cls.__name__}.grad is read-only and no method resets it "
                f"({', '.join(f'{n}()' for n in GRAD_RESETS[:3])}): gradients cannot start "
                "from zero"
            )
        getattr(node, reset)()

    def macheps(self) -> float:
        """The spacing of the engine's numbers at 1.0: 2**-52 for float64, 2**-23 for float32."""
        if not self._macheps:
            self._macheps = 2.0 ** -mantissa_bits(lambda d: self.value(self.leaf(1.0 + d)))
        return self._macheps

    def scaled(self, out: Any, weight: float) -> tuple[Any, float]:
        """`weight * out` as the engine can build it: with `*`, else `out + out` (weight 2),
        else `out` itself (weight 1: an engine of one op, relu alone; discovery says so)."""
        makers: tuple[Callable[[], Any], ...] = (
            lambda: out * weight,
            lambda: out * self.leaf(weight),
        )
        for make in makers:
            try:
                scaled = make()
            except TypeError:
                continue
            if is_node(scaled):
                return scaled, weight
        try:
            return out + out, 2.0
        except TypeError:
            return out, 1.0

    def children(self, node: Any) -> tuple[Any, ...]:
        if self.children_attr is None:
            return ()
        value: Any = read_attribute(node, self.children_attr, ())
        if type(value) in _SERVED:  # the engine's set, served: our walks need no order
            value = value.members()
        elif isinstance(value, dict):
            value = value.values()
        elif not isinstance(value, (*_COLLECTIONS, type({}.values()))):
            return ()
        # A child of the node class itself is a node; anything else is asked (duck typing).
        cls = self.cls
        found = tuple(value)
        if all(type(v) is cls for v in found):
            return found
        return tuple(v for v in found if type(v) is cls or is_node(v))

    def nodes_below(self, root: Any) -> Iterator[Any]:
        """Every node reachable from `root` through its children, each once, without recursion."""
        seen: set[int] = set()
        stack = [root]
        while stack:
            node = stack.pop()
            if id(node) in seen:
                continue
            seen.add(id(node))
            yield node
            stack.extend(self.children(node))
