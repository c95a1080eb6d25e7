"""Printing for people: rich tables and colour on a terminal, plain unpadded text when piped.

All text that comes from the user or the engine (paths, exception messages,
source lines) is printed as text, never parsed as markup, so a path like
`x[/red].py` prints as itself.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, TextIO

if TYPE_CHECKING:
    from rich.console import Console

__all__ = ["Cell", "Output", "cell_text"]

Cell = str | tuple[str, str]  # text, or (text, rich style)


def cell_text(cell: Cell) -> str:
    return cell if isinstance(cell, str) else cell[0]


class Output:
    """One output stream; rich is imported only when it is a terminal."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream or sys.stdout
        try:
            self.is_terminal = self.stream.isatty()
        except (OSError, ValueError):  # a closed stream
            self.is_terminal = False
        self._console: Console | None = None
        self.gone = False  # the reader went away (`| head`): nothing more is printed

    def _write(self, text: str) -> None:
        """One line, whatever the terminal can encode (a lone surrogate is escaped, never a
        traceback), and nothing once the reader is gone."""
        if self.gone:
            return
        encoding = getattr(self.stream, "encoding", None) or "utf-8"
        try:
            safe = text.encode(encoding, "backslashreplace").decode(encoding)
        except LookupError:
            safe = text
        try:
            print(safe, file=self.stream)
        except BrokenPipeError:
            self.gone = True
        except (OSError, ValueError):  # a closed stdout: the report files are still written
            self.gone = True

    @property
    def console(self) -> Console:
        if self._console is None:
            from rich.console import Console

            self._console = Console(file=self.stream, highlight=False, soft_wrap=True)
        return self._console

    def line(self, text: str = "", style: str | None = None) -> None:
        if self.is_terminal and style and not self.gone:
            from rich.text import Text

            try:
                self.console.print(Text(_printable(text), style=style))
            except (BrokenPipeError, OSError):
                self.gone = True
        else:
            self._write(text)

    def grouped(
        self, label: str, pairs: Iterable[tuple[str, str]], style: str | None = None
    ) -> None:
        """`label: a, b: why`, a line per reason, the names that share it together (a
        compiled engine's ops are not mutated for one reason, said once)."""
        names: dict[str, list[str]] = {}
        for name, why in pairs:
            names.setdefault(why, []).append(name)
        for why, said in names.items():
            self.line(f"{label}: {', '.join(said)}: {why}", style)

    def table(
        self,
        title: str,
        headers: Sequence[str],
        rows: Sequence[Sequence[Cell]],
        right: Sequence[int] = (),
    ) -> None:
        """A table; `right` lists the columns to right-align."""
        if self.is_terminal:
            self._rich_table(title, headers, rows, right)
            return
        widths = [len(h) for h in headers]
        for row in rows:
            widths = [max(w, len(cell_text(c))) for w, c in zip(widths, row, strict=True)]
        if title:
            self._write(title)
        for row in [list(headers), *rows]:
            cells = [
                cell_text(c).rjust(w) if i in right else cell_text(c).ljust(w)
                for i, (c, w) in enumerate(zip(row, widths, strict=True))
            ]
            self._write("  ".join(cells).rstrip())

    def _rich_table(
        self,
        title: str,
        headers: Sequence[str],
        rows: Sequence[Sequence[Cell]],
        right: Sequence[int],
    ) -> None:
        from rich.table import Table
        from rich.text import Text

        table = Table(title=title or None, title_justify="left")
        for i, header in enumerate(headers):
            table.add_column(header, justify="right" if i in right else "left")
        for row in rows:
            table.add_row(*(Text(c) if isinstance(c, str) else Text(c[0], style=c[1]) for c in row))
        self.console.print(table)

    def diff(self, text: str) -> None:
        """A unified diff, coloured on a terminal."""
        for line in text.splitlines():
            style = None
            if line.startswith("+") and not line.startswith("+++"):
                style = "green"
            elif line.startswith("-") and not line.startswith("---"):
                style = "red"
            elif line.startswith("@@"):
                style = "cyan"
            self.line(line, style)

    def flush(self) -> None:
        try:
            self.stream.flush()
        except (OSError, ValueError):
            self.gone = True


def _printable(text: str) -> str:
    """Lone surrogates (from a file name that is not UTF-8, say) escaped as `\\udcxx`."""
    return text.encode("utf-8", "backslashreplace").decode("utf-8")
