"""Where alert lines go: a stream (stdout) or a file, as text or JSON, one line per alert.

Each alert is written with a single ``write`` of the whole line, so a reader never sees
half a record from us, and the same alerts always give the same bytes.  A failed write
never raises out of a sink: it is counted (``failed``) and, for files, the file is
reopened on the next alert (Falco 0.45.1's ``keep_alive`` behaviour after a full disk).
A closed pipe (``BrokenPipeError``) marks a stream sink ``broken``; later alerts are
counted as dropped.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from datetime import tzinfo
from pathlib import Path
from typing import BinaryIO, Protocol

from detector.outputs.alert import DEFAULT_JSON_OPTIONS, Alert, JsonOptions


@dataclass(frozen=True, slots=True)
class LineFormat:
    """How an alert becomes a line: JSON (with Falco's include options) or text."""

    json_output: bool = False
    json_options: JsonOptions = DEFAULT_JSON_OPTIONS
    iso8601: bool | None = None
    tz: tzinfo | None = None

    def line(self, alert: Alert) -> bytes:
        if self.json_output:
            return alert.to_json(self.json_options) + b"\n"
        if self.iso8601 is None and type(alert) is Alert:
            return alert.text_line()
        # Anything shaped like an alert (already rendered lines, for one) gives its own text.
        return alert.to_text(iso8601=self.iso8601, tz=self.tz).encode("utf-8") + b"\n"


class AlertSink(Protocol):
    def write(self, alert: Alert) -> bool: ...

    def close(self) -> None: ...


class StreamSink:
    """Alert lines to an already open binary stream (stdout by default), flushed per alert."""

    def __init__(self, stream: BinaryIO | None = None, fmt: LineFormat | None = None) -> None:
        self._stream = stream if stream is not None else sys.stdout.buffer
        self._fmt = fmt or LineFormat()
        self.written = 0
        self.failed = 0
        self.dropped = 0
        self.broken = False
        self.last_error: str | None = None

    def write(self, alert: Alert) -> bool:
        if self.broken:
            self.dropped += 1
            return False
        data = self._fmt.line(alert)
        try:
            self._stream.write(data)
            self._stream.flush()
        except BrokenPipeError as exc:
            self.broken = True
            self.dropped += 1
            self.last_error = str(exc)
            return False
        except (OSError, ValueError) as exc:
            self.failed += 1
            self.last_error = str(exc)
            return False
        self.written += 1
        return True

    def close(self) -> None:
        try:
            self._stream.flush()
        except (OSError, ValueError):
            pass


class FileSink:
    """Alert lines appended to a file, opened once (``keep_alive``) or for every alert."""

    def __init__(self, path: str | Path, fmt: LineFormat | None = None, *, keep_alive: bool = True) -> None:
        self.path = Path(path)
        self._fmt = fmt or LineFormat()
        self._keep_alive = keep_alive
        self._fd: int | None = None
        self.written = 0
        self.failed = 0
        self.last_error: str | None = None

    def open(self) -> None:
        """Open the file now (raises ``OSError``), so that a path that cannot be written is found
        before the first alert rather than by it."""
        self._open()

    def _open(self) -> int:
        if self._fd is None:
            self._fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_CLOEXEC, 0o640)
        return self._fd

    def write(self, alert: Alert) -> bool:
        line = self._fmt.line(alert)
        try:
            fd = self._fd if self._fd is not None else self._open()
            done = os.write(fd, line)
            if done < len(line):  # a short write (signal, full disk): the rest in as many as it takes
                data = memoryview(line)[done:]
                while data:
                    data = data[os.write(fd, data) :]
        except OSError as exc:
            self.failed += 1
            self.last_error = f"{self.path}: {exc.strerror or exc}"
            self._close_fd()
            return False
        if not self._keep_alive:
            self._close_fd()
        self.written += 1
        return True

    def reopen(self) -> None:
        """Close the file so the next alert opens it again (log rotation, SIGUSR1)."""
        self._close_fd()

    def _close_fd(self) -> None:
        if self._fd is not None:
            try:
                os.close(self._fd)
            except OSError:
                pass
            self._fd = None

    def close(self) -> None:
        self._close_fd()


def open_sink(target: str | Path, fmt: LineFormat | None = None, *, keep_alive: bool = True) -> StreamSink | FileSink:
    """``-`` for stdout, anything else a file path."""
    if str(target) == "-":
        return StreamSink(None, fmt)
    return FileSink(target, fmt, keep_alive=keep_alive)
