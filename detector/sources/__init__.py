"""Stage 7: JSON-lines input (files, ``.gz``, stdin) and recognition of what each line holds."""

from __future__ import annotations

from detector.sources.jsonlines import DEFAULT_MAX_DEPTH, DEFAULT_MAX_LINE_BYTES, decode_line, read_records
from detector.sources.recognize import recognize
from detector.sources.records import DEFAULT_SOURCES, BadLine, BadLineStats, Record, RecordRejected

__all__ = [
    "DEFAULT_MAX_DEPTH",
    "DEFAULT_MAX_LINE_BYTES",
    "DEFAULT_SOURCES",
    "BadLine",
    "BadLineStats",
    "Record",
    "RecordRejected",
    "decode_line",
    "read_records",
    "recognize",
]
