"""Turning a case's ``events`` into ``(source, event)`` pairs, with the engine's own recognition.

Inline events and files go through :func:`detector.sources.recognize`, so a suite accepts
exactly what ``detector replay`` reads: flat field maps, Falco alerts (their
``output_fields``), Kubernetes audit ``Event`` objects and ``EventList`` documents.  A file is
either one JSON document (an audit event or list, possibly pretty-printed) or JSON lines;
either may be gzip-compressed.  In a test every event must be usable: anything the input
layer would skip is a suite error rather than a silently smaller test.
"""

from __future__ import annotations

import gzip
import zlib
from pathlib import Path
from typing import Any

from detector.ruletest.suite import EventSource, SuiteError
from detector.sources import BadLine, RecordRejected, decode_line, read_records, recognize

_GZIP_MAGIC = b"\x1f\x8b"

EventPair = tuple[str, Any]


def load_events(items: tuple[EventSource, ...], suite_file: Path) -> list[EventPair]:
    """Every event of one case, in order."""
    pairs: list[EventPair] = []
    for item in items:
        if item.file is not None:
            pairs.extend(_from_file(item.file, suite_file, item.line))
        else:
            pairs.extend(_recognized(item.inline, str(suite_file), item.line))
    return pairs


def _recognized(value: Any, where: str, line: int) -> list[EventPair]:
    rejected: list[RecordRejected] = []
    try:
        pairs = recognize(value, on_item_rejected=rejected.append)
    except RecordRejected as exc:
        raise SuiteError(f"not an event the engine reads ({exc.kind}): {exc.message}", where, line) from None
    if rejected:
        first = rejected[0]
        raise SuiteError(f"an item is not an event ({first.kind}): {first.message}", where, line)
    if not pairs:
        raise SuiteError("holds no events", where, line)
    return pairs


def _from_file(path: Path, suite_file: Path, line: int) -> list[EventPair]:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise SuiteError(f"cannot read events file {path}: {exc.strerror or exc}", suite_file, line) from None
    if data.startswith(_GZIP_MAGIC):
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError, zlib.error) as exc:
            raise SuiteError(f"events file {path} is not valid gzip: {exc}", suite_file, line) from None
    try:
        whole = decode_line(data)
    except RecordRejected as exc:
        if exc.kind == "blank":
            raise SuiteError(f"events file {path} is empty", suite_file, line) from None
        # Not one JSON document: read it as JSON lines.
        return _json_lines(path, suite_file, line)
    return _recognized(whole, str(path), 0)


def _json_lines(path: Path, suite_file: Path, line: int) -> list[EventPair]:
    bad: list[BadLine] = []
    pairs = [(record.source, record.event) for record in read_records([path], on_bad=bad.append)]
    if bad:
        first = bad[0]
        raise SuiteError(f"events file line {first.line}: {first.kind}: {first.message}", first.file, first.line)
    if not pairs:
        raise SuiteError(f"events file {path} holds no events", suite_file, line)
    return pairs
