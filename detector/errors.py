"""Exception classes.  Every error a user can cause carries where it happened."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # typing only: errors.py sits below the language stage
    from detector.language.ast import Span


def caret_snippet(text: str, offset: int, *, width: int = 160) -> str:
    """The line of ``text`` holding ``offset`` with a caret under that offset.

    Long lines are cut to at most ``width`` characters around the offset, with
    ``...`` marking each cut end, as Falco's loader does.
    """
    offset = max(0, min(offset, len(text)))
    line_start = text.rfind("\n", 0, offset) + 1
    line_end = text.find("\n", offset)
    if line_end == -1:
        line_end = len(text)
    line = text[line_start:line_end]
    col = offset - line_start
    prefix = ""
    suffix = ""
    if len(line) > width:
        start = max(0, col - width // 2)
        end = min(len(line), start + width)
        start = max(0, end - width)
        if start > 0:
            prefix = "..."
        if end < len(line):
            suffix = "..."
        line = line[start:end]
        col -= start
    return f"{prefix}{line}{suffix}\n{' ' * (len(prefix) + col)}^"


def line_col(text: str, offset: int) -> tuple[int, int]:
    """1-based line and column of ``offset`` in ``text``."""
    offset = max(0, min(offset, len(text)))
    line = text.count("\n", 0, offset) + 1
    column = offset - (text.rfind("\n", 0, offset) + 1) + 1
    return line, column


class DetectorError(Exception):
    """Base of every error the package raises on purpose."""


@dataclass(eq=False)
class ConditionError(DetectorError):
    """An error located in a condition's text."""

    message: str
    text: str = ""
    offset: int = 0

    def __post_init__(self) -> None:
        super().__init__(self.message)

    @property
    def line(self) -> int:
        return line_col(self.text, self.offset)[0]

    @property
    def column(self) -> int:
        return line_col(self.text, self.offset)[1]

    @property
    def snippet(self) -> str:
        return caret_snippet(self.text, self.offset)

    def __str__(self) -> str:
        return self.message

    def describe(self) -> str:
        """Message, position and caret snippet, for people."""
        return f"{self.message} (line {self.line}, column {self.column})\n{self.snippet}"


@dataclass(eq=False)
class ConditionSyntaxError(ConditionError):
    """The condition text does not parse.  ``expected`` lists what would have."""

    expected: tuple[str, ...] = ()


@dataclass(eq=False)
class ConditionCompileError(ConditionError):
    """The condition parses but cannot be compiled (unknown field, bad operator for the type, ...)."""


@dataclass(eq=False)
class UnknownFieldError(ConditionCompileError):
    """A condition names a field the source does not have (Falco: ``nonexistent field``)."""

    field: str = ""


@dataclass(eq=False)
class OutputFormatError(DetectorError):
    """A rule's ``output`` format cannot be compiled (Falco: ``LOAD_ERR_COMPILE_OUTPUT``).

    ``text`` is the format as written and ``offset`` where the offending token starts.
    """

    message: str
    text: str = ""
    offset: int = 0

    def __post_init__(self) -> None:
        super().__init__(self.message)

    def __str__(self) -> str:
        return self.message

    @property
    def line(self) -> int:
        return line_col(self.text, self.offset)[0]

    @property
    def column(self) -> int:
        return line_col(self.text, self.offset)[1]

    @property
    def snippet(self) -> str:
        return caret_snippet(self.text, self.offset)

    def describe(self) -> str:
        """Message, position and caret snippet, for people."""
        return f"{self.message} (line {self.line}, column {self.column})\n{self.snippet}"


@dataclass(eq=False)
class MacroError(ConditionCompileError):
    """A macro reference cannot be expanded: undefined, a reference loop, or too large.

    ``macro`` names the macro; ``span`` is where the offending reference was
    written (in the text of the rule or macro that holds it).
    """

    macro: str = ""
    span: Span | None = None
