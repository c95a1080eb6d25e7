"""A script at the top of the engine's file: what minigrad says when importing it fails or
hangs there.

minigrad imports the engine's file to find its class, and that runs every statement at the
file's top level.  A single-file engine that is also a training script (microgpt's shape: it
reads `input.txt`, downloads it if missing, then trains for minutes) fails there, in a folder
of minigrad's own where no data file is, or takes longer than the import's deadline.  Said as
it is, with where and what to do: never "raised at urllib/request.py:1351 in do_open".
"""

from __future__ import annotations

import ast
import traceback
from pathlib import Path

from minigrad_tool.adapter.spec import EngineSpec

__all__ = ["script_failure", "script_loop"]

# Top-level statements that define something, and run no script: a failure there is an
# import error or a bug of the definition, said as it is elsewhere.
_DEFINITIONS = (ast.Import, ast.ImportFrom, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)

_WHAT_TO_DO = (
    "minigrad imports your engine's file to find its class, which runs every statement at its "
    "top level, in a folder of minigrad's own (it reads and writes no file of yours): put the "
    'script under `if __name__ == "__main__":`, move the engine into a module of its own and '
    "name that one with --engine, or have minigrad run the file's definitions alone: "
    "--definitions-only (or `definitions-only = true` in [tool.minigrad])"
)


def _same(filename: str, path: Path) -> bool:
    try:
        return Path(filename).resolve() == path.resolve()
    except (OSError, RuntimeError):
        return False


def _said(statement: ast.stmt, path: Path) -> str:
    """`microgpt.py:7 (urllib.request.urlretrieve(names_url, 'input.txt'))`, its first line."""
    first = ast.unparse(statement).splitlines()[0]
    return f"{path.name}:{statement.lineno} ({first.strip()})"


def script_failure(err: BaseException, spec: EngineSpec) -> str:
    """Where importing the engine raised in a statement at its file's top level that defines
    nothing (a script's): what to say, else "", read from the run's snapshot of the file.
    Not a PermissionError (a write minigrad's confinement refused, whose own hint says how to
    let a folder in) nor a MemoryError (the memory limit, said as such): isolation says those."""
    if isinstance(err, PermissionError | MemoryError):
        return ""
    path = spec.path
    frames = [
        f
        for f in traceback.extract_tb(err.__traceback__)
        if f.name == "<module>" and f.lineno is not None and _same(f.filename, path)
    ]
    if not frames:
        return ""
    line = frames[-1].lineno or 0
    statement = next(
        (s for s in spec.index.tree.body if s.lineno <= line <= (s.end_lineno or s.lineno)),
        None,
    )
    if statement is None or isinstance(statement, _DEFINITIONS):
        return ""
    raised = traceback.format_exception_only(err)[-1].strip()
    text = (frames[-1].line or "").strip() or ast.unparse(statement).splitlines()[0]
    return (
        f"importing it runs the statements at the top of {path.name}, and {path.name}:{line} "
        f"({text}), in one that defines nothing, raised {raised}: {_WHAT_TO_DO}"
    )


def script_loop(spec: EngineSpec) -> str:
    """For an import that hung: the first loop at the file's top level, said ("" if none)."""
    body = spec.index.tree.body
    loop = next((s for s in body if isinstance(s, ast.For | ast.While)), None)
    if loop is None:
        return ""
    return f"; its top level runs a loop at {_said(loop, spec.path)}: {_WHAT_TO_DO}"
