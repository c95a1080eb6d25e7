"""Break and confirm: inject one named mutant into a temporary copy and watch the tests catch it."""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from minigrad.battery import BATTERY, Case, Settings, engine_ops, run_case
from minigrad.engines import Engine
from minigrad.mutation.mutants import Mutant, MutationError, generate_mutants
from minigrad.mutation.runner import load_source, run_isolated

__all__ = ["UnknownBug", "catching_cases", "find_bug", "gradcheck_tests", "run_pytest"]

TESTS = Path("tests") / "test_gradcheck.py"


class UnknownBug(MutationError):
    """No mutant has that ID."""


def find_bug(engine: Engine, bug: str) -> Mutant:
    mutants = generate_mutants(engine.source)
    for mutant in mutants:
        if mutant.id == bug:
            return mutant
    names = ", ".join(m.id for m in mutants)
    raise UnknownBug(f"unknown bug {bug!r}; valid names: {names}")


def gradcheck_tests() -> Path | None:
    """tests/test_gradcheck.py of this checkout: from the working directory, else beside src/."""
    for root in (Path.cwd(), Path(__file__).resolve().parents[3]):
        if (root / TESTS).is_file():
            return root / TESTS
    return None


def run_pytest(mutant: Mutant, engine: Engine, tests: Path) -> int:
    """Run the gradcheck tests against the mutant, held in a temporary copy; pytest's exit code."""
    with tempfile.TemporaryDirectory(prefix="minigrad-inject-") as tmp:
        copy = Path(tmp) / engine.path.name
        copy.write_text(mutant.source, encoding="utf-8")
        command = [sys.executable, "-m", "pytest", str(tests), "--engine", str(copy)]
        command += ["-q", "--tb=short", "--no-header", "-p", "no:cacheprovider"]
        return subprocess.call(command, cwd=tests.parents[1], stdin=subprocess.DEVNULL)


def _all_killers(mutant: Mutant, engine: Engine, cases: tuple[Case, ...]) -> dict[str, Any]:
    value_cls = load_source(mutant.source, engine).Value
    ops = engine_ops(value_cls)
    killers = [c.name for c in cases if run_case(c, value_cls, Settings(), ops).failed]
    return {"killed_by": killers}


def catching_cases(mutant: Mutant, engine: Engine, timeout: float = 60.0) -> tuple[list[str], str]:
    """Every battery case that fails on the mutant, run isolated; and why, if it hung or crashed."""
    verdict = run_isolated(
        [(mutant.id, lambda: _all_killers(mutant, engine, BATTERY))], jobs=1, timeout=timeout
    )[mutant.id]
    killers: list[str] = verdict.get("killed_by", [])
    return killers, verdict.get("reason", "")
