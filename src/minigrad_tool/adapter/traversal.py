"""backward()'s walk past a node that two others use, measured once on the unmutated engine.

With the engine's own add: w = x + 2 feeds two nodes, w + 3 and ((w + 4) + 5) + 6, and z
adds them, so dz/dx = 2.  A backward() that runs each node's step once, after every node
that uses it has given it its gradient (micrograd's reversed topological order), gives x
exactly 2.  Two walks give it something else, whatever the ops' steps are:

- "repeats": w's step runs once per path (no visited set: a recursion into the children,
  a topological list holding w twice, a stack that pushes it again), each time passing on
  all the gradient w has gathered so far, so x gets too much;
- "early": w's step runs once, before both of its users have given it their gradient (a
  node's step run as the walk first meets it: depth first preorder, breadth first), so what
  arrives later never reaches x.

w's step is watched through the callable its node keeps it in (`out._backward`, a
`grad_fn`): a wrapper counts its runs and reads w's gradient as each begins.  Blamed only
where the add's step is right on its own (x + 2 gives x 1, (x + 2) + 3 gives 1, and
(x + 3) + (x + 4) gives 2: it passes its upstream gradient on and adds what two users give),
so a wrong add is blamed on add, and an engine whose nodes keep no callable step, or that
passes each path its own share (a recursive `backward(g)`, right), is not blamed.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from typing import Any, Literal

from minigrad_tool.adapter.nodes import NodeAccess, attribute_names, is_node, real
from minigrad_tool.adapter.order import first_in_an_order, fresh, orders_to_explore
from minigrad_tool.adapter.profile import Op, ReuseWalk, apply_op, binary_add

__all__ = ["PATHS_GRAPH", "reuse_walk", "reused_twice", "walks_past_the_output"]

# dz/dx of the probe graph: w = x + 2 is used by two nodes, each passing on gradient 1
_RIGHT = 2.0


def reuse_walk(
    leaf: Callable[[float], Any], access: NodeAccess, ops: Sequence[Op]
) -> ReuseWalk | None:
    """How backward() walks a node two others use, if wrongly (else None; None too where it
    cannot tell: no add, an add wrong on its own, no callable step to watch, an error).
    `leaf` makes a leaf of the engine's from a number, `access` reads its nodes (call in a
    child: both run engine code).  Measured on two graphs (_GRAPHS), in every graph order
    whose run differs (adapter.order): a walk that pushes a node again where its user reaches
    it directly and through another node is wrong only where the set of that user's children
    comes out one way, which a user's run gets by luck of the nodes' addresses."""
    add = binary_add(ops)
    if add is None:
        return None

    def plus(a: Any, b: float) -> Any:
        return apply_op(add, [a, leaf(b)])

    try:
        if not _add_is_right(leaf, plus, add, access.data_attr):
            return None
    except Exception:
        return None
    for graph, build in _GRAPHS.items():

        def walk(order: int, graph: str = graph, build: _Build = build) -> ReuseWalk | None:
            fresh()  # sets numbered from 0: what served() logs is this run's alone
            return _walk(leaf, plus, add, build, access, graph, order)

        wrong = first_in_an_order(orders_to_explore(), walk)
        if wrong is not None:
            return wrong._replace(sharing=_sharing(leaf, access, ops))
    return None


# A graph of _GRAPHS over w: built with `plus` (a node and a number) and the engine's add.
_Build = Callable[[Callable[[Any, float], Any], Op, Any], Any]


def _walk(
    leaf: Callable[[float], Any],
    plus: Callable[[Any, float], Any],
    add: Op,
    build: _Build,
    access: NodeAccess,
    graph: str,
    order: int,
) -> ReuseWalk | None:
    """One graph of _GRAPHS in the current graph order: how its walk went wrong, or None."""
    try:
        x = leaf(0.5)
        w = plus(x, 2.0)
        runs = _watch(w, leaf(0.5), access.data_attr)
        if runs is None:
            return None
        build(plus, add, w).backward()
        got = _grad(x, access.data_attr)
    except Exception:
        return None
    if got == _RIGHT or not runs:
        return None
    if len(runs) == 1 and runs[0] == _RIGHT:
        return None
    kind: Literal["repeats", "early"] = "repeats" if len(runs) > 1 else "early"
    return ReuseWalk(kind, got, len(runs), runs[0], (), graph, order)


def _two_paths(plus: Callable[[Any, float], Any], add: Op, w: Any) -> Any:
    return apply_op(add, [plus(w, 3.0), plus(plus(plus(w, 4.0), 5.0), 6.0)])


def _directly_and_through(plus: Callable[[Any, float], Any], add: Op, w: Any) -> Any:
    return apply_op(add, [plus(w, 3.0), w])


# The first graph, as said: the one a test of the walk is written at (reused_twice).
PATHS_GRAPH = "w + 3 and by ((w + 4) + 5) + 6, the two added"

# The graphs the walk is measured on, each by how it is said, over w = x + 2: with any right
# walk x gets the gradient 2 (_RIGHT).  In the second, z's children are w + 3 and w itself:
# a walk that stacks both, then meets w again below w + 3, stacks it twice, and where the set
# gives it w + 3 first it finishes w twice (an iterative depth-first sort on GitHub).
_GRAPHS: dict[str, _Build] = {
    PATHS_GRAPH: _two_paths,
    "(w + 3) + w, w used directly and through w + 3": _directly_and_through,
}


def reused_twice(plus: Callable[[Any, Any], Any], x: Any, y: Any) -> Any:
    """The graph a test of the walk is written at (--suggest, scalar and tensor): the measured
    one's shape over two inputs.  w = x + y, used by w + y and by ((w + y) + y) + y, the two
    added: a right walk gives x the upstream gradient twice and y six times."""
    w = plus(x, y)
    return plus(plus(w, y), plus(plus(plus(w, y), y), y))


def _sharing(
    leaf: Callable[[float], Any], access: NodeAccess, ops: Sequence[Op]
) -> tuple[str, ...]:
    """The ops built from others whose own graph uses a node it makes twice (tanh as
    (e - 1) / (e + 1), e = exp(2x)): a case of theirs reuses one whatever the case's maths.
    An op that cannot be built here may."""
    found = []
    for op in ops:
        if not op.uses:
            continue
        try:
            out = apply_op(op, [leaf(x) for x in op.points[0]])
            if _reuses(out, access):
                found.append(op.name)
        except Exception:
            found.append(op.name)
    return tuple(found)


def _reuses(out: Any, access: NodeAccess) -> bool:
    """Is a node with children of its own a child twice in out's graph (of two nodes, or
    twice of one)?  The graph keeps every node alive, so their ids stay theirs."""
    uses: Counter[int] = Counter()
    for node in access.nodes_below(out):
        for child in access.children(node):
            if access.children(child):
                uses[id(child)] += 1
                if uses[id(child)] > 1:
                    return True
    return False


def walks_past_the_output(
    leaf: Callable[[float], Any], access: NodeAccess, ops: Sequence[Op]
) -> bool | None:
    """Does backward() run a step below the node it is called on?  In (x + 2) + 3 the inner
    node's step is watched: False where it never runs (a backward() that runs only the
    output's own step), None where it cannot tell (no add, no callable step, an error)."""
    add = binary_add(ops)
    if add is None:
        return None
    try:
        inner = apply_op(add, [leaf(0.5), leaf(2.0)])
        runs = _watch(inner, leaf(0.5), access.data_attr)
        if runs is None:
            return None
        apply_op(add, [inner, leaf(3.0)]).backward()
    except Exception:
        return None
    return bool(runs)


def _add_is_right(
    leaf: Callable[[float], Any], plus: Callable[[Any, float], Any], add: Op, data_attr: str
) -> bool:
    """x + 2 gives x 1; (x + 2) + 3 gives 1 (the step passes its upstream gradient on);
    (x + 3) + (x + 4) gives 2 (it adds to what an earlier user gave)."""
    x = leaf(0.5)
    plus(x, 2.0).backward()
    if _grad(x, data_attr) != 1.0:
        return False
    x = leaf(0.5)
    plus(plus(x, 2.0), 3.0).backward()
    if _grad(x, data_attr) != 1.0:
        return False
    x = leaf(0.5)
    apply_op(add, [plus(x, 3.0), plus(x, 4.0)]).backward()
    return _grad(x, data_attr) == _RIGHT


def _grad(node: Any, data_attr: str) -> float:
    """The node's gradient as a number; 0 where it is None (no gradient reached it).  One kept
    in a node of the engine's (DeZero's `.grad`) is read from its `data_attr`, and a
    one-element array (a tensor engine's leaf of a number may have shape (1,)) as its one
    number; anything else raises NotANumber."""
    grad = getattr(node, "grad", None)
    if grad is not None and type(grad) is type(node):
        grad = getattr(grad, data_attr, None)
    if grad is None:
        return 0.0
    if getattr(grad, "shape", ()) != () and getattr(grad, "size", None) == 1:
        grad = grad.reshape(())  # (1,) or (1, 1): its one number, as a 0-d array
    return real(grad, "grad")


def _watch(node: Any, leaf: Any, data_attr: str) -> list[float] | None:
    """Wrap the callable step `node` keeps (one a fresh leaf does not): the list it fills
    with the node's gradient as each run of its step begins; None if it keeps none."""
    for name in attribute_names(node):
        step, before = getattr(node, name, None), getattr(leaf, name, None)
        if not callable(step) or is_node(step) or isinstance(step, type) or step is before:
            continue
        code = getattr(step, "__code__", None)
        if code is not None and code is getattr(before, "__code__", None):
            continue
        runs: list[float] = []

        def watched(*args: Any, _step: Any = step, _runs: list[float] = runs, **kw: Any) -> Any:
            _runs.append(_grad(node, data_attr))
            return _step(*args, **kw)

        setattr(node, name, watched)
        return runs
    return None
