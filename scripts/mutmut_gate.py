#!/usr/bin/env python3
"""Fail CI when mutmut's score drops: `python scripts/mutmut_gate.py [--min-score 100]`.

A thin wrapper around minigrad_dev.mutmut_gate (a development tool, not in the
wheel).  Exit codes: 0 at or above the
threshold, 1 below it, 2 when there are no results or stale ones.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from minigrad_dev.mutmut_gate import gate
from minigrad_tool.cli.arguments import percentage


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--min-score", type=percentage, default=100.0, help="percent, 0 to 100 (default 100)"
    )
    parser.add_argument("--root", type=Path, default=Path.cwd(), help="the project root")
    args = parser.parse_args(argv)
    lines: list[str] = []
    code = gate(args.root, args.min_score, lines)
    print("\n".join(lines))
    return code


if __name__ == "__main__":
    sys.exit(main())
