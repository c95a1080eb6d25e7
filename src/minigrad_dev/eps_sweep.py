"""How the finite-difference error depends on eps: truncation against cancellation.

For a central difference, ``|num - ana| ~ eps**2 |f'''| / 6`` while eps is large
(truncation: slope 2 on a log-log plot) and ``~ macheps |f| / eps`` once eps is
small (cancellation: slope -1).  The two meet near ``(3 macheps |f| / |f'''|)**(1/3)``,
about 1e-5 for functions of size 1: the default ``eps``.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from minigrad.engine import Value
from minigrad.gradcheck import Tolerance

__all__ = ["FUNCTIONS", "OPTIMUM", "Sweep", "eps_grid", "slope", "sweep"]

MACHEPS = sys.float_info.epsilon
OPTIMUM = (3.0 * MACHEPS) ** (1.0 / 3.0)  # ~8.7e-6 when |f| ~ |f'''| ~ 1
FLOOR = 1e-17  # an exact zero is drawn here on a log scale


@dataclass(frozen=True)
class Function:
    label: str
    fn: Callable[[Value], Value]
    x: float


def _diamond(a: Value) -> Value:
    """The lab's (a*b + c) * (a - c) at b = -3, c = 10, as a function of a."""
    b, c = Value(-3.0), Value(10.0)
    return (a * b + c) * (a - c)


FUNCTIONS = (
    Function("tanh(x) at x=0.5", lambda x: x.tanh(), 0.5),
    Function("exp(x) at x=1", lambda x: x.exp(), 1.0),
    Function("log(x) at x=0.5", lambda x: x.log(), 0.5),
    Function("diamond (a*b+c)*(a-c) at a=2", _diamond, 2.0),
)


def eps_grid(largest: float = 1e-1, smallest: float = 1e-14, per_decade: int = 2) -> list[float]:
    """Log-spaced step sizes from `largest` down to `smallest`."""
    decades = round(math.log10(largest / smallest))
    return [largest * 10.0 ** (-k / per_decade) for k in range(decades * per_decade + 1)]


def _error(f: Function, eps: float) -> float:
    x = Value(f.x)
    f.fn(x).backward()
    plus = f.fn(Value(f.x + eps)).data
    minus = f.fn(Value(f.x - eps)).data
    return abs((plus - minus) / (2.0 * eps) - x.grad)


@dataclass(frozen=True)
class Sweep:
    """|numerical - analytic| for each function (rows) at each eps (columns)."""

    eps: list[float]
    errors: dict[str, list[float]]

    def table(self) -> str:
        labels = list(self.errors)
        widths = [max(len(label), 9) for label in labels]
        head = "  ".join(f"{label:>{w}}" for label, w in zip(labels, widths, strict=True))
        lines = [f"{'eps':>9}  {head}"]
        for i, eps in enumerate(self.eps):
            marks = " <- default" if math.isclose(eps, Tolerance().eps) else ""
            cells = zip(labels, widths, strict=True)
            row = "  ".join(f"{self.errors[label][i]:>{w}.2e}" for label, w in cells)
            lines.append(f"{eps:>9.1e}  {row}{marks}")
        return "\n".join(lines)


def sweep(functions: Sequence[Function] = FUNCTIONS, eps: Sequence[float] | None = None) -> Sweep:
    grid = list(eps or eps_grid())
    return Sweep(grid, {f.label: [_error(f, e) for e in grid] for f in functions})


def slope(eps: Sequence[float], errors: Sequence[float], low: float, high: float) -> float:
    """Least-squares slope of log10(error) against log10(eps) for eps in [low, high]."""
    points = [
        (math.log10(e), math.log10(max(err, FLOOR)))
        for e, err in zip(eps, errors, strict=True)
        if low <= e <= high
    ]
    n = len(points)
    if n < 2:
        raise ValueError(f"need two or more eps in [{low}, {high}], got {n}")
    mx = sum(p[0] for p in points) / n
    my = sum(p[1] for p in points) / n
    sxy = sum((x - mx) * (y - my) for x, y in points)
    sxx = sum((x - mx) ** 2 for x, _ in points)
    return sxy / sxx


def plot(result: Sweep, path: str) -> None:
    """A log-log plot of the sweep, with both regimes' slopes and the chosen eps marked."""
    import matplotlib

    matplotlib.use("Agg")  # no display needed
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 5.5), dpi=120)
    for label, errors in result.errors.items():
        ax.loglog(result.eps, [max(e, FLOOR) for e in errors], marker="o", ms=3, label=label)
    big = [e for e in result.eps if e >= 1e-7]
    small = [e for e in result.eps if e <= 1e-3]
    ax.loglog(big, [e**2 / 6.0 for e in big], "k--", lw=0.8, label="eps²/6: truncation, slope 2")
    ax.loglog(
        small,
        [MACHEPS / e for e in small],
        "k:",
        lw=0.8,
        label="macheps/eps: cancellation, slope -1",
    )
    default = Tolerance().eps
    ax.axvline(default, color="tab:green", lw=1.2, label=f"default eps = {default:g}")
    ax.axvline(
        OPTIMUM,
        color="tab:red",
        lw=1.0,
        ls="-.",
        label=f"optimum (3 macheps)^(1/3) = {OPTIMUM:.1e}",
    )
    ax.text(1e-3, 1e-3, "truncation\nslope 2", ha="center", fontsize=9)
    ax.text(3e-12, 1e-8, "cancellation\nslope -1", ha="center", fontsize=9)
    ax.set_ylim(FLOOR / 2, 10.0)
    ax.set_xlabel("eps")
    ax.set_ylabel("|numerical - analytic|")
    ax.set_title("Central-difference error against step size (0 is drawn at 1e-17)")
    ax.grid(True, which="major", alpha=0.3)
    ax.legend(fontsize=8, loc="lower left")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
