"""Ingest queue → evaluation → spool.

Inputs submit ``Work`` (records decoded from one request, one chunk of lines, one gRPC
message) to a bounded queue.  One evaluator task takes a batch, evaluates every record with
the rule set running at that moment, writes the resulting alerts (and file checkpoints) to
the spool in one transaction, and only then resolves each submitter's future: an HTTP input
answers 200 once its alerts are durable.

Backpressure: ``submit`` waits for room; HTTP submitters give up after ``submit_timeout``
(answered 503, so the client retries) while stream inputs simply stop reading.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from detector.outputs.alert import Alert, JsonOptions
from detector.service.config import PipelineConfig
from detector.service.errors import SpoolError
from detector.service.metrics import Metrics
from detector.service.protocols import AlertLike, Record
from detector.service.rules import RulesManager
from detector.service.spool import Checkpoint, NewAlert, ShedReport, Spool

log = logging.getLogger("detector.service")


class Overloaded(Exception):
    """The ingest queue stayed full for the whole submit timeout."""


class Stopped(Exception):
    """The pipeline no longer takes work (the service is draining)."""


@dataclass(slots=True)
class Work:
    input: str
    records: list[Record]
    received_ns: int = field(default_factory=time.time_ns)
    checkpoint: Checkpoint | None = None
    done: asyncio.Future[int] | None = None


def priority_title(priority: object) -> str:
    title = getattr(priority, "title", None)
    if isinstance(title, str):
        return title
    return str(priority)


@dataclass(frozen=True, slots=True)
class Rendering:
    """Falco's ``json_include_*_property`` and ``time_format_iso_8601`` settings."""

    json_options: JsonOptions = field(default_factory=JsonOptions)
    iso8601: bool = False


def encode_alert(alert: AlertLike, received_ns: int, rendering: Rendering | None = None) -> NewAlert:
    if rendering is not None and isinstance(alert, Alert):
        body = alert.to_json(rendering.json_options)
        text = alert.to_text(iso8601=rendering.iso8601 or None)
    else:
        body = alert.to_json()
        text = alert.to_text()
    return NewAlert(
        received_ns=received_ns,
        rule=alert.rule,
        priority=priority_title(alert.priority),
        source=alert.source,
        json=body,
        text=text.encode("utf-8", "replace"),
    )


class Pipeline:
    def __init__(
        self,
        config: PipelineConfig,
        rules: RulesManager,
        spool: Spool,
        metrics: Metrics,
        on_spooled: Callable[[], None],
        on_shed: Callable[[ShedReport, bool], None],
        rendering: Rendering | None = None,
    ) -> None:
        self._rendering = rendering
        self._config = config
        self._rules = rules
        self._spool = spool
        self._metrics = metrics
        self._on_spooled = on_spooled
        self._on_shed = on_shed
        self._queue: asyncio.Queue[Work] = asyncio.Queue(maxsize=config.queue_size)
        self._accepting = True
        metrics.ingest_queue_limit.set(config.queue_size)

    @property
    def depth(self) -> int:
        return self._queue.qsize()

    def stop_intake(self) -> None:
        self._accepting = False

    async def submit(self, work: Work, *, wait_durable: bool, timeout: float | None = None) -> int:
        """Queue ``work``; with ``wait_durable``, return the number of alerts once they are spooled.

        ``timeout`` bounds the wait for queue room (``Overloaded`` past it); None waits as long as needed.
        """
        if not self._accepting:
            raise Stopped()
        if wait_durable:
            work.done = asyncio.get_running_loop().create_future()
        try:
            if timeout is None:
                await self._queue.put(work)
            else:
                async with asyncio.timeout(timeout):
                    await self._queue.put(work)
        except TimeoutError:
            self._metrics.ingest_rejected.labels(work.input).inc()
            raise Overloaded() from None
        self._metrics.ingest_queue_depth.set(self._queue.qsize())
        if work.done is None:
            return 0
        return await work.done

    async def run(self) -> None:
        """Evaluate until cancelled.  Cancellation between batches loses nothing already spooled."""
        while True:
            first = await self._queue.get()
            batch = [first]
            budget = self._config.batch_size - len(first.records)
            while budget > 0 and not self._queue.empty():
                work = self._queue.get_nowait()
                batch.append(work)
                budget -= len(work.records)
            self._process(batch)
            self._metrics.ingest_queue_depth.set(self._queue.qsize())
            # Let inputs and outputs run between batches.
            await asyncio.sleep(0)

    async def drain(self, deadline: float) -> int:
        """Evaluate what is queued (intake already stopped); returns the number of work items left over."""
        loop = asyncio.get_running_loop()
        while not self._queue.empty() and loop.time() < deadline:
            batch = [self._queue.get_nowait()]
            while len(batch) < self._config.batch_size and not self._queue.empty():
                batch.append(self._queue.get_nowait())
            self._process(batch)
            await asyncio.sleep(0)
        left = self._queue.qsize()
        while not self._queue.empty():
            work = self._queue.get_nowait()
            if work.done is not None and not work.done.done():
                work.done.set_exception(Stopped())
        return left

    def _process(self, batch: list[Work]) -> None:
        # One engine for the whole batch: a reload swapping it takes effect at the next batch.
        engine = self._rules.engine
        m = self._metrics
        alerts: list[NewAlert] = []
        counts: list[int] = []
        checkpoints: dict[str, Checkpoint] = {}
        perf = time.perf_counter
        evaluated = 0
        for work in batch:
            produced = 0
            for source, event in work.records:
                start = perf()
                try:
                    found = engine.process(event, source)
                except Exception as exc:  # one bad event must not stop evaluation
                    m.evaluation_errors.inc()
                    log.warning("evaluation error on a %s event from %s: %s: %s", source, work.input,
                                exc.__class__.__name__, exc)
                    continue
                m.evaluation_seconds.observe(perf() - start)
                evaluated += 1
                for alert in found:
                    try:
                        encoded = encode_alert(alert, work.received_ns, self._rendering)
                    except Exception as exc:
                        m.evaluation_errors.inc()
                        log.warning("cannot render an alert of rule %r: %s: %s", getattr(alert, "rule", "?"),
                                    exc.__class__.__name__, exc)
                        continue
                    alerts.append(encoded)
                    m.alerts.labels(encoded.rule, encoded.priority, encoded.source).inc()
                    produced += 1
            counts.append(produced)
            if work.checkpoint is not None:
                checkpoints[work.checkpoint.key] = work.checkpoint
        m.events_evaluated.inc(evaluated)
        try:
            report = self._spool.append(alerts, checkpoints.values())
        except SpoolError as exc:
            log.error("%s; %d alerts of this batch not spooled", exc, len(alerts))
            for work in batch:
                if work.done is not None and not work.done.done():
                    work.done.set_exception(exc)
            return
        for work, produced in zip(batch, counts, strict=True):
            if work.done is not None and not work.done.done():
                work.done.set_result(produced)
        if alerts:
            self._on_spooled()
        if report.shed:
            self._on_shed(report, True)

    def spool_internal(self, alert: AlertLike) -> None:
        """Spool one of the service's own alerts right away (not evaluated against the rules)."""
        with contextlib.suppress(Exception):
            self._metrics.alerts.labels(alert.rule, priority_title(alert.priority), alert.source).inc()
        try:
            report = self._spool.append([encode_alert(alert, time.time_ns())])
        except SpoolError as exc:
            log.error("%s; internal alert %r not spooled", exc, alert.rule)
            return
        self._on_spooled()
        if report.shed:
            # Counted, but no further alert: an internal alert about shedding must not shed and alert again.
            self._on_shed(report, False)
