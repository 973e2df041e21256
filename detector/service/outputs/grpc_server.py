"""A gRPC server speaking Falco's ``falco.outputs.service`` and ``falco.version.service`` (0.43.1 protos).

Unlike Falco, whose one global queue hands each alert to whichever client pops it first,
every subscriber gets every alert: each ``sub`` stream has a bounded queue of its own
(a full queue drops for that subscriber only, counted).  Alerts are pushed as they come;
the empty ``request`` messages a Falco client keeps sending are read and ignored, so both
polling clients and clients that send one request then wait work.  ``get`` streams the
most recent alerts (a bounded ring) and closes.

Listening: ``unix://`` paths without authentication, the socket chmod-ed to ``socket_mode``;
TCP only with mutual TLS (client certificates required and verified), never plaintext.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections import deque
from collections.abc import AsyncIterator
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import grpc

from detector.service.config import GrpcServerConfig
from detector.service.errors import StartupError
from detector.service.grpc_convert import alert_json_to_response
from detector.service.metrics import Metrics
from detector.service.outputs.base import DeliveryResult
from detector.service.proto_gen import outputs_pb2, outputs_pb2_grpc, version_pb2, version_pb2_grpc
from detector.service.spool import SpooledAlert
from detector.service.unixsock import prepare_socket_path

log = logging.getLogger("detector.service")


class _Subscriber:
    __slots__ = ("queue", "peer")

    def __init__(self, size: int, peer: str) -> None:
        self.queue: asyncio.Queue[outputs_pb2.response] = asyncio.Queue(maxsize=size)
        self.peer = peer


class AlertHub:
    """Fan-out of alerts to the live subscribers, plus the ring of recent alerts for ``get``."""

    def __init__(self, config: GrpcServerConfig, metrics: Metrics) -> None:
        self._config = config
        self._metrics = metrics
        self._subscribers: set[_Subscriber] = set()
        self.recent: deque[outputs_pb2.response] = deque(maxlen=config.recent_alerts or None)
        if config.recent_alerts == 0:
            self.recent = deque(maxlen=0)

    def subscribe(self, peer: str) -> _Subscriber | None:
        if len(self._subscribers) >= self._config.max_subscribers:
            return None
        sub = _Subscriber(self._config.subscriber_queue, peer)
        self._subscribers.add(sub)
        self._metrics.grpc_subscribers.set(len(self._subscribers))
        return sub

    def unsubscribe(self, sub: _Subscriber) -> None:
        self._subscribers.discard(sub)
        self._metrics.grpc_subscribers.set(len(self._subscribers))

    def publish(self, response: outputs_pb2.response) -> None:
        self.recent.append(response)
        for sub in self._subscribers:
            try:
                sub.queue.put_nowait(response)
            except asyncio.QueueFull:
                self._metrics.grpc_subscriber_dropped.inc()


class OutputsServicer(outputs_pb2_grpc.serviceServicer):
    def __init__(self, hub: AlertHub) -> None:
        self._hub = hub

    async def sub(
        self, request_iterator: AsyncIterator[outputs_pb2.request], context: grpc.aio.ServicerContext
    ) -> AsyncIterator[outputs_pb2.response]:
        subscriber = self._hub.subscribe(context.peer())
        if subscriber is None:
            await context.abort(grpc.StatusCode.RESOURCE_EXHAUSTED, "too many subscribers")
            return
        reader = asyncio.create_task(_consume(request_iterator))
        try:
            while True:
                yield await subscriber.queue.get()
        finally:
            reader.cancel()
            self._hub.unsubscribe(subscriber)

    async def get(
        self, request: outputs_pb2.request, context: grpc.aio.ServicerContext
    ) -> AsyncIterator[outputs_pb2.response]:
        for response in list(self._hub.recent):
            yield response


async def _consume(requests: AsyncIterator[Any]) -> None:
    with contextlib.suppress(Exception):
        async for _ in requests:
            pass


class VersionServicer(version_pb2_grpc.serviceServicer):
    async def version(
        self, request: version_pb2.request, context: grpc.aio.ServicerContext
    ) -> version_pb2.response:
        try:
            text = version("detector")
        except PackageNotFoundError:
            text = "0.0.0"
        core, _, pre = text.partition("+")[0].partition("-")
        numbers = [int(p) if p.isdigit() else 0 for p in (core.split(".") + ["0", "0", "0"])[:3]]
        return version_pb2.response(
            version=text, major=numbers[0], minor=numbers[1], patch=numbers[2], prerelease=pre,
            engine_version=text, engine_major=numbers[0], engine_minor=numbers[1], engine_patch=numbers[2],
        )


def server_credentials(config: GrpcServerConfig) -> grpc.ServerCredentials:
    try:
        key = Path(config.private_key).read_bytes()
        chain = Path(config.cert_chain).read_bytes()
        roots = Path(config.root_certs).read_bytes()
    except OSError as exc:
        raise StartupError(f"cannot read TLS material {exc.filename}: {exc.strerror}", "grpc") from None
    return grpc.ssl_server_credentials([(key, chain)], root_certificates=roots, require_client_auth=True)


class GrpcServerSink:
    """The output side: each spooled alert is converted once and fanned out."""

    def __init__(self, config: GrpcServerConfig, metrics: Metrics) -> None:
        self.name = "grpc"
        self._config = config
        self._metrics = metrics
        self.hub = AlertHub(config, metrics)
        self._server: grpc.aio.Server | None = None

    async def start(self) -> None:
        server = grpc.aio.server(options=[("grpc.so_reuseport", 0)])
        outputs_pb2_grpc.add_serviceServicer_to_server(OutputsServicer(self.hub), server)
        version_pb2_grpc.add_serviceServicer_to_server(VersionServicer(), server)
        address = self._config.bind_address
        if address.startswith("unix:"):
            path = address.removeprefix("unix://") if address.startswith("unix://") else address.removeprefix("unix:")
            prepare_socket_path(path, "grpc")
            if server.add_insecure_port(f"unix://{path}") == 0:
                raise StartupError(f"cannot listen on {address}", "grpc")
            os.chmod(path, self._config.socket_mode)
        else:
            try:
                port = server.add_secure_port(address, server_credentials(self._config))
            except RuntimeError as exc:
                raise StartupError(f"cannot listen on {address}: {exc}", "grpc") from None
            if port == 0:
                raise StartupError(f"cannot listen on {address}", "grpc")
        await server.start()
        self._server = server
        log.info("gRPC outputs server listening on %s", address)

    async def deliver(self, alerts: list[SpooledAlert]) -> DeliveryResult:
        failed: set[int] = set()
        for alert in alerts:
            try:
                self.hub.publish(alert_json_to_response(alert.json))
            except Exception as exc:  # a malformed spooled alert must not stop the others
                log.warning("gRPC output: cannot convert alert %d: %s", alert.id, exc)
                failed.add(alert.id)
        return DeliveryResult(frozenset(failed))

    async def close(self) -> None:
        if self._server is not None:
            await self._server.stop(grace=0.5)

    def reopen(self) -> None:
        return None
