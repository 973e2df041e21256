"""JSON lines over a unix socket or a TCP port, and the shared line → record step.

Each connection is read in chunks through a bounded ``LineFramer``; decoded records are
submitted without waiting for durability, and a full ingest queue stops the reading (TCP
backpressure reaches the sender) instead of buffering.  Connections are capped; the
unix socket is created with an explicit mode (default 0660), not left to the umask.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os

from detector.service.errors import StartupError
from detector.service.inputs.decode import BadInput, LineFramer, decode_json, recognise_value
from detector.service.internal import TokenBucket
from detector.service.metrics import Metrics
from detector.service.pipeline import Pipeline, Stopped, Work
from detector.service.protocols import Recogniser, Record
from detector.service.unixsock import prepare_socket_path, remove_socket

log = logging.getLogger("detector.service")

_CHUNK = 65536


class LineDecoder:
    """Decodes lines of one input, counting and (rate-limited) logging the bad ones."""

    def __init__(self, name: str, recognise: Recogniser, metrics: Metrics) -> None:
        self.name = name
        self._recognise = recognise
        self._metrics = metrics
        self._log_bucket = TokenBucket(rate=0.2, burst=3)
        self._suppressed = 0

    def bad(self, reason: str, message: str, where: str = "") -> None:
        self._metrics.bad_inputs.labels(self.name, reason).inc()
        if self._log_bucket.take():
            extra = f" ({self._suppressed} more not logged)" if self._suppressed else ""
            self._suppressed = 0
            log.warning("input %s%s: %s%s", self.name, f" {where}" if where else "", message, extra)
        else:
            self._suppressed += 1

    def item_rejected(self, exc: Exception) -> None:
        kind = getattr(exc, "kind", None)
        self.bad(kind if isinstance(kind, str) else "unrecognised", str(exc))

    def decode(self, lines: list[bytes], where: str = "") -> list[Record]:
        records: list[Record] = []
        for line in lines:
            try:
                records.extend(recognise_value(decode_json(line), self._recognise, self.item_rejected))
            except BadInput as exc:
                self.bad(exc.reason, str(exc), where)
        if records:
            self._metrics.events_in.labels(self.name).inc(len(records))
        return records


class JsonLinesServer:
    """One listening socket (unix or TCP) taking JSON lines from any number of connections, up to a cap."""

    def __init__(
        self,
        name: str,
        pipeline: Pipeline,
        recognise: Recogniser,
        metrics: Metrics,
        *,
        max_line: int,
        max_connections: int,
    ) -> None:
        self.name = name
        self._pipeline = pipeline
        self._decoder = LineDecoder(name, recognise, metrics)
        self._metrics = metrics
        self._max_line = max_line
        self._max_connections = max_connections
        self._connections = 0
        self._server: asyncio.AbstractServer | None = None
        self._unix_path = ""
        self._tasks: set[asyncio.Task[None]] = set()

    async def start_unix(self, path: str, mode: int) -> None:
        prepare_socket_path(path, self.name)
        try:
            self._server = await asyncio.start_unix_server(self._handle, path=path, limit=_CHUNK)
        except OSError as exc:
            raise StartupError(f"cannot listen on {path}: {exc.strerror}", self.name) from None
        os.chmod(path, mode)
        self._unix_path = path
        log.info("input %s listening on unix socket %s (mode %o)", self.name, path, mode)

    async def start_tcp(self, host: str, port: int) -> None:
        try:
            self._server = await asyncio.start_server(self._handle, host=host, port=port, limit=_CHUNK)
        except OSError as exc:
            raise StartupError(f"cannot listen on {host}:{port}: {exc.strerror}", self.name) from None
        log.info("input %s listening on tcp %s:%d", self.name, host, port)

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            for task in list(self._tasks):
                task.cancel()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), 1.0)
        if self._unix_path:
            remove_socket(self._unix_path)

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self._connections >= self._max_connections:
            self._decoder.bad("too_many_connections", f"connection refused: {self._max_connections} already open")
            writer.close()
            return
        task = asyncio.current_task()
        if task is not None:
            self._tasks.add(task)
        self._connections += 1
        self._metrics.connections.labels(self.name).set(self._connections)
        framer = LineFramer(self._max_line)
        try:
            while True:
                chunk = await reader.read(_CHUNK)
                if not chunk:
                    break
                too_long = framer.too_long
                lines = framer.feed(chunk)
                for _ in range(framer.too_long - too_long):
                    self._decoder.bad("line_too_long", f"line longer than {self._max_line} bytes skipped")
                records = self._decoder.decode(lines)
                if records:
                    await self._pipeline.submit(Work(self.name, records), wait_durable=False)
            if framer.pending:
                self._decoder.bad("truncated", f"connection closed in the middle of a line ({framer.pending} bytes)")
        except Stopped:
            pass
        except (ConnectionError, OSError) as exc:
            log.info("input %s: connection error: %s", self.name, exc)
        finally:
            self._connections -= 1
            self._metrics.connections.labels(self.name).set(self._connections)
            if task is not None:
                self._tasks.discard(task)
            writer.close()
