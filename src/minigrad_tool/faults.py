"""Whose failure is it: the engine's, or minigrad's own?

A verdict may count the engine's failures (a mutant that raises was caught),
never minigrad's: a bug in minigrad that raised inside a mutant's run would
otherwise count as a kill.  An exception is the engine's when engine code is
on its traceback (or on that of the exception it was raised from); otherwise
it is minigrad's, and the run ends with exit 2 and where it was raised.
"""

from __future__ import annotations

import os
import traceback
from pathlib import Path
from types import TracebackType

from minigrad_tool.installed import UserFolders

__all__ = [
    "InternalError",
    "compiled_call_file",
    "compiled_call_of",
    "engine_caused",
    "engine_file",
    "raised_in",
    "set_engine_paths",
    "told",
    "where",
]

_MINIGRAD = str(Path(__file__).resolve().parent) + os.sep
_engine_files: set[str] = set()
_engine_dirs = UserFolders(())
# The file names of the calls into compiled engine code (adapter.native): engine files.
_COMPILED_CALL = "<compiled call of {}>"
_compiled_calls: set[str] = set()


class InternalError(Exception):
    """minigrad itself failed: no verdict can be given (exit code 2)."""


def set_engine_paths(files: set[str], dirs: tuple[str, ...] = ()) -> None:
    """Declare which source files (and folders) hold engine or user code, in this process:
    what is installed below a folder (a flat project's `.venv`) is neither."""
    global _engine_files, _engine_dirs
    _engine_files = {str(Path(f).resolve()) for f in files}
    _engine_dirs = UserFolders(str(Path(d).resolve()) for d in dirs)


def compiled_call_file(method: str) -> str:
    """The file name the call into a compiled method (`Value.__add__`) runs under, an engine
    file: compiled code has no frame of its own, so an exception it raises is the engine's by
    this call's frame on the traceback."""
    filename = _COMPILED_CALL.format(method)
    _compiled_calls.add(filename)
    return filename


def compiled_call_of(filename: str) -> str:
    """The compiled method (`Value.__add__`) whose call runs under `filename`, or ""."""
    prefix, _, suffix = _COMPILED_CALL.partition("{}")
    if filename not in _compiled_calls:
        return ""
    return filename.removeprefix(prefix).removesuffix(suffix)


def engine_file(filename: str) -> bool:
    """Is this source file the engine's (or the user's, in a tests run)?"""
    return _is_engine_file(filename)


def _is_engine_file(filename: str) -> bool:
    if filename in _engine_files or filename in _compiled_calls:
        return True
    if filename.startswith(_MINIGRAD):
        return False
    return _engine_dirs.holds(filename)


def _frames(tb: TracebackType | None) -> list[str]:
    files = []
    while tb is not None:
        files.append(tb.tb_frame.f_code.co_filename)
        tb = tb.tb_next
    return files


def raised_in(err: BaseException) -> str:
    """The engine function the exception was raised in (the innermost of the engine's frames
    on its traceback), by qualified name: `Value.backward.<locals>.build`; "" if none.  An
    exception raised while handling another (`raise RuntimeError(...) from e`, or in an
    `except` block) was raised where that one was, if engine code raised it: a backward()
    that wraps whatever a step raises (clumsygrad 0.2.1's "Error in backward pass at tensor
    ...") reports the step's failure, not its own."""
    found = ""
    seen: set[int] = set()
    current: BaseException | None = err
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        found = _innermost_engine_function(current.__traceback__) or found
        current = current.__cause__ or current.__context__
    return found


def _innermost_engine_function(tb: TracebackType | None) -> str:
    found = ""
    while tb is not None:
        code = tb.tb_frame.f_code
        if _is_engine_file(code.co_filename):
            found = code.co_qualname
        tb = tb.tb_next
    return found


def engine_caused(err: BaseException) -> bool:
    """Did engine code raise this, or the exception it came from?"""
    seen: set[int] = set()
    current: BaseException | None = err
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if any(_is_engine_file(f) for f in _frames(current.__traceback__)):
            return True
        current = current.__cause__ or current.__context__
    return False


def told(err: BaseException) -> str:
    """`Type: message` of an exception, as an f-string would say it; the message itself may
    raise (a KeyError holding a node whose __repr__ fails, whalegrad 0.0.2's), and then the
    exception is still named, with why its message cannot be shown."""
    name = type(err).__name__
    try:
        return f"{name}: {err}"
    except Exception as inner:
        return f"{name} (its message cannot be shown: str() of it raised {type(inner).__name__})"


def where(err: BaseException) -> str:
    """`file:line in function` of the innermost frame, and the exception, on one line."""
    frames = traceback.extract_tb(err.__traceback__)
    # the exception's own line: format_exception_only ends with its notes, where it has any
    said = told(err).strip().splitlines()
    last = said[0].removesuffix(":") if said else type(err).__name__
    notes = [str(n) for n in getattr(err, "__notes__", ())]
    if notes:
        last += f" ({'; '.join(notes)})"
    if not frames:
        return last
    f = frames[-1]
    return f"{last} (raised at {f.filename}:{f.lineno} in {f.name})"
