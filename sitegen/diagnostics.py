"""Warnings and errors that point at a place in the user's files."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, order=True)
class Diagnostic:
    """A message about a place in a source file."""

    file: str
    """Path of the file, relative to the site root where possible."""
    line: int
    """1-based line number, or 0 when the message is about the whole file."""
    message: str
    """What is wrong and how to fix it."""

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}: {self.message}"


class BuildError(Exception):
    """A problem that stops the build; carries the diagnostic to print."""

    def __init__(self, file: str, line: int, message: str):
        self.diagnostic = Diagnostic(file, line, message)
        super().__init__(str(self.diagnostic))


class BuildCancelled(Exception):
    """A build stopped because its caller asked it to (the preview server, when files change
    during a build that only catches up), before the stage it names or during it (`pagefind`):
    what is left undone is left as by a failed build, for the next build to do."""
