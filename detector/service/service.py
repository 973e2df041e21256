"""The long-running sidecar: inputs → pipeline → spool → outputs, with reload and graceful stop.

Signals: SIGHUP reloads the rules, SIGUSR1 reopens the file output, SIGTERM/SIGINT stop.
Stopping stops intake first (HTTP answers 503, listeners close, followers stop), evaluates
what was already queued, lets every output drain until ``delivery.drain_timeout``, then logs
exactly which alerts each output has not had; they stay in the spool for the next start.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Callable
from dataclasses import dataclass

from detector.errors import DetectorError
from detector.outputs.alert import JsonOptions
from detector.priority import Priority
from detector.service.config import ServiceConfig
from detector.service.inputs.follow import FileFollower
from detector.service.inputs.grpc_client import FalcoGrpcInput
from detector.service.inputs.lines import JsonLinesServer
from detector.service.internal import InternalAlert, InternalAlerts
from detector.service.metrics import Metrics
from detector.service.outputs.base import OutputWorker, Sink
from detector.service.outputs.grpc_server import GrpcServerSink
from detector.service.outputs.stream import FileSink, StdoutSink
from detector.service.outputs.webhook import WebhookSink
from detector.service.pipeline import Pipeline, Rendering
from detector.service.protocols import EngineFactory, Recogniser, RulesLoader
from detector.service.rules import RulesLoadError, RulesManager
from detector.service.spool import ShedReport, Spool
from detector.service.webserver import WebServer

log = logging.getLogger("detector.service")


@dataclass(frozen=True, slots=True)
class Dependencies:
    """The stages the service runs on; ``wiring.default_dependencies()`` gives the real ones."""

    loader: RulesLoader
    engine_factory: EngineFactory
    recognise: Recogniser


@dataclass(frozen=True, slots=True)
class Undelivered:
    output: str
    count: int
    first_id: int
    last_id: int


class Service:
    def __init__(self, config: ServiceConfig, deps: Dependencies) -> None:
        self.config = config
        self.deps = deps
        self.metrics = Metrics()
        self.spool: Spool | None = None
        self.rules: RulesManager | None = None
        self.pipeline: Pipeline | None = None
        self.webserver: WebServer | None = None
        self.workers: list[OutputWorker] = []
        self._line_servers: list[JsonLinesServer] = []
        self._input_tasks: list[asyncio.Task[None]] = []
        self._tasks: list[asyncio.Task[None]] = []
        self._worker_tasks: list[asyncio.Task[None]] = []
        self._stop = asyncio.Event()
        self._ready = False
        self._internal = InternalAlerts(
            self._emit_internal,
            config.hostname,
            config.delivery.internal_alert_interval,
            on_raise=self._count_internal,
        )

    # -- internal alerts -----------------------------------------------------------------------

    def _emit_internal(self, alert: InternalAlert) -> None:
        if self.pipeline is not None:
            self.pipeline.spool_internal(alert)

    def _count_internal(self, kind: str, allowed: bool) -> None:
        (self.metrics.internal_alerts if allowed else self.metrics.internal_alerts_suppressed).labels(kind).inc()

    def _on_spooled(self) -> None:
        for worker in self.workers:
            worker.wake()
        if self.spool is not None:
            self.metrics.spool_alerts.set(self.spool.size)

    def _on_shed(self, report: ShedReport, alert: bool) -> None:
        m = self.metrics
        m.spool_shed.inc(report.shed)
        for name, dropped in report.dropped_per_output:
            m.output_dropped.labels(name).inc(dropped)
        if not alert:
            return
        detail = ", ".join(f"{name}: {n}" for name, n in report.dropped_per_output)
        self._internal.raise_alert(
            "spool_shed",
            "Detector internal: spool full",
            f"Detector internal: spool full, {report.shed} oldest alerts shed ({detail})",
            Priority.ERROR,
            {"shed": report.shed, "max_alerts": self.config.spool.max_alerts,
             **{f"dropped.{name}": n for name, n in report.dropped_per_output}},
        )

    def _on_output_failure(self, message: str) -> None:
        self._internal.raise_alert(
            "output_failed", "Detector internal: output failure", f"Detector internal: {message}", Priority.ERROR
        )

    # -- lifecycle -----------------------------------------------------------------------------

    def _is_ready(self) -> tuple[bool, str]:
        if self._stop.is_set():
            return False, "stopping"
        if not self._ready:
            return False, "starting"
        return True, ""

    def request_stop(self) -> None:
        self._stop.set()

    def _sinks(self) -> list[Sink]:
        c = self.config
        sinks: list[Sink] = []
        if c.stdout_output_enabled:
            sinks.append(StdoutSink(self.metrics, json_output=c.json_output))
        if c.file_output.enabled:
            sinks.append(
                FileSink(self.metrics, filename=c.file_output.filename, json_output=c.json_output,
                         keep_alive=c.file_output.keep_alive)
            )
        if c.http_output.enabled:
            assert self.spool is not None
            sinks.append(
                WebhookSink(c.http_output, self.metrics, json_output=c.json_output, instance_id=self.spool.instance_id,
                            on_failure=self._on_output_failure)
            )
        if c.grpc.enabled and c.grpc_output_enabled:
            sinks.append(GrpcServerSink(c.grpc, self.metrics))
        elif c.grpc.enabled != c.grpc_output_enabled:
            log.warning("the gRPC output needs both grpc.enabled and grpc_output.enabled (as in Falco); not started")
        return sinks

    async def start(self) -> None:
        c = self.config
        loop = asyncio.get_running_loop()
        self.spool = Spool(c.spool.path, max_alerts=c.spool.max_alerts, synchronous=c.spool.synchronous)
        self.metrics.spool_limit.set(c.spool.max_alerts)
        self.rules = RulesManager(c, self.deps.loader, self.deps.engine_factory, self.metrics, self._internal)
        self.rules.load_initial()
        rendering = Rendering(
            JsonOptions(
                include_output=c.json_include_output_property,
                include_tags=c.json_include_tags_property,
                include_message=c.json_include_message_property,
                include_output_fields=c.json_include_output_fields_property,
            ),
            iso8601=c.time_format_iso_8601,
        )
        self.pipeline = Pipeline(c.pipeline, self.rules, self.spool, self.metrics, self._on_spooled, self._on_shed,
                                 rendering)

        sinks = self._sinks()
        self.spool.register_outputs(s.name for s in sinks)
        self.metrics.spool_alerts.set(self.spool.size)
        for sink in sinks:
            await sink.start()
            worker = OutputWorker(sink, self.spool, self.metrics, batch_size=c.delivery.batch_size)
            worker.update_gauge()
            self.workers.append(worker)
            if worker.queued:
                log.info("output %s: %d alerts left in the spool from before; delivering them", sink.name,
                         worker.queued)
        self._worker_tasks = [asyncio.create_task(w.run(), name=f"output-{w.name}") for w in self.workers]
        self._tasks.append(asyncio.create_task(self.pipeline.run(), name="pipeline"))
        self._tasks.append(asyncio.create_task(self.rules.run(), name="reloader"))
        if c.watch_config_files:
            self._tasks.append(asyncio.create_task(self.rules.watch(), name="rules-watch"))
        self._tasks.append(asyncio.create_task(self._watchdog(), name="watchdog"))

        if c.webserver.enabled:
            self.webserver = WebServer(
                c.webserver, c.inputs, self.pipeline, self.deps.recognise, self.metrics,
                is_ready=self._is_ready, submit_timeout=c.pipeline.submit_timeout,
            )
            await self.webserver.start()
        elif c.inputs.falco_http.enabled or c.inputs.k8s_audit.enabled:
            log.warning("webserver disabled: the HTTP and k8s audit inputs are not served")
        await self._start_inputs()

        loop.add_signal_handler(signal.SIGHUP, self.rules.request_reload, "SIGHUP")
        loop.add_signal_handler(signal.SIGUSR1, self._reopen)
        loop.add_signal_handler(signal.SIGTERM, self.request_stop)
        loop.add_signal_handler(signal.SIGINT, self.request_stop)
        self._ready = True
        self.metrics.ready.set(1)
        log.info("detector sidecar ready (%d outputs: %s)", len(self.workers), ", ".join(w.name for w in self.workers))

    async def _start_inputs(self) -> None:
        c = self.config
        assert self.pipeline is not None and self.spool is not None
        jl = c.inputs.json_lines
        if jl.unix_socket_enabled:
            server = JsonLinesServer("unix_socket", self.pipeline, self.deps.recognise, self.metrics,
                                     max_line=jl.max_line_bytes, max_connections=jl.max_connections)
            await server.start_unix(jl.unix_socket_path, jl.unix_socket_mode)
            self._line_servers.append(server)
        if jl.tcp_enabled:
            server = JsonLinesServer("tcp", self.pipeline, self.deps.recognise, self.metrics,
                                     max_line=jl.max_line_bytes, max_connections=jl.max_connections)
            await server.start_tcp(jl.tcp_address, jl.tcp_port)
            self._line_servers.append(server)
        for path in jl.files:
            follower = FileFollower(path, self.pipeline, self.deps.recognise, self.metrics, self.spool,
                                    max_line=jl.max_line_bytes, poll_interval=jl.file_poll_interval,
                                    start_at_end=jl.file_start == "end")
            self._input_tasks.append(asyncio.create_task(follower.run(), name=f"follow-{path}"))
        if c.inputs.grpc.enabled:
            client = FalcoGrpcInput(c.inputs.grpc, self.pipeline, self.deps.recognise, self.metrics)
            self._input_tasks.append(asyncio.create_task(client.run(), name="falco-grpc"))

    def _reopen(self) -> None:
        log.info("SIGUSR1: reopening outputs")
        for worker in self.workers:
            worker.sink.reopen()

    async def _watchdog(self) -> None:
        timeout = self.config.delivery.output_timeout
        loop = asyncio.get_running_loop()
        reported: set[str] = set()
        while True:
            await asyncio.sleep(min(1.0, timeout / 2))
            for worker in self.workers:
                since = worker.busy_since
                if since is None or loop.time() - since < timeout:
                    reported.discard(worker.name)
                    continue
                if worker.name in reported:
                    continue
                reported.add(worker.name)
                self._internal.raise_alert(
                    "output_blocked",
                    "Detector internal: output blocked",
                    f'Detector internal: "{worker.name}" output blocked for more than {timeout:g}s, '
                    f"{worker.queued} alerts queued",
                    Priority.ERROR,
                    {"output": worker.name, "queued": worker.queued},
                )
            for task in self._tasks + self._worker_tasks:
                if task.done() and not task.cancelled() and task.exception() is not None:
                    log.critical("task %s died: %r", task.get_name(), task.exception())
                    self.request_stop()

    async def wait_stopped(self) -> None:
        await self._stop.wait()

    async def shutdown(self, *, report: bool = True) -> list[Undelivered]:
        """Stop intake, drain within the deadline, report and close.  Returns what stayed undelivered."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.config.delivery.drain_timeout
        self._stop.set()
        self.metrics.ready.set(0)
        if report:
            log.info("stopping: intake closed, draining for up to %.1fs", self.config.delivery.drain_timeout)
        if self.webserver is not None:
            self.webserver.stop_intake()
        if self.pipeline is not None:
            self.pipeline.stop_intake()
        for task in self._input_tasks:
            task.cancel()
        for server in self._line_servers:
            await server.close()
        await asyncio.gather(*self._input_tasks, return_exceptions=True)

        pipeline_task = next((t for t in self._tasks if t.get_name() == "pipeline"), None)
        if pipeline_task is not None:
            pipeline_task.cancel()
            await asyncio.gather(pipeline_task, return_exceptions=True)
        left_work = await self.pipeline.drain(deadline) if self.pipeline is not None else 0
        if left_work:
            log.error("%d queued input batches were not evaluated before the deadline", left_work)

        while loop.time() < deadline and any(w.queued for w in self.workers):
            await asyncio.sleep(0.05)
        for task in self._worker_tasks + self._tasks:
            task.cancel()
        await asyncio.gather(*self._worker_tasks, *self._tasks, return_exceptions=True)

        undelivered = self._report_undelivered() if report else []
        for worker in self.workers:
            with contextlib.suppress(Exception):
                await worker.sink.close()
        if self.webserver is not None:
            await self.webserver.close()
        if self.spool is not None:
            self.spool.close()
        return undelivered

    def _report_undelivered(self) -> list[Undelivered]:
        found: list[Undelivered] = []
        if self.spool is None:
            return found
        for worker in self.workers:
            count = worker.queued
            if count:
                cursor = self.spool.cursor(worker.name)
                item = Undelivered(worker.name, count, cursor + 1, self.spool.max_id)
                found.append(item)
                log.error(
                    "output %s: %d alerts undelivered at shutdown (spool ids %d-%d), kept in %s for the next start",
                    item.output, item.count, item.first_id, item.last_id, self.spool.path,
                )
        if not found:
            log.info("all spooled alerts delivered to every output")
        return found


async def run_service(config: ServiceConfig, deps: Dependencies, *, on_ready: Callable[[Service], None] | None = None) -> int:
    """Run until SIGTERM/SIGINT; the exit code (0 after a clean drain, 1 when startup failed)."""
    service = Service(config, deps)
    try:
        await service.start()
    except Exception as exc:
        # Located errors (config, rules, spool, listeners) say enough; anything else is a bug: keep the trace.
        log.critical("startup failed: %s", exc, exc_info=not isinstance(exc, DetectorError | RulesLoadError))
        with contextlib.suppress(Exception):
            await service.shutdown(report=False)
        return 1
    if on_ready is not None:
        on_ready(service)
    await service.wait_stopped()
    await service.shutdown()
    return 0
