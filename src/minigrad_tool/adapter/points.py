"""Discovery's third job: the points each op is checked at.

An op minigrad knows is checked at its catalogue's points where its forward is
finite; one it does not know, at points a domain search finds finite and smooth
(two central differences agree: no kink, jump or pole).  Then the op is tried
where its usual points never go (`if x < -50: ...`), so every branch of its
step runs in some check.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from minigrad_tool import ops as catalogue
from minigrad_tool.adapter.profile import Op, apply_op
from minigrad_tool.adapter.session import Point, Session
from minigrad_tool.adapter.trace import Tracer

__all__ = ["branch_points", "exponents", "fallback_points", "points_for", "search_domain"]

# Where ops with no oracle are searched for points at which they are finite and smooth.
_GRID = (0.3, -0.7, 1.3, -1.6, 2.2, 0.8, -0.25, 2.9, -2.6, 1.9, 0.05, 4.5, -4.5)
_WANTED_POINTS = 3
# Where an op is tried for branches its usual points never take (`if x < -50: ...`).
_BRANCH_GRID = (-200.0, -60.0, -25.0, -6.0, -0.5, 0.5, 6.0, 25.0, 60.0, 200.0)
_MAX_BRANCH_POINTS = 4


def points_for(
    session: Session, op: Op, known: Sequence[Point], constant: float
) -> tuple[Point, ...]:
    """The known points where the op's forward works, else a domain search."""
    good = tuple(p for p in known if _finite_at(session, op, p, constant))
    if good:
        return good
    return search_domain(session, op, constant)


def _own_lines(session: Session, op: Op) -> set[int]:
    """The lines of the op's method and of its backward steps."""
    lines: set[int] = set()
    here = [(op.qualname, op.line)] if op.file in ("", session.filename) else []
    here += [(s.qualname, s.line) for s in op.steps if not s.file]  # lines traced: this file's
    for qualname, line in here:
        function = session.index.function(qualname, line)
        if function is not None:
            node = function.node
            lines.update(range(node.lineno, (node.end_lineno or node.lineno) + 1))
    return lines


def _lines_run(session: Session, op: Op, point: Point, constant: float, own: set[int]) -> set[int]:
    """The op's own lines that a forward and backward at `point` run (empty if it raises)."""
    try:
        leaves = [session.leaf(x) for x in point]
        with Tracer(session.filename, lines=True) as tracer:
            out = apply_op(op, leaves, constant)
            out.backward()
    except Exception:
        return set()
    return tracer.lines & own


def branch_points(
    session: Session, op: Op, chosen: Sequence[Point], constant: float
) -> tuple[Point, ...]:
    """Points that run lines of the op the chosen points never run: the other side of an
    `if x < -50` (where the forward is finite and smooth), so those lines get checked."""
    own = _own_lines(session, op)
    if not own or not chosen:
        return ()
    seen: set[int] = set()
    for point in chosen:
        seen |= _lines_run(session, op, point, constant, own)
    found: list[Point] = []
    base = chosen[0]
    for i in range(op.arity):
        for x in _BRANCH_GRID:
            point = (*base[:i], x, *base[i + 1 :])
            new = _lines_run(session, op, point, constant, own) - seen
            if not new or not _smooth(session, op, point, constant):
                continue
            session.progress(f"{op.name} at {point} runs lines {sorted(new)}", method=op.method)
            found.append(point)
            seen |= new
            if len(found) == _MAX_BRANCH_POINTS:
                return tuple(found)
    return tuple(found)


def _finite_at(session: Session, op: Op, point: Point, constant: float) -> bool:
    try:
        return math.isfinite(session.value_at(op, point, constant))
    except Exception:
        return False


def search_domain(session: Session, op: Op, constant: float) -> tuple[Point, ...]:
    """Points where the forward is finite and smooth: two central differences agree."""
    found: list[Point] = []
    grid: list[Point] = (
        [(x,) for x in _GRID]
        if op.arity == 1
        else [(x, y) for x, y in zip(_GRID, (*_GRID[3:], *_GRID[:3]), strict=True)]
    )
    for point in grid:
        session.progress(f"searching the domain of {op.name} at {point}", method=op.method)
        if _smooth(session, op, point, constant):
            found.append(point)
            if len(found) == _WANTED_POINTS:
                break
    return tuple(found)


def _smooth(session: Session, op: Op, point: Point, constant: float) -> bool:
    """Finite near `point`, and in each coordinate two central differences (steps h, 2h)
    agree: no kink, jump or pole there."""
    h = max(1e-4, 10.0 * (3.0 * session.precision.macheps) ** (1.0 / 3.0))

    def at(i: int, k: int) -> float:
        shifted = list(point)
        shifted[i] += k * h
        return session.value_at(op, tuple(shifted), constant)

    for i in range(len(point)):
        try:
            v = {k: at(i, k) for k in (-2, -1, 0, 1, 2)}
        except Exception:
            return False
        if not all(math.isfinite(x) for x in v.values()):
            return False
        d1 = (v[1] - v[-1]) / (2 * h)
        d2 = (v[2] - v[-2]) / (4 * h)
        if abs(d1 - d2) > 1e-2 * (1.0 + abs(d1)):
            return False
    return True


def exponents(session: Session, op: Op) -> tuple[float, ...]:
    works = []
    for k in catalogue.EXPONENTS:
        if _finite_at(session, op, (1.7,), k):
            works.append(float(k) if not float(k).is_integer() else k)
    return tuple(works)


def fallback_points(arity: int) -> list[Point]:
    """More points to try calling an op at, when its usual ones all raise."""
    if arity == 1:
        return [(x,) for x in _GRID[:6]]
    return [(x, y) for x, y in zip(_GRID[:6], _GRID[6:12], strict=True)]
