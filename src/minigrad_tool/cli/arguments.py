"""Argument types of the `minigrad` subcommands and settings: each refuses nonsense, saying why."""

from __future__ import annotations

import argparse
import keyword
import math
from collections.abc import Callable, Sequence
from typing import Any

from minigrad_tool.isolation import MAX_TIMEOUT

__all__ = [
    "Repeatable",
    "jobs",
    "memory",
    "method_name",
    "names",
    "number",
    "percentage",
    "seconds",
    "shard",
]


class Repeatable(argparse.Action):
    """`--tests a --tests b c` gives a, b and c, `--operators sign --operators drop` both
    (argparse's own `store` keeps only the last, silently: a campaign judged by b and c alone,
    reported as judged by "your tests").  The first occurrence on the command line replaces
    the default, the project's settings; a value given twice counts once."""

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: str | Sequence[Any] | None,
        option_string: str | None = None,
    ) -> None:
        current = getattr(namespace, self.dest, None)
        kept = [] if current is self.default or current is None else list(current)
        given = [values] if isinstance(values, str) or values is None else list(values)
        both = list(dict.fromkeys(kept + given))
        setattr(namespace, self.dest, tuple(both) if isinstance(values, tuple) else both)


def number(
    low: float, high: float, *, kind: type[int] | type[float] = float
) -> Callable[[str], Any]:
    """A finite number in [low, high]; NaN and infinities are refused."""

    def parse(text: str) -> Any:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
        if not math.isfinite(value):  # "inf" is no number of [0, inf] a check can use
            raise argparse.ArgumentTypeError(f"expected a finite number, got {text!r}")
        if not low <= value <= high:
            where = f">= {low:g}" if math.isinf(high) else f"in [{low:g}, {high:g}]"
            raise argparse.ArgumentTypeError(f"expected a number {where}, got {text!r}")
        return value

    return parse


def seconds(text: str) -> float:
    """A deadline: more than 0 s, at most a day."""
    value: float = number(0.0, MAX_TIMEOUT)(text)
    if value <= 0.0:
        raise argparse.ArgumentTypeError(f"expected a number of seconds > 0, got {text!r}")
    return value


def percentage(text: str) -> float:
    """A score threshold from 0 to 100."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a percentage, got {text!r}") from None
    if not (math.isfinite(value) and 0.0 <= value <= 100.0):
        raise argparse.ArgumentTypeError(f"expected a percentage from 0 to 100, got {text!r}")
    return value


def names(kind: str, allowed: Sequence[str]) -> Callable[[str], tuple[str, ...]]:
    """A comma-separated list of names, each one of `allowed`."""

    def parse(text: str) -> tuple[str, ...]:
        found = tuple(name.strip() for name in text.split(",") if name.strip())
        unknown = [name for name in found if name not in allowed]
        if unknown or not found:
            raise argparse.ArgumentTypeError(
                f"unknown {kind}(s) {', '.join(unknown) or '(none given)'}; "
                f"choose from {', '.join(allowed)}"
            )
        return found

    return parse


def shard(text: str) -> tuple[int, int]:
    """`I/N` with 1 <= I <= N."""
    index, _, count = text.partition("/")
    if not (index.isdigit() and count.isdigit() and 1 <= int(index) <= int(count)):
        raise argparse.ArgumentTypeError(f"expected I/N with 1 <= I <= N, got {text!r}")
    return int(index), int(count)


def memory(text: str) -> int:
    """An address-space limit in MiB."""
    value: int = number(64, 1 << 20, kind=int)(text)
    return value


def jobs(text: str) -> int:
    """Children run at once."""
    value: int = number(1, 256, kind=int)(text)
    return value


def method_name(text: str) -> str:
    """A method's name, as Python spells one (`updateGradients`)."""
    if not text.isidentifier() or keyword.iskeyword(text):
        raise argparse.ArgumentTypeError(f"expected a method's name, got {text!r}")
    return text
