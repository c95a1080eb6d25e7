#!/usr/bin/env python3
"""Plot |numerical - analytic| against eps: `python scripts/eps_sweep.py --out eps.png`.

A thin wrapper around minigrad_dev.eps_sweep (a development tool, not in the wheel):
prints the data as a table with the fitted slopes of both regimes, and writes a
log-log plot (matplotlib, Agg).
"""

from __future__ import annotations

import argparse
import sys

from minigrad_dev.eps_sweep import sweep

TRUNCATION = (1e-3, 1e-1)  # eps range where truncation dominates
CANCELLATION = (1e-14, 1e-9)  # eps range where cancellation dominates


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="eps.png", help="where to write the plot (PNG)")
    args = parser.parse_args(argv)
    from minigrad_dev.eps_sweep import plot, slope

    result = sweep()
    print(result.table())
    print("\nfitted log-log slopes (truncation expects 2, cancellation about -1):")
    for label, errors in result.errors.items():
        high = slope(result.eps, errors, *TRUNCATION)
        low = slope(result.eps, errors, *CANCELLATION)
        print(f"  {label:<32} truncation {high:+.2f}   cancellation {low:+.2f}")
    print("  (the diamond is quadratic in a: no truncation error, only rounding)")
    plot(result, args.out)
    print(f"\nwrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
