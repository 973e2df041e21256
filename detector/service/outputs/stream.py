"""stdout and file outputs: one line per alert (JSON or Falco's text line), whole lines per write.

The file is reopened on SIGUSR1 (after a logrotate ``mv``), as Falco's ``file_output`` is;
with ``keep_alive: false`` it is opened and closed around every batch instead.  A write error
(disk full, EIO, a read-only file system) keeps the batch spooled and retries it with backoff,
so writing resumes by itself once space is freed.
"""

from __future__ import annotations

import asyncio
import errno
import logging
import os
import sys
from typing import BinaryIO

from detector.service.metrics import Metrics
from detector.service.outputs.base import DeliveryResult
from detector.service.outputs.writer import BlockingWriter
from detector.service.spool import SpooledAlert

log = logging.getLogger("detector.service")

_RETRY_INITIAL = 0.1
_RETRY_MAX = 5.0


def render_lines(alerts: list[SpooledAlert], json_output: bool) -> bytes:
    return b"".join((a.json if json_output else a.text) + b"\n" for a in alerts)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


class StdoutSink:
    def __init__(self, metrics: Metrics, *, json_output: bool, stream: BinaryIO | None = None) -> None:
        self.name = "stdout"
        self._metrics = metrics
        self._json = json_output
        self._fd = (stream or sys.stdout.buffer).fileno()
        self._writer = BlockingWriter(self.name)
        self._broken = False

    async def start(self) -> None:
        return None

    async def deliver(self, alerts: list[SpooledAlert]) -> DeliveryResult:
        if self._broken:
            return DeliveryResult(frozenset(a.id for a in alerts))
        data = render_lines(alerts, self._json)
        delay = _RETRY_INITIAL
        while True:
            try:
                await self._writer.run(lambda: _write_all(self._fd, data))
                return DeliveryResult()
            except OSError as exc:
                if exc.errno in (errno.EPIPE, errno.EBADF):
                    # Nobody reads stdout any more: count what is lost from here on instead of retrying forever.
                    log.error("stdout output closed (%s); its alerts are counted as failed from now on", exc.strerror)
                    self._broken = True
                    return DeliveryResult(frozenset(a.id for a in alerts))
                self._metrics.output_retried.labels(self.name).inc()
                log.error("stdout output: %s; retrying in %.1fs", exc.strerror or exc, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, _RETRY_MAX)

    async def close(self) -> None:
        self._writer.stop()

    def reopen(self) -> None:
        return None


class FileSink:
    def __init__(self, metrics: Metrics, *, filename: str, json_output: bool, keep_alive: bool) -> None:
        self.name = "file"
        self._metrics = metrics
        self._filename = filename
        self._json = json_output
        self._keep_alive = keep_alive
        self._writer = BlockingWriter(self.name)
        self._fd: int | None = None
        self._reopen = False

    async def start(self) -> None:
        await self._writer.run(self._open)

    def _open(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
        self._fd = os.open(self._filename, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o640)

    def _write(self, data: bytes) -> None:
        if self._reopen or self._fd is None or not self._keep_alive:
            self._reopen = False
            self._open()
        assert self._fd is not None
        _write_all(self._fd, data)
        if not self._keep_alive:
            os.close(self._fd)
            self._fd = None

    async def deliver(self, alerts: list[SpooledAlert]) -> DeliveryResult:
        data = render_lines(alerts, self._json)
        delay = _RETRY_INITIAL
        while True:
            try:
                await self._writer.run(lambda: self._write(data))
                return DeliveryResult()
            except OSError as exc:
                self._metrics.output_retried.labels(self.name).inc()
                log.error("file output %s: %s; retrying in %.1fs", self._filename, exc.strerror or exc, delay)
                self._reopen = True
                await asyncio.sleep(delay)
                delay = min(delay * 2, _RETRY_MAX)

    async def close(self) -> None:
        fd, self._fd = self._fd, None
        if fd is not None:
            try:
                os.close(fd)
            except OSError:
                pass
        self._writer.stop()

    def reopen(self) -> None:
        # Picked up by the writer thread before its next write.
        self._reopen = True
