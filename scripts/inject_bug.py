#!/usr/bin/env python3
"""Break and confirm: `python scripts/inject_bug.py sub-sign [--engine PATH|MODULE] [--list]`.

A thin wrapper around `minigrad inject`.  It injects the named bug into the
engine held in memory, runs the tests of [tool.minigrad] (here
tests/test_gradcheck.py) against it, and says whether they catch it.  The
source tree is never written to.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

try:
    from minigrad_tool.cli import main
except ImportError:  # not inside the project's environment: use it, or say how
    venv = ROOT / ".venv"
    venv_python = venv / "bin" / "python"
    if venv_python.exists() and Path(sys.prefix).resolve() != venv.resolve():
        os.execv(str(venv_python), [str(venv_python), __file__, *sys.argv[1:]])
    print("minigrad-tool is not installed here: run `uv sync` first, or use", file=sys.stderr)
    print("  uv run python scripts/inject_bug.py " + " ".join(sys.argv[1:]), file=sys.stderr)
    sys.exit(2)

if __name__ == "__main__":
    sys.exit(main(["inject", *sys.argv[1:]]))
