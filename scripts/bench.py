#!/usr/bin/env python3
"""Benchmarks as ratios against their anchors, measured side by side in one run.

    uv run --with micrograd==0.1.0 python scripts/bench.py [--skip-mutmut] [--repeats N]

A thin wrapper around minigrad.bench.  mutmut runs on a clean copy of the
repository in a temporary folder (about 40 s); --skip-mutmut leaves it out.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from minigrad.bench import run_all

ROOT = Path(__file__).resolve().parents[1]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--skip-mutmut", action="store_true", help="do not time mutmut run")
    parser.add_argument("--repeats", type=int, default=5, help="timing repeats (best of N)")
    args = parser.parse_args(argv)
    figures = run_all(ROOT, skip_mutmut=args.skip_mutmut, repeats=args.repeats, out=print)
    missed = [f.name for f in figures if not f.met]
    print(
        f"\n{len(figures) - len(missed)} of {len(figures)} ratio goals met"
        + (f"; missed: {', '.join(missed)}" if missed else "")
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
