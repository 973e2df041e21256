"""What the input layer produces: records, rejected lines and their tally."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from detector.errors import DetectorError

#: Sources a line may name when the caller does not say otherwise.
DEFAULT_SOURCES: frozenset[str] = frozenset({"syscall", "k8s_audit"})


class Record(NamedTuple):
    """One event ready for the engine.

    ``event`` is a flat field map for ``syscall`` (and for alerts re-read from Falco), or a
    native ``audit.k8s.io`` ``Event`` for ``k8s_audit``.  ``file`` is the path as given
    (``-`` for stdin) and ``line`` the 1-based physical line it came from.

    Immutable and slot-free like a frozen slotted dataclass, but a named tuple: one is built
    per input line, and a frozen dataclass costs several times more to construct.
    """

    source: str
    event: Any
    file: str
    line: int
    # The rules of the event's type that match it, as a bit mask over the engine's rules of the
    # type in load order, when a prefilter already worked that out exactly (else ``None``).
    matched: int | None = None


class RecordRejected(DetectorError, ValueError):
    """A decoded value (or raw line) is not an event; ``kind`` is a stable label for counting."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message


@dataclass(frozen=True, slots=True)
class BadLine:
    """A skipped line (or a file that could not be read past some point), with where and why.

    ``offset`` is the byte offset of the line's start in the (decompressed) stream, when known.
    """

    file: str
    line: int
    kind: str
    message: str
    offset: int | None = None

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}: {self.kind}: {self.message}"


@dataclass(slots=True)
class BadLineStats:
    """Counters for one read.  Every physical line lands in exactly one of
    ``accepted_lines``, ``blank_lines`` or ``rejected_lines``; ``items_rejected`` counts bad
    items inside otherwise good lines (an ``EventList`` entry that is not an event) and
    ``file_errors`` the files that failed to open or stopped early.
    """

    lines: int = 0
    accepted_lines: int = 0
    blank_lines: int = 0
    records: int = 0
    files: int = 0
    file_errors: int = 0
    items_rejected: int = 0
    by_kind: Counter[str] = field(default_factory=Counter)
    by_source: Counter[str] = field(default_factory=Counter)

    @property
    def rejected_lines(self) -> int:
        return self.lines - self.accepted_lines - self.blank_lines

    def as_dict(self) -> dict[str, Any]:
        return {
            "lines": self.lines,
            "accepted_lines": self.accepted_lines,
            "blank_lines": self.blank_lines,
            "rejected_lines": self.rejected_lines,
            "records": self.records,
            "files": self.files,
            "file_errors": self.file_errors,
            "items_rejected": self.items_rejected,
            "by_kind": dict(sorted(self.by_kind.items())),
            "by_source": dict(sorted(self.by_source.items())),
        }
