"""Bytes from the network → records, with a reason for everything rejected."""

from __future__ import annotations

from typing import Any

from detector.service.protocols import ItemRejected, Recogniser, Record
from detector.sources import RecordRejected, decode_line


class BadInput(Exception):
    """One input was rejected; ``reason`` is the metric label, the message says why."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


def decode_json(data: bytes) -> Any:
    """One JSON text, decoded as the JSON-lines reader does (exact big integers, depth limit)."""
    try:
        return decode_line(data)
    except RecordRejected as exc:
        raise BadInput(exc.kind, exc.message) from None


def recognise_value(value: Any, recognise: Recogniser, on_item_rejected: ItemRejected | None = None) -> list[Record]:
    """Records of one decoded value; bad items inside a list are reported to ``on_item_rejected``."""
    try:
        return recognise(value, on_item_rejected=on_item_rejected)
    except BadInput:
        raise
    except Exception as exc:  # the recogniser's own errors say what is wrong with the value
        reason = getattr(exc, "kind", None)
        raise BadInput(reason if isinstance(reason, str) else "unrecognised", str(exc) or exc.__class__.__name__) from None


def recognise_audit_payload(value: Any, recognise: Recogniser, on_item_rejected: ItemRejected | None = None) -> list[Record]:
    """An Event, an EventList, or a JSON array of those (as the k8saudit plugin's webhook accepts)."""
    if not isinstance(value, dict | list):
        raise BadInput("not_k8s_audit", "data not recognized as a k8s audit event")
    records = recognise_value(value, recognise, on_item_rejected)
    if any(source != "k8s_audit" for source, _ in records):
        raise BadInput("not_k8s_audit", "data not recognized as a k8s audit event")
    return records


class LineFramer:
    """Splits a byte stream into lines of at most ``max_line`` bytes, bounded in memory.

    A line longer than the limit is discarded up to its newline and counted in ``too_long``.
    ``\\r\\n`` and ``\\n`` both end a line; empty lines are skipped.
    """

    __slots__ = ("_max", "_buffer", "_skipping", "_fed", "too_long")

    def __init__(self, max_line: int) -> None:
        self._max = max_line
        self._buffer = bytearray()
        self._skipping = False
        self._fed = 0
        self.too_long = 0

    @property
    def consumed(self) -> int:
        """Bytes of the stream fully dealt with: everything fed except an unfinished last line."""
        return self._fed - len(self._buffer)

    @property
    def pending(self) -> int:
        """Bytes of an unfinished last line held back (a line still being written is not lost)."""
        return len(self._buffer)

    def feed(self, chunk: bytes) -> list[bytes]:
        self._fed += len(chunk)
        lines: list[bytes] = []
        start = 0
        while True:
            newline = chunk.find(b"\n", start)
            if newline == -1:
                break
            piece = chunk[start:newline]
            start = newline + 1
            if self._skipping:
                self._skipping = False
                continue
            if len(self._buffer) + len(piece) > self._max:
                self.too_long += 1
                self._buffer.clear()
                continue
            if self._buffer:
                self._buffer += piece
                line = bytes(self._buffer)
                self._buffer.clear()
            else:
                line = piece
            if line.endswith(b"\r"):
                line = line[:-1]
            if line.strip():
                lines.append(line)
        rest = chunk[start:]
        if rest and not self._skipping:
            if len(self._buffer) + len(rest) > self._max:
                self.too_long += 1
                self._buffer.clear()
                self._skipping = True
            else:
                self._buffer += rest
        return lines
