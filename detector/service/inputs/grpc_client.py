"""A client of Falco's gRPC outputs API (Falco <= 0.43): ``falco.outputs.service/sub``.

Falco writes pending alerts each time the client sends a ``request`` on the bidi stream, so
requests are sent every ``poll_interval`` (client-py does the same every 0.1 s).  A broken
stream or a refused connection is retried with capped exponential backoff and jitter; each
attempt is counted.  Falco pops an alert from its queue before writing it, so alerts in
flight when the connection drops are lost on Falco's side: this input is at-most-once.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import AsyncIterator
from pathlib import Path

import grpc

from detector.service.config import GrpcInputConfig
from detector.service.errors import StartupError
from detector.service.grpc_convert import response_to_alert
from detector.service.inputs.decode import BadInput, recognise_value
from detector.service.inputs.lines import LineDecoder
from detector.service.metrics import Metrics
from detector.service.pipeline import Pipeline, Stopped, Work
from detector.service.proto_gen import outputs_pb2, outputs_pb2_grpc
from detector.service.protocols import Recogniser

log = logging.getLogger("detector.service")

NAME = "falco_grpc"
_CONNECT_TIMEOUT = 5.0


def _channel(config: GrpcInputConfig) -> grpc.aio.Channel:
    # Our own backoff drives reconnection: a private subchannel pool keeps gRPC's global
    # reconnect backoff (1 s growing to 120 s) from delaying a fresh channel.
    backoff_ms = int(config.backoff_initial * 1000)
    options = [
        ("grpc.max_receive_message_length", 16 << 20),
        ("grpc.use_local_subchannel_pool", 1),
        ("grpc.initial_reconnect_backoff_ms", backoff_ms),
        ("grpc.min_reconnect_backoff_ms", backoff_ms),
        ("grpc.max_reconnect_backoff_ms", int(config.backoff_max * 1000)),
    ]
    if config.address.startswith("unix:"):
        return grpc.aio.insecure_channel(config.address, options=options)
    try:
        credentials = grpc.ssl_channel_credentials(
            root_certificates=Path(config.root_certs).read_bytes(),
            private_key=Path(config.client_key).read_bytes(),
            certificate_chain=Path(config.client_cert).read_bytes(),
        )
    except OSError as exc:
        raise StartupError(f"cannot read TLS material {exc.filename}: {exc.strerror}", NAME) from None
    return grpc.aio.secure_channel(config.address, credentials, options=options)


class FalcoGrpcInput:
    def __init__(self, config: GrpcInputConfig, pipeline: Pipeline, recognise: Recogniser, metrics: Metrics) -> None:
        self._config = config
        self._pipeline = pipeline
        self._recognise = recognise
        self._metrics = metrics
        self._decoder = LineDecoder(NAME, recognise, metrics)

    async def _requests(self) -> AsyncIterator[outputs_pb2.request]:
        while True:
            yield outputs_pb2.request()
            await asyncio.sleep(self._config.poll_interval)

    async def run(self) -> None:
        delay = self._config.backoff_initial
        first = True
        while True:
            if not first:
                self._metrics.grpc_client_reconnects.inc()
            first = False
            channel = _channel(self._config)
            received = 0
            try:
                # gRPC keeps retrying inside channel_ready(); bound it so our backoff stays in charge.
                connect_timeout = min(_CONNECT_TIMEOUT, max(0.5, delay * 2))
                await asyncio.wait_for(channel.channel_ready(), timeout=connect_timeout)
                log.info("connected to Falco gRPC outputs at %s", self._config.address)
                self._metrics.grpc_client_connected.set(1)
                delay = self._config.backoff_initial
                stub = outputs_pb2_grpc.serviceStub(channel)
                async for response in stub.sub(self._requests()):
                    received += 1
                    await self._handle(response)
                log.warning("Falco gRPC stream at %s ended after %d alerts", self._config.address, received)
            except Stopped:
                return
            except TimeoutError:
                log.warning("Falco gRPC input %s: not reachable", self._config.address)
            except grpc.aio.AioRpcError as exc:
                log.warning("Falco gRPC input %s: %s %s (after %d alerts)", self._config.address, exc.code().name,
                            exc.details() or "", received)
            finally:
                self._metrics.grpc_client_connected.set(0)
                await channel.close(grace=None)
            wait = min(delay, self._config.backoff_max) * (0.5 + random.random() / 2)
            await asyncio.sleep(wait)
            delay = min(delay * 2, self._config.backoff_max)

    async def _handle(self, response: outputs_pb2.response) -> None:
        try:
            records = recognise_value(response_to_alert(response), self._recognise)
        except BadInput as exc:
            self._decoder.bad(exc.reason, str(exc))
            return
        self._metrics.events_in.labels(NAME).inc(len(records))
        await self._pipeline.submit(Work(NAME, records), wait_durable=False)
