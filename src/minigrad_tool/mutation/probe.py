"""What a probe is, for scalar and tensor engines alike: one protocol, one test style.

A probe is an input that may tell a mutant from the engine.  The scalar probes
(:mod:`minigrad_tool.mutation.equivalence`) and the tensor probes
(:mod:`minigrad_tool.tensor.probes`) both observe the engine, say what tells two
observations apart, know the truth from an oracle, and write themselves as a
test's statements; every caller asks the protocol, never the kind.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from minigrad_tool.adapter.nodes import NodeAccess
from minigrad_tool.adapter.profile import Profile

__all__ = ["Observation", "Probe", "TestStyle"]

Observation = tuple[Any, ...]


@dataclass(frozen=True)
class TestStyle:
    """How a written test spells the engine: its class, how a leaf is made, where a node keeps
    its number, whether .grad holds a node, the tolerance of its literals, the scaled output."""

    __test__ = False  # not a test class, whatever pytest thinks of the name

    class_name: str
    leaf: Callable[[str], str]
    data_attr: str = "data"
    grad_is_node: bool = False
    rtol: float = 1e-9
    scale: str = "out * -1.7"
    preseed: bool = True  # `.grad` can be written (not a read-only property)


class Probe(Protocol):
    """An input that may tell a mutant from the engine: scalar and tensor probes alike."""

    @property
    def label(self) -> str: ...

    @property
    def point(self) -> tuple[float, ...]: ...

    @property
    def lines(self) -> tuple[str, ...]: ...

    @property
    def kink(self) -> tuple[float, float] | None: ...

    def observe(self, access: NodeAccess) -> Observation:
        """What the engine `access` reaches gives here (call after :func:`fresh`)."""
        ...

    def describe(self, want: Observation, got: Observation) -> str:
        """What tells two observations apart, in words."""
        ...

    def truth(self, profile: Profile) -> Observation:
        """What a correct engine observes here, from an oracle (NoTruth if none)."""
        ...

    def ops(self, profile: Profile) -> list[str]:
        """The ops it calls."""
        ...

    def test_lines(self, want: Observation, seeded: bool, style: TestStyle) -> list[str]:
        """A test's statements asserting `want` (with `seeded`, the pre-seeded gradients)."""
        ...
