"""Report files: checked before any work starts, written whole or not at all.

An output path may only ever become a new regular file, or replace one that
is a regular file the user named.  Refused, with a usage error: an existing
path that is not a regular file (a FIFO, a device such as /dev/null, a
socket, a folder), a symlink (replacing the link would lose it, writing
through it would write somewhere the user did not name), a file the run
reads, a missing folder, and two outputs on one path.  `--suggest` onto an
existing file is refused unless the user says to overwrite it.
"""

from __future__ import annotations

import os
import stat
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

__all__ = ["OutputError", "Outputs", "write_file"]


class OutputError(Exception):
    """An output path that must not be written: a usage error."""


def _same(a: Path, b: Path) -> bool:
    if a.absolute() == b.absolute() or a.resolve() == b.resolve():
        return True
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


def _check_one(path: Path, what: str, *, overwrite: bool) -> None:
    try:
        info = path.lstat()
    except FileNotFoundError:
        info = None
    except OSError as err:
        raise OutputError(f"{what} {path}: {err.strerror}") from None
    if info is not None:
        if stat.S_ISLNK(info.st_mode):
            raise OutputError(
                f"{what} {path} is a symbolic link: name the file itself, not a link to it"
            )
        if stat.S_ISDIR(info.st_mode):
            raise OutputError(f"{what} {path} is a directory, not a file")
        if not stat.S_ISREG(info.st_mode):
            raise OutputError(
                f"{what} {path} exists and is not a regular file (a device, FIFO or socket): "
                "minigrad only writes regular files"
            )
        if not overwrite:
            raise OutputError(
                f"{what} {path} already exists: choose a new file, or add --overwrite to replace it"
            )
    folder = path.parent
    if not folder.is_dir():
        raise OutputError(f"{what} {path}: the folder {folder} does not exist")
    if not os.access(folder, os.W_OK) or (info is not None and not os.access(path, os.W_OK)):
        raise OutputError(f"{what} {path} cannot be written (permission denied)")


def _refusal(what: str, text: str, source: Path) -> str:
    """Why an output may not land on a file the run reads, and what to do instead."""
    said = f"refusing to write {what} onto {source}: the run reads it"
    if what != "--suggest":
        return said
    other = Path(text).with_name(f"{Path(text).stem}_2.py")
    return (
        f"{said} (it is beside your tests, and pytest may import every module there). To "
        f"write new suggestions, delete it first; to keep it, add it to --tests and write the "
        f"new ones to another file (--suggest {other})"
    )


@dataclass(frozen=True)
class Outputs:
    """The report paths of one command, each checked against the others and the run's reads."""

    paths: dict[str, Path]  # option ("--json") -> path

    @classmethod
    def check(
        cls,
        wanted: Sequence[tuple[str, str | None]],
        reads: Sequence[Path],
        *,
        new_only: Sequence[str] = (),
    ) -> Outputs:
        """`wanted`: (option, path or None).  Options in `new_only` refuse an existing file."""
        chosen: dict[str, Path] = {}
        for what, text in wanted:
            if text is None:
                continue
            if not text.strip():
                raise OutputError(f"{what} needs a file name")
            path = Path(text)
            for source in reads:
                if _same(path, source):
                    raise OutputError(_refusal(what, text, source))
            for other, taken in chosen.items():
                if _same(path, taken):
                    raise OutputError(
                        f"{other} and {what} both name {text}: give each its own file"
                    )
            _check_one(path, what, overwrite=what not in new_only)
            chosen[what] = path
        return cls(chosen)

    def get(self, what: str) -> Path | None:
        return self.paths.get(what)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_file(path: Path, text: str) -> None:
    """Write beside `path`, then rename onto it: never a half-written report.

    The file gets the user's umask (a temporary file would keep 0600), or the
    mode of the regular file it replaces.
    """
    folder = path.parent
    try:
        info = path.lstat()
    except FileNotFoundError:
        mode = 0o666 & ~_umask()
    else:  # checked at the start; looked at again, since the run took a while
        if not stat.S_ISREG(info.st_mode):
            raise OutputError(f"{path} is no longer a regular file: nothing was written there")
        mode = stat.S_IMODE(info.st_mode)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=folder)
    try:
        # A path that is not UTF-8 (a byte Python keeps as a lone surrogate) is written as an
        # escape, `\udcff`: the report stays valid UTF-8 and still names the file.
        with os.fdopen(fd, "w", encoding="utf-8", errors="backslashreplace") as f:
            f.write(text)
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
