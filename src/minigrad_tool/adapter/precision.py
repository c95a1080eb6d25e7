"""Discovery's fourth job: the precision an engine computes in.

A tolerance is only as fine as the engine's numbers: an engine in float32 (or
one that rounds) is checked against its own machine epsilon, not float64's.
"""

from __future__ import annotations

from minigrad_tool.adapter.nodes import make_leaf, mantissa_bits
from minigrad_tool.adapter.profile import FLOAT64, Op, Precision
from minigrad_tool.adapter.session import Session

__all__ = ["array_precision", "scalar_precision"]


def scalar_precision(session: Session, add: Op | None) -> Precision:
    """Mantissa bits of storage and, if there is `+`, of arithmetic: the coarser wins."""
    value, leaf = session.access.value, session.leaf
    try:
        width = mantissa_bits(lambda d: value(leaf(1.0 + d)))
        if add is not None:
            width = min(width, mantissa_bits(lambda d: value(leaf(1.0) + leaf(d))))
    except Exception as err:
        session.notes.append(f"precision could not be measured ({err}); float64 assumed")
        return FLOAT64
    return Precision(width)


def array_precision(cls: type, data_attr: str) -> Precision:
    """The mantissa bits of the dtype an array node stores, and of a sum of two (float32
    engines); float64 if it cannot be read."""
    import numpy as np  # only a tensor engine gets here

    try:
        a = getattr(make_leaf(cls, np.array([1.0])), data_attr)
        b = getattr(make_leaf(cls, np.array([1.0])) + make_leaf(cls, np.array([1e-9])), data_attr)
        dtypes = [np.asarray(a).dtype, np.asarray(b).dtype]
        bits = min(np.finfo(t).nmant if t.kind == "f" else 52 for t in dtypes)
        return Precision(int(bits))
    except Exception:
        return FLOAT64
