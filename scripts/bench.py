#!/usr/bin/env python3
"""Benchmarks as ratios against their anchors, measured side by side in one run.

    uv run --with micrograd==0.1.0 python scripts/bench.py [--skip-mutmut] [--skip-published]
        [--repeats N]

A thin wrapper around minigrad_dev.bench (a development tool, not in the wheel).
mutmut runs three times, each in a clean temporary project: on this repository,
on the student example, and on our engine judged by tests/test_gradcheck.py;
--skip-mutmut leaves those out and reports their ratios as skipped.  Three published
engines' sdists are downloaded for their authors' tests (minigrad_dev.published; the first
run installs torch, about two minutes); --skip-published leaves those rows out.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from minigrad_dev.bench import run_all

ROOT = Path(__file__).resolve().parents[1]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--skip-mutmut", action="store_true", help="do not time mutmut run")
    parser.add_argument(
        "--skip-published", action="store_true", help="do not measure the published engines"
    )
    parser.add_argument("--repeats", type=int, default=5, help="timing repeats (best of N)")
    args = parser.parse_args(argv)
    figures = run_all(
        ROOT,
        skip_mutmut=args.skip_mutmut,
        repeats=args.repeats,
        out=print,
        skip_published=args.skip_published,
    )
    measured = [f for f in figures if f.status != "skipped"]
    missed = [f.name for f in measured if f.status == "MISSED"]
    skipped = len(figures) - len(measured)
    print(
        f"\n{len(measured) - len(missed)} of {len(measured)} measured ratio goals met"
        + (f"; missed: {', '.join(missed)}" if missed else "")
        + (f"; {skipped} not measured" if skipped else "")
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
