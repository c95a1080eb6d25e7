"""Watch which code of the engine's file runs: functions, and optionally lines.

The adapter learns which backward step an op attaches by running the op's
backward under this tracer; the campaign learns which cases (or tests) run
which lines of the engine the same way, as mutmut's stats run does.  Only
frames of the watched file are traced line by line, so the rest of the
program runs at nearly full speed.
"""

from __future__ import annotations

import contextlib
import sys
import threading
from collections.abc import Callable, Iterator
from types import CodeType, FrameType
from typing import Any

from minigrad_tool.installed import UserFolders

__all__ = ["CodeKey", "Tracer", "runs"]

CodeKey = tuple[str, int]  # (co_qualname, co_firstlineno)


class Tracer:
    """A context manager recording the code objects, and lines, of `filename` that ran."""

    def __init__(
        self,
        filename: str,
        *,
        lines: bool = False,
        package: UserFolders | None = None,
    ) -> None:
        self.filename = filename
        self.want_lines = lines
        # Other files of `package` (the engine's package folder, less an environment inside
        # it) whose code ran: where an op keeps its step when it is not in the watched file
        # (DeZero's functions.py).
        self.package = package
        self.package_codes: list[tuple[str, CodeKey]] = []  # (file, code) in first-call order
        self._seen_elsewhere: set[tuple[str, CodeKey]] = set()
        self.codes: list[CodeKey] = []  # in first-call order
        self._seen: set[CodeKey] = set()
        self.lines: set[int] = set()
        self._previous: Callable[..., Any] | None = None
        # Lines of a code object not yet seen run; once none is left, its frames
        # are no longer traced line by line (a 10,000-node loop costs one pass).
        self._unseen: dict[CodeType, set[int]] = {}

    def _local(self, frame: FrameType, event: str, arg: object) -> Callable[..., Any] | None:
        if event == "line":
            self.lines.add(frame.f_lineno)
            unseen = self._unseen[frame.f_code]
            unseen.discard(frame.f_lineno)
            if not unseen:
                frame.f_trace_lines = False
        return self._local

    def _global(self, frame: FrameType, event: str, arg: object) -> Callable[..., Any] | None:
        code = frame.f_code
        if code.co_filename != self.filename:
            file = code.co_filename
            if self.package is not None and self.package.holds(file):
                ran = (file, (code.co_qualname, code.co_firstlineno))
                if ran not in self._seen_elsewhere:
                    self._seen_elsewhere.add(ran)
                    self.package_codes.append(ran)
            return None
        key = (code.co_qualname, code.co_firstlineno)
        if key not in self._seen:
            self._seen.add(key)
            self.codes.append(key)
        if not self.want_lines:
            return None
        unseen = self._unseen.get(code)
        if unseen is None:
            unseen = {line for _, _, line in code.co_lines() if line is not None}
            unseen.discard(code.co_firstlineno)
            self._unseen[code] = unseen
        return self._local if unseen else None

    @property
    def elsewhere(self) -> set[tuple[str, str]]:
        """(file, qualname) of the package's other code that ran."""
        return {(file, qualname) for file, (qualname, _) in self.package_codes}

    def __enter__(self) -> Tracer:
        self._previous = sys.gettrace()
        sys.settrace(self._global)
        return self

    def __exit__(self, *exc: object) -> None:
        sys.settrace(self._previous)


@contextlib.contextmanager
def runs(filename: str, *, threads: bool = False) -> Iterator[list[bool]]:
    """While the block runs, does code of `filename` run (with `threads`, in threads started
    meanwhile too)?  Yields [answer].  A profile hook that steps aside at the first call there
    (it slows every call); other profile hooks (the habit recorder's) keep their events."""
    ran = [False]
    previous: Any = sys.getprofile()
    previous_threads: Any = threading.getprofile()

    def hook(frame: Any, event: str, arg: Any) -> None:
        if frame.f_code.co_filename == filename:
            ran[0] = True
            sys.setprofile(previous)  # answered: the rest runs at full speed
        if previous is not None:
            previous(frame, event, arg)

    sys.setprofile(hook)
    if threads:
        threading.setprofile(hook)
    try:
        yield ran
    finally:
        if sys.getprofile() is hook:
            sys.setprofile(previous)
        if threads:
            threading.setprofile(previous_threads)
