"""Graph order under control: the same engine and tests give the same verdict on every run.

Engines in micrograd's style keep a node's children in a `set`
(`self._prev = set(_children)`) and build `backward()`'s topological order by
walking them.  A set of nodes iterates in the order of the nodes' addresses,
which change from run to run, so a mutant that breaks accumulation on a node
with several consumers may be caught in one run and missed in the next.

minigrad serves such an engine (one whose own file keeps a `set(...)` in a
node's attribute) a `set` whose iteration order it chooses: its module's globals get
:class:`ControlledSet` under that name.  Order 0 is insertion
order, order 1 its reverse, orders 2 to 7 a fixed pseudo-random permutation
of each set, seeded by the order and the set's creation number.  Creation
numbers restart, and `random` is reseeded (numpy's generators too), before each case, test
or probe (:func:`fresh`), so an item runs the same way in any child, after any other.

A judge runs on order 0; a mutant counts as killed only if it is caught in
every one of the :data:`ORDERS` orders.  A run records the sets it iterated
(:func:`served`): in another order where each of them comes out the same
(:func:`same_run`), the run would be the very same, so it need not run again.
Children kept in a `frozenset(...)` get :class:`ControlledFrozenSet` (a
frozenset, still hashable, iterating in the chosen order), and a class of the
engine's that subclasses `set` inherits from the served set.  A set display kept
as children (`self._prev = {a, b}`, `{c for c in children if c.requires_grad}`),
which no name lookup makes, is served as the call of `set` it stands for
(:func:`served_displays`, in the engine's code as it is run; its files are
unchanged).
"""

from __future__ import annotations

import ast
import copy
import os
import random
import sys
from collections.abc import Callable, Iterable, Iterator, Mapping, MutableSet
from typing import Any, TypeVar

__all__ = [
    "ENV",
    "ORDERS",
    "SERVED_LOG",
    "ControlledFrozenSet",
    "ControlledSet",
    "Served",
    "current_order",
    "first_in_an_order",
    "fresh",
    "order_sensitive",
    "orders_to_explore",
    "repeats",
    "same_run",
    "served",
    "served_displays",
    "served_names",
    "set_order",
]

# Eight orders: insertion, reversed, and six permutations.  Two children whose order matters
# are swapped in about half of them, so a mutant caught by luck of the order is very unlikely
# to be caught in all eight.  $MINIGRAD_ORDERS (1 to 64) sets another number: 1 judges in
# insertion order alone (still reproducible, blind to luck), which is how bench.py measures
# what exploring the orders costs.
ORDERS = 8
ENV = "MINIGRAD_ORDERS"
MAX_ORDERS = 64


def orders_to_explore() -> int:
    """ORDERS, or $MINIGRAD_ORDERS when it holds a whole number from 1 to 64."""
    text = os.environ.get(ENV, "").strip()
    if not text:
        return ORDERS
    if not text.isdigit() or not 1 <= int(text) <= MAX_ORDERS:
        raise ValueError(f"${ENV} must be a whole number from 1 to {MAX_ORDERS}, got {text!r}")
    return int(text)


_MASK = (1 << 64) - 1
_state = {"order": 0, "serial": 0, "overflow": 0}
# The sets iterated since fresh() with two items or more, as (creation number, size): what
# decides how a run goes.  Up to SERVED_LOG of them: a run that iterates more is never taken
# for another order's (two orders agree on 64 sets about once in 2**64 runs).
SERVED_LOG = 64
_served: list[tuple[int, int]] = []
Served = tuple[tuple[int, int], ...] | None  # what served() says of a run


def current_order() -> int:
    return _state["order"]


def set_order(order: int) -> None:
    """From now on, in this process, every ControlledSet iterates in `order`."""
    _state["order"] = order


# What numpy's unseeded generators draw their seed from (`np.random.default_rng()`, a
# `SeedSequence()` with no entropy): the operating system's, a new one in every process, so
# a test's random inputs, and a mutant's verdict, changed from run to run (a student's
# tensor tests: 9.4% and 10.4% in alternate runs).  fresh() has them draw it from here.
_ENTROPY = random.Random(0)


def fresh() -> None:
    """Before an item (case, test, probe): creation numbers from 0, `random` reseeded, and
    numpy's legacy generator and its fresh generators' entropy (`default_rng()`) too.

    The order stays as :func:`set_order` left it."""
    _state["serial"] = 0
    _state["overflow"] = 0
    _served.clear()
    random.seed(0)
    numpy = sys.modules.get("numpy")
    if numpy is not None:
        numpy.random.seed(0)
    bit_generator = sys.modules.get("numpy.random.bit_generator")
    if bit_generator is not None and hasattr(bit_generator, "randbits"):
        _ENTROPY.seed(0)  # each default_rng() of the item a seed of its own, the same each run
        vars(bit_generator)["randbits"] = _ENTROPY.getrandbits  # what SeedSequence() calls


def served() -> Served:
    """The sets iterated since :func:`fresh` with two items or more: (creation number, size)
    of each, in the order they were; None if there were more than SERVED_LOG."""
    return None if _state["overflow"] else tuple(_served)


def same_run(sets: Iterable[tuple[int, int]], order: int, other: int) -> bool:
    """Would a run that iterated `sets` in graph order `other` get each of them in the same
    arrangement in `order`?  Then it is the same run: with the same inputs, every set comes
    out the same, so it takes the same path, makes the same sets, and ends the same way."""
    return all(_arrangement(order, s, n) == _arrangement(other, s, n) for s, n in sets)


def repeats(runs: Mapping[int, Served], order: int) -> list[int]:
    """The orders among `runs` (graph order -> the sets its run iterated) whose run a run in
    `order` would be (same_run); none for a run that iterated too many sets to tell."""
    return [o for o, sets in runs.items() if sets is not None and same_run(sets, order, o)]


_Found = TypeVar("_Found")


def first_in_an_order(orders: int, run: Callable[[int], _Found | None]) -> _Found | None:
    """`run(order)` in graph order 0, then in each other of `orders` whose run would differ from
    those made (`repeats`), the process set to that order; the first result that is not None,
    or None.  `run` starts its item afresh (`fresh`: the sets it logs are its own).  Leaves
    the process in order 0."""
    runs: dict[int, Served] = {}
    try:
        for order in range(orders):
            if repeats(runs, order):  # the very run of an order made already
                continue
            set_order(order)
            found = run(order)
            runs[order] = served()
            if found is not None:
                return found
    finally:
        set_order(0)
    return None


def _arrangement(order: int, serial: int, size: int) -> list[int]:
    """The positions, in insertion order, of a set's items as the set numbered `serial`
    iterates them in `order`: insertion order, its reverse, or a fixed permutation."""
    if order == 0 or size < 2:
        return list(range(size))
    if order == 1:
        return list(range(size - 1, -1, -1))
    keys = [_mix(order, serial, i) for i in range(size)]
    return sorted(range(size), key=keys.__getitem__)


def _mix(*values: int) -> int:
    """A fixed 64-bit mix of small integers (splitmix64's finaliser): same input, same key."""
    x = 0
    for v in values:
        x = (x ^ (v + 0x9E3779B97F4A7C15 + (x << 6) + (x >> 2))) & _MASK
        x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & _MASK
        x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & _MASK
        x ^= x >> 31
    return x


class ControlledSet(MutableSet[Any]):
    """A set that iterates in the order minigrad chooses (insertion order by default)."""

    __slots__ = ("_items", "_serial")

    def __init__(self, items: Iterable[Any] = ()) -> None:
        self._items: dict[Any, None] = dict.fromkeys(items)
        self._serial = _state["serial"]
        _state["serial"] += 1

    @classmethod
    def _from_iterable(cls, items: Iterable[Any]) -> ControlledSet:
        return cls(items)

    def __contains__(self, item: object) -> bool:
        return item in self._items

    def __len__(self) -> int:
        return len(self._items)

    def __iter__(self) -> Iterator[Any]:
        if len(self._items) < 2:  # one order only, and nothing to log
            return iter(self._items)
        return iter(self._arranged(list(self._items), self._serial))

    def members(self) -> Iterable[Any]:
        """The items in insertion order, for minigrad's own walks of a graph (zeroing its
        gradients, counting children): their order decides nothing, so it is neither
        arranged nor logged as a set the run iterated."""
        return self._items.keys()

    @staticmethod
    def _arranged(items: list[Any], serial: int) -> list[Any]:
        """`items` (in insertion order) in the current order, for the set numbered `serial`."""
        order = _state["order"]
        if len(items) < 2:
            return items
        if len(_served) < SERVED_LOG:
            _served.append((serial, len(items)))
        else:
            _state["overflow"] = 1
        if order == 0:
            return items
        if order == 1:
            return items[::-1]
        return [items[i] for i in _arrangement(order, serial, len(items))]

    def add(self, item: Any) -> None:
        self._items[item] = None

    def discard(self, item: Any) -> None:
        self._items.pop(item, None)

    def copy(self) -> ControlledSet:
        return ControlledSet(self._items)

    def update(self, *others: Iterable[Any]) -> None:
        for other in others:
            self._items.update(dict.fromkeys(other))

    def union(self, *others: Iterable[Any]) -> ControlledSet:
        result = self.copy()
        result.update(*others)
        return result

    def __repr__(self) -> str:
        return f"{{{', '.join(map(repr, self._items))}}}" if self._items else "set()"


class ControlledFrozenSet(frozenset[Any]):
    """A frozenset (hashable, equal to any set of the same items) that iterates in the order
    minigrad chooses, as :class:`ControlledSet` does."""

    _order: tuple[Any, ...]
    _serial: int

    def __new__(cls, items: Iterable[Any] = ()) -> ControlledFrozenSet:
        ordered = tuple(dict.fromkeys(items))
        made = super().__new__(cls, ordered)
        made._order = ordered
        made._serial = _state["serial"]
        _state["serial"] += 1
        return made

    def __iter__(self) -> Iterator[Any]:
        return iter(ControlledSet._arranged(list(self._order), self._serial))

    def members(self) -> Iterable[Any]:
        """The items in insertion order, unarranged and unlogged (`ControlledSet.members`)."""
        return self._order

    def __repr__(self) -> str:
        return f"frozenset({set(self._order)!r})" if self._order else "frozenset()"


def served_names() -> dict[str, Any]:
    """What an order-sensitive engine's globals get: its classes that subclass `set` are
    defined after these are in place, so they inherit the served order too."""
    return {"set": ControlledSet, "frozenset": ControlledFrozenSet}


_SERVED = ("set", "frozenset")


def _set_classes(tree: ast.AST) -> set[str]:
    """Classes of the engine that subclass set or frozenset (`class Children(set)`)."""
    return {
        node.name
        for node in ast.walk(tree)
        if isinstance(node, ast.ClassDef)
        and any(isinstance(b, ast.Name) and b.id in _SERVED for b in node.bases)
    }


def _makes_a_set(node: ast.AST | None, classes: set[str]) -> bool:
    return (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and (node.func.id in _SERVED or node.func.id in classes)
    )


def _attribute_values(tree: ast.AST) -> Iterator[tuple[int, ast.expr]]:
    """(line, value) of each assignment to an attribute: what a node keeps."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign):
            targets, value = node.targets, node.value
        elif isinstance(node, ast.AnnAssign) and node.value is not None:
            targets, value = [node.target], node.value
        else:
            continue
        if any(isinstance(target, ast.Attribute) for target in targets):
            yield node.lineno, value


def _kept_sets(tree: ast.AST) -> list[int]:
    """Lines that keep a set in a node's attribute (`self._prev = set(_children)`, a
    frozenset, a set subclass of the engine's, or a set display): the children a topological
    sort walks.  A local `visited = set()` is only asked `in`, whose answer does not depend on
    order."""
    classes = _set_classes(tree)
    return [
        line
        for line, value in _attribute_values(tree)
        if _makes_a_set(value, classes) or _displays_in(value)
    ]


def _displays_in(value: ast.AST) -> list[ast.Set | ast.SetComp]:
    return [node for node in ast.walk(value) if isinstance(node, ast.Set | ast.SetComp)]


def order_sensitive(source: str) -> bool:
    """Does the engine keep children in a set, whose order would follow addresses?"""
    try:
        return bool(_kept_sets(ast.parse(source)))
    except (SyntaxError, ValueError, RecursionError):
        return False


_Tree = TypeVar("_Tree", bound=ast.AST)


class _AsSetCalls(ast.NodeTransformer):
    """`{a, b}` -> `set((a, b))`, `{c for c in cs}` -> `set(c for c in cs)`: the same set,
    made by the `set` the served globals hold (a generator runs its loops in the scope a set
    comprehension does)."""

    def __init__(self, displays: set[int]) -> None:
        self.displays = displays

    def visit_Set(self, node: ast.Set) -> ast.AST:
        self.generic_visit(node)
        if id(node) not in self.displays:
            return node
        return ast.copy_location(_call_set(ast.Tuple(node.elts, ast.Load())), node)

    def visit_SetComp(self, node: ast.SetComp) -> ast.AST:
        self.generic_visit(node)
        if id(node) not in self.displays:
            return node
        return ast.copy_location(_call_set(ast.GeneratorExp(node.elt, node.generators)), node)


def _call_set(argument: ast.expr) -> ast.Call:
    return ast.Call(ast.Name("set", ast.Load()), [argument], [])


def served_displays(tree: _Tree) -> _Tree:
    """`tree` (the engine's module, or a function of it a mutant replaces) with each set
    display a node keeps made by a call of `set`, so that the served set holds its order
    (`self._prev = {c for c in _children if c.requires_grad}`, nabla's on GitHub, was left
    in the order of addresses until 2026-12-06, and the reports said so).  Line numbers
    are kept; `tree` itself is left as it is (a mutant's tree shares nodes with the index)."""
    if not any(_displays_in(value) for _, value in _attribute_values(tree)):
        return tree
    tree = copy.deepcopy(tree)
    displays = {id(d) for _, value in _attribute_values(tree) for d in _displays_in(value)}
    _AsSetCalls(displays).visit(tree)  # a display is never the root: the tree stays itself
    return ast.fix_missing_locations(tree)
