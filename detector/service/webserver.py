"""The HTTP server: Falco alerts (``http_output``/falcosidekick style), the Kubernetes audit webhook,
``/healthz``, ``/readyz``, ``/metrics`` and ``/versions``.

Falco alerts: ``POST <path>`` (default ``/``) with one JSON alert per request, as Falco's
``http_output`` and falcosidekick clients send; ``application/x-ndjson`` bodies carry one
record per line.  Audit: ``POST /k8s-audit`` with ``Content-Type: application/json`` and an
Event, an EventList or an array of them, as the k8saudit plugin accepts.  Both answer 200
only once the resulting alerts are in the spool, 400 with the reason for bad data, 413 past
the size limit, 503 when the ingest queue stays full or the service is draining.

Security: loopback by default; optional TLS (and client certificates); optional bearer token
required on every route except the two probes; concurrent requests and body sizes capped.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import ssl
from collections.abc import Awaitable, Callable
from importlib.metadata import PackageNotFoundError, version

import orjson
from aiohttp import web

from detector.service.config import InputsConfig, WebserverConfig
from detector.service.errors import StartupError
from detector.service.inputs.decode import (
    BadInput,
    LineFramer,
    decode_json,
    recognise_audit_payload,
    recognise_value,
)
from detector.service.metrics import Metrics
from detector.service.pipeline import Overloaded, Pipeline, Stopped, Work
from detector.service.protocols import Recogniser, Record

log = logging.getLogger("detector.service")

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
_NDJSON_TYPES = frozenset({"application/x-ndjson", "application/jsonl", "application/json-lines", "application/jsonlines"})


class _TooLarge(Exception):
    pass


def _json(status: int, body: dict[str, object]) -> web.Response:
    return web.Response(status=status, body=orjson.dumps(body), content_type="application/json")


def server_ssl_context(config: WebserverConfig) -> ssl.SSLContext | None:
    if not config.ssl_enabled:
        return None
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    try:
        # Falco's webserver takes one PEM holding both the certificate and the key.
        context.load_cert_chain(config.ssl_certificate, config.ssl_private_key or None)
        if config.ssl_client_ca:
            context.load_verify_locations(config.ssl_client_ca)
            context.verify_mode = ssl.CERT_REQUIRED
    except (OSError, ssl.SSLError) as exc:
        raise StartupError(f"TLS setup failed: {exc}", "webserver") from None
    return context


def read_token(path: str) -> str:
    try:
        with open(path, encoding="utf-8") as handle:
            token = handle.read().strip()
    except OSError as exc:
        raise StartupError(f"cannot read auth_token_file: {exc.strerror}", "webserver") from None
    if not token:
        raise StartupError("auth_token_file is empty", "webserver")
    return token


class WebServer:
    def __init__(
        self,
        config: WebserverConfig,
        inputs: InputsConfig,
        pipeline: Pipeline,
        recognise: Recogniser,
        metrics: Metrics,
        *,
        is_ready: Callable[[], tuple[bool, str]],
        submit_timeout: float,
    ) -> None:
        self._config = config
        self._inputs = inputs
        self._pipeline = pipeline
        self._recognise = recognise
        self._metrics = metrics
        self._is_ready = is_ready
        self._submit_timeout = submit_timeout
        self._in_flight = 0
        self._accepting = True
        self._token = read_token(config.auth_token_file) if config.auth_token_file else ""
        self._runner: web.AppRunner | None = None
        self._probe_paths = frozenset((config.k8s_healthz_endpoint, config.readyz_endpoint))
        self.port = config.listen_port

    def stop_intake(self) -> None:
        self._accepting = False

    def _app(self) -> web.Application:
        app = web.Application(
            middlewares=[self._guard],
            client_max_size=max(self._config.max_request_bytes, self._inputs.k8s_audit.max_batch_bytes),
        )
        cfg = self._config
        app.router.add_get(cfg.k8s_healthz_endpoint, self._healthz)
        app.router.add_get(cfg.readyz_endpoint, self._readyz)
        app.router.add_get("/versions", self._versions)
        if cfg.prometheus_metrics_enabled:
            app.router.add_get("/metrics", self._metrics_handler)
        if self._inputs.falco_http.enabled:
            app.router.add_post(self._inputs.falco_http.path, self._falco_alert)
        if self._inputs.k8s_audit.enabled:
            app.router.add_post(self._inputs.k8s_audit.path, self._k8s_audit)
        return app

    async def start(self) -> None:
        runner = web.AppRunner(self._app(), access_log=None, handle_signals=False, shutdown_timeout=1.0)
        await runner.setup()
        site = web.TCPSite(
            runner,
            host=self._config.listen_address,
            port=self._config.listen_port,
            ssl_context=server_ssl_context(self._config),
            backlog=128,
        )
        try:
            await site.start()
        except OSError as exc:
            await runner.cleanup()
            raise StartupError(
                f"cannot listen on {self._config.listen_address}:{self._config.listen_port}: {exc.strerror}",
                "webserver",
            ) from None
        self._runner = runner
        sockets = getattr(site._server, "sockets", None) or []  # the bound port when 0 was asked
        if sockets:
            self.port = sockets[0].getsockname()[1]
        scheme = "https" if self._config.ssl_enabled else "http"
        log.info("webserver listening on %s://%s:%d", scheme, self._config.listen_address, self.port)

    async def close(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    # -- middlewares ---------------------------------------------------------------------------

    @web.middleware
    async def _guard(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        """Concurrency cap, then the bearer token (probes are exempt so the kubelet needs no secret)."""
        if self._in_flight >= self._config.max_concurrent_requests:
            self._metrics.bad_inputs.labels("http", "too_many_requests").inc()
            return _json(503, {"error": "too many concurrent requests"})
        if self._token and request.path not in self._probe_paths:
            header = request.headers.get("Authorization", "")
            scheme, _, supplied = header.partition(" ")
            if scheme.lower() != "bearer" or not hmac.compare_digest(supplied.strip().encode(), self._token.encode()):
                self._metrics.bad_inputs.labels("http", "unauthorized").inc()
                return web.Response(status=401, headers={"WWW-Authenticate": "Bearer"}, text="unauthorized")
        self._in_flight += 1
        try:
            return await handler(request)
        finally:
            self._in_flight -= 1

    # -- operations ----------------------------------------------------------------------------

    async def _healthz(self, request: web.Request) -> web.Response:
        return _json(200, {"status": "ok"})

    async def _readyz(self, request: web.Request) -> web.Response:
        ready, reason = self._is_ready()
        if ready and self._accepting:
            return _json(200, {"status": "ready"})
        return _json(503, {"status": "not ready", "reason": reason if not ready else "draining"})

    async def _versions(self, request: web.Request) -> web.Response:
        try:
            text = version("detector")
        except PackageNotFoundError:
            text = "unknown"
        return _json(200, {"detector_version": text})

    async def _metrics_handler(self, request: web.Request) -> web.Response:
        body = await asyncio.to_thread(self._metrics.render)
        return web.Response(body=body, headers={"Content-Type": self._metrics.CONTENT_TYPE})

    # -- inputs --------------------------------------------------------------------------------

    async def _read_body(self, request: web.Request, limit: int) -> bytes:
        length = request.content_length
        if length is not None and length > limit:
            raise _TooLarge()
        data = bytearray()
        async with asyncio.timeout(self._config.request_timeout):
            if length is not None:
                return await request.content.readexactly(length) if length else b""
            async for chunk in request.content.iter_chunked(65536):
                data += chunk
                if len(data) > limit:
                    raise _TooLarge()
        return bytes(data)

    async def _falco_alert(self, request: web.Request) -> web.Response:
        return await self._ingest(request, "falco_http", self._config.max_request_bytes, self._decode_falco)

    async def _k8s_audit(self, request: web.Request) -> web.Response:
        if "application/json" not in request.headers.get("Content-Type", ""):
            self._metrics.bad_inputs.labels("k8s_audit", "content_type").inc()
            return web.Response(status=400, text="wrong Content Type")
        return await self._ingest(request, "k8s_audit", self._inputs.k8s_audit.max_batch_bytes, self._decode_audit)

    def _item_rejected(self, name: str) -> Callable[[Exception], None]:
        def count(exc: Exception) -> None:
            kind = getattr(exc, "kind", None)
            self._metrics.bad_inputs.labels(name, kind if isinstance(kind, str) else "unrecognised").inc()

        return count

    def _decode_falco(self, request: web.Request, body: bytes) -> list[Record]:
        if request.content_type in _NDJSON_TYPES:
            framer = LineFramer(self._config.max_request_bytes)
            lines = framer.feed(body if body.endswith(b"\n") else body + b"\n")
            records: list[Record] = []
            for number, line in enumerate(lines, 1):
                try:
                    records.extend(recognise_value(decode_json(line), self._recognise, self._item_rejected("falco_http")))
                except BadInput as exc:
                    raise BadInput(exc.reason, f"line {number}: {exc}") from None
            return records
        if request.content_type == "text/plain" and not body.lstrip().startswith(b"{"):
            raise BadInput("not_json", "expected a JSON alert: set json_output: true in Falco")
        return recognise_value(decode_json(body), self._recognise, self._item_rejected("falco_http"))

    def _decode_audit(self, request: web.Request, body: bytes) -> list[Record]:
        return recognise_audit_payload(decode_json(body), self._recognise, self._item_rejected("k8s_audit"))

    async def _ingest(
        self,
        request: web.Request,
        name: str,
        limit: int,
        decode: Callable[[web.Request, bytes], list[Record]],
    ) -> web.Response:
        m = self._metrics
        if not self._accepting:
            return _json(503, {"error": "shutting down"})
        try:
            body = await self._read_body(request, limit)
        except _TooLarge:
            m.bad_inputs.labels(name, "too_large").inc()
            return _json(413, {"error": f"body larger than {limit} bytes"})
        except TimeoutError:
            m.bad_inputs.labels(name, "timeout").inc()
            return _json(408, {"error": "request body not received in time"})
        except asyncio.IncompleteReadError:
            m.bad_inputs.labels(name, "truncated").inc()
            return _json(400, {"error": "request body shorter than its Content-Length"})
        try:
            records = decode(request, body)
        except BadInput as exc:
            m.bad_inputs.labels(name, exc.reason).inc()
            return _json(400, {"error": str(exc)})
        m.events_in.labels(name).inc(len(records))
        if not records:
            return _json(200, {"events": 0, "alerts": 0})
        try:
            alerts = await self._pipeline.submit(Work(name, records), wait_durable=True, timeout=self._submit_timeout)
        except Overloaded:
            return web.Response(status=503, headers={"Retry-After": "1"}, text="overloaded")
        except Stopped:
            return _json(503, {"error": "shutting down"})
        except Exception as exc:  # the spool refused the write: the client must retry
            log.error("input %s: %s", name, exc)
            return _json(503, {"error": "alerts could not be stored"})
        return _json(200, {"events": len(records), "alerts": alerts})
