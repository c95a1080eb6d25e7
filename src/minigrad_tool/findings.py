"""What is wrong with the unmutated engine: a finding, with its evidence.

Mutation testing assumes the original is right.  A student's engine often is
not, so before any score the campaign says which battery cases the unmutated
engine fails: the op, the input, what plain math and central differences
expect against what the engine gives, and the op's source line.  Every report
carries these (the terminal's first lines, the JSON's `config.findings`, the
HTML's top), and `merge` keeps them.

A finding crosses a pipe (from the harness child) and a file (a shard
report), so it is a frozen dataclass with one writer (:meth:`Finding.to_json`)
and one reader (:meth:`Finding.from_json`).
"""

from __future__ import annotations

import math
import re
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, fields, replace
from typing import Any

__all__ = [
    "Finding",
    "blame_backward",
    "blame_constituents",
    "blame_raisers",
    "by_op",
    "explained",
    "raised_outside",
    "stable",
    "wrong_ops",
]


# An object's address in an engine's message (`<ops.Sum object at 0x7f94bb1bba50>`): it
# differs run by run, and the same command must say the same thing every time.
_ADDRESS = re.compile(r"\b0x[0-9a-fA-F]{6,}\b")


def stable(text: str) -> str:
    """`text` with object addresses replaced by `0x...`."""
    return _ADDRESS.sub("0x...", text)


def _number(value: object) -> float | None:
    """A finite float for a report, else None (JSON has no NaN)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    number = float(value)
    return number if math.isfinite(number) else None


@dataclass(frozen=True)
class Finding:
    """A battery case the unmutated engine fails (or an op that crashes), with the evidence."""

    case: str  # the battery case; "" when no case is behind it (a crash while discovering)
    message: str  # the whole text, as the check said it
    op: str | None = None  # the op it blames: None for a graph case that mixes ops
    where: str = ""  # "Value.sigmoid (engine.py:70)": the op's method and source line
    line: int | None = None  # the op's line in the engine's file
    check: str = ""  # which check failed: forward, gradient, upstream, accumulation, ...
    input: str = ""  # the input it failed at: "x=0.5", "(1.5, -2.0)", "(3, 4) and (4,)"
    index: int | None = None  # which input's gradient was wrong
    expected: float | None = None  # what the oracle says (plain math, central differences)
    actual: float | None = None  # what the engine gives
    reason: str = ""  # the check's own words: "a backward step drops its upstream factor"
    file: str = ""  # the file `line` is in, when not the engine's (DeZero's functions.py)
    also: tuple[str, ...] = ()  # the other ops its case calls (tanh_reuse: add and mul)
    # The engine function an exception was raised in (faults.raised_in): "" for a check
    # that failed, or an exception outside the engine's code.
    raised: str = ""

    def __post_init__(self) -> None:  # NaN (a check that compared no number) is no evidence
        object.__setattr__(self, "expected", _number(self.expected))
        object.__setattr__(self, "actual", _number(self.actual))
        object.__setattr__(self, "message", stable(self.message))
        object.__setattr__(self, "reason", stable(self.reason))

    @property
    def of_a_judge(self) -> bool:
        """Said of a judge, not of the engine: one that cannot judge (check "judge"), or a
        note on how your tests run (check "note": the copy of the engine a plain pytest run
        imports), which leaves the verdict whole."""
        return self.check in ("judge", "note")

    @property
    def first_line(self) -> str:
        return self.message.splitlines()[0] if self.message else ""

    def evidence(self) -> str:
        """One line: where, at what input, expected against actual."""
        parts = []
        if self.input:
            parts.append(f"at {self.input}")
        if self.expected is not None and self.actual is not None:
            what = "value" if self.check == "forward" else "gradient"
            of = f" of input {self.index}" if self.index is not None and what == "gradient" else ""
            parts.append(f"{what}{of} expected {self.expected:.6g}, got {self.actual:.6g}")
        if self.check:
            parts.append(f"({self.check} check, case {self.case})")
        elif self.case:
            parts.append(f"(case {self.case})")
        return " ".join(parts) if parts else self.first_line

    def to_json(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Finding:
        """The one reader: unknown keys are ignored, wrong types refused with ValueError."""
        if not isinstance(data, Mapping):
            raise ValueError("a finding is an object")
        text = {
            "case": "",
            "message": "",
            "where": "",
            "check": "",
            "input": "",
            "reason": "",
            "file": "",
            "raised": "",
        }
        values: dict[str, Any] = {}
        for key, default in text.items():
            value = data.get(key, default)
            if not isinstance(value, str):
                raise ValueError(f"finding.{key} is not a string")
            values[key] = value
        op = data.get("op")
        if op is not None and not isinstance(op, str):
            raise ValueError("finding.op is not a string")
        for key in ("line", "index"):
            value = data.get(key)
            if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
                raise ValueError(f"finding.{key} is not a whole number")
            values[key] = value
        for key in ("expected", "actual"):
            value = data.get(key)
            if value is not None and _number(value) is None:
                raise ValueError(f"finding.{key} is not a finite number")
            values[key] = value
        also = data.get("also", [])
        if not isinstance(also, list | tuple) or not all(isinstance(o, str) for o in also):
            raise ValueError("finding.also is not a list of op names")
        return cls(op=op, also=tuple(also), **values)


def blame_backward(
    findings: Sequence[Finding], backward: Collection[str], where: str, line: int | None
) -> list[Finding]:
    """The findings, those whose exception was raised in backward()'s own code blamed on
    backward() (op "backward", at `where` and `line`) instead of each op, where that happens
    in cases of two ops or more: its walk of the graph fails whatever op it walks (a topo
    sort that fails on a node reached twice).  `backward`: the qualified names of its code; a
    function nested in one is its own too.  In one op's cases only, it stays that
    op's: the op may hand backward() something it cannot use (a local gradient of the wrong
    type)."""

    def inside(f: Finding) -> bool:
        return any(_raised_within(f, name) for name in backward if name)

    if len({f.op for f in findings if f.op and f.raised and inside(f)}) < 2:
        return list(findings)
    return [
        replace(f, op="backward", where=where, line=line, also=(), file="")
        if f.raised and inside(f)
        else f
        for f in findings
    ]


def raised_outside(f: Finding, backward: Collection[str]) -> bool:
    """Did f's exception come from the engine's code outside backward()'s own (`backward`:
    its functions' qualified names; one nested in them is its own too): from an op's forward
    or step?  A backward() that walks the graph wrongly gives wrong numbers, not that."""
    return bool(f.raised) and not any(_raised_within(f, name) for name in backward if name)


def blame_raisers(
    findings: Sequence[Finding], methods: Mapping[str, Collection[str]]
) -> list[Finding]:
    """The findings, each whose exception another op's code raised (its method, or a step
    nested in it) calling that op too: an add whose case scales its output with `out * 2.5`
    fails in mul where mul takes no plain number, and a wrong mul may be all that is wrong
    with it (`explained`).  `methods`: each op's method by qualified name -> the ops it is
    (`__radd__ = __add__` is both add's and radd's: neither calls the other)."""

    def raisers(f: Finding) -> Collection[str]:
        return next((ops for name, ops in methods.items() if _raised_within(f, name)), ())

    found = []
    for f in findings:
        ops = raisers(f) if f.raised else ()
        found.append(f if f.op in ops else _calling(f, sorted(ops)))
    return found


def blame_constituents(
    findings: Sequence[Finding], uses: Mapping[str, Sequence[str]]
) -> list[Finding]:
    """The findings, each of an op built from others (neg as `self * -1`: `uses` gives the
    ops whose steps ran for it) calling those too: a wrong mul may be all that is wrong with
    neg (`explained`).  Not a wrong forward value: the steps that ran explain gradients, and
    an op that computes the wrong thing from right parts (`2.0 - x` as x - 2.0) is wrong."""
    return [f if f.check == "forward" else _calling(f, uses.get(f.op or "", ())) for f in findings]


def _raised_within(f: Finding, name: str) -> bool:
    """Was f's exception raised in the function `name`, or in one nested in it?"""
    return f.raised == name or f.raised.startswith(name + ".")


def _calling(f: Finding, ops: Iterable[str]) -> Finding:
    """f, its case calling `ops` too (those not its own op nor already in f.also)."""
    more = tuple(op for op in ops if op != f.op and op not in f.also)
    return replace(f, also=(*f.also, *more)) if more else f


def _explained(f: Finding, alone: set[str]) -> bool:
    """Does another op found wrong explain this failure?  Its case calls that op too, and
    that op fails a case that calls nothing else (a wrong mul fails tanh_reuse, which
    computes tanh(x) * tanh(x) + ..., whatever tanh does)."""
    return f.op not in alone and bool(alone.intersection(f.also))


def _wrong_alone(findings: Iterable[Finding]) -> set[str]:
    return {f.op for f in findings if f.op and not f.also}


def wrong_ops(findings: Iterable[Finding]) -> list[str]:
    """The ops the findings blame, in the order first found; not an op whose every failing
    case also calls an op found wrong on its own (`explained`)."""
    return list(by_op(list(findings)))


def _sorted_out(
    findings: Sequence[Finding],
) -> tuple[dict[str, list[Finding]], dict[str, list[Finding]]]:
    """The findings by op, in the order first found: (the ops they blame, the ops all of whose
    failures another op found wrong explains)."""
    alone = _wrong_alone(findings)
    grouped: dict[str, list[Finding]] = {}
    for f in findings:
        if f.op:
            grouped.setdefault(f.op, []).append(f)
    blamed: dict[str, list[Finding]] = {}
    others: dict[str, list[Finding]] = {}
    for op, found in grouped.items():
        (others if all(_explained(f, alone) for f in found) else blamed)[op] = found
    return blamed, others


def by_op(findings: Sequence[Finding]) -> dict[str, list[Finding]]:
    """Findings grouped by the op they blame, for the ops `wrong_ops` gives."""
    return _sorted_out(findings)[0]


def explained(findings: Sequence[Finding]) -> dict[str, list[Finding]]:
    """The ops left out of `by_op`: each fails only cases that also call an op found wrong
    on its own, which may be all that is wrong with them (the next run, once that op is
    fixed, tells)."""
    return _sorted_out(findings)[1]
