#!/usr/bin/env python3
"""Do two `minigrad mutate --json` reports of one command give the same verdict?

    uv run python scripts/same_verdict.py FIRST.json SECOND.json

Every mutant's status and the findings on the unmutated engine, timings aside: exit 0 if
they agree, 1 listing what differs, 2 if either is not a report.  A thin wrapper around
minigrad_dev.same_verdict (a development tool, not in the wheel).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from minigrad_dev.same_verdict import differences
from minigrad_tool.report.merge import MergeError


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("first", type=Path, help="a `mutate --json` report")
    parser.add_argument("second", type=Path, help="the same command's report, run elsewhere")
    args = parser.parse_args(argv)
    try:
        said = differences(args.first, args.second)
    except MergeError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print("\n".join(said) or f"the same verdict: {args.first} and {args.second}")
    return 1 if said else 0


if __name__ == "__main__":
    sys.exit(main())
