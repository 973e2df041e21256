"""One delivery loop per output, each with its own spool cursor.

A worker reads the alerts after its cursor, hands them to its sink, and moves the cursor
once the sink is done with them (delivered, or permanently failed and counted).  Outputs
never wait for one another: a dead webhook only keeps its own backlog in the spool.
A crash between delivery and ``ack`` redelivers that batch: at-least-once.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from typing import Protocol

from detector.service.errors import SpoolError
from detector.service.metrics import Metrics
from detector.service.spool import Spool, SpooledAlert

log = logging.getLogger("detector.service")


@dataclass(frozen=True, slots=True)
class DeliveryResult:
    """Ids of the batch that were given up on; every other alert of the batch was delivered."""

    failed: frozenset[int] = frozenset()


class Sink(Protocol):
    name: str

    async def start(self) -> None: ...

    async def deliver(self, alerts: list[SpooledAlert]) -> DeliveryResult: ...

    async def close(self) -> None: ...

    def reopen(self) -> None: ...


class OutputWorker:
    def __init__(self, sink: Sink, spool: Spool, metrics: Metrics, *, batch_size: int) -> None:
        self.sink = sink
        self.name = sink.name
        self._spool = spool
        self._metrics = metrics
        self._batch_size = batch_size
        self._wake = asyncio.Event()
        self.busy_since: float | None = None
        self._wake.set()

    def wake(self) -> None:
        self._wake.set()

    @property
    def queued(self) -> int:
        return self._spool.queued(self.name)

    def update_gauge(self) -> None:
        self._metrics.output_queued.labels(self.name).set(self._spool.queued(self.name))
        self._metrics.spool_alerts.set(self._spool.size)

    async def run(self) -> None:
        m = self._metrics
        loop = asyncio.get_running_loop()
        while True:
            await self._wake.wait()
            self._wake.clear()
            while True:
                cursor = self._spool.cursor(self.name)
                alerts = self._spool.fetch(cursor, self._batch_size)
                if not alerts:
                    break
                self.busy_since = loop.time()
                result = await self.sink.deliver(alerts)
                self.busy_since = None
                now_ns = time.time_ns()
                delivered = 0
                for alert in alerts:
                    if alert.id in result.failed:
                        continue
                    delivered += 1
                    m.output_latency.labels(self.name).observe(max(0, now_ns - alert.received_ns) / 1e9)
                m.output_delivered.labels(self.name).inc(delivered)
                if result.failed:
                    m.output_failed.labels(self.name).inc(len(result.failed))
                try:
                    self._spool.ack(self.name, alerts[-1].id)
                except SpoolError as exc:
                    # The batch stays spooled and is delivered again: duplicates, never loss.
                    log.error("%s", exc)
                    await asyncio.sleep(1.0)
                self.update_gauge()
                await asyncio.sleep(0)
            self.update_gauge()
