"""HTTP webhook output, compatible with falcosidekick: one alert per POST, Falco's JSON as the body.

Unlike Falco's ``http_output`` the status is checked: 2xx is delivered; 408, 429, 5xx,
timeouts and connection errors are retried with capped exponential backoff (honouring a
``Retry-After`` on 429/503); any other status is a permanent failure, counted, logged and
written to the dead-letter file if one is configured.  Every request carries
``X-Detector-Alert-Id: <spool instance>-<alert id>``, stable across redeliveries, so a
receiver can drop duplicates that at-least-once delivery may produce.
"""

from __future__ import annotations

import asyncio
import logging
import random
import ssl
from collections.abc import Callable
from urllib.parse import urlsplit, urlunsplit

import aiohttp
import orjson

from detector.service.config import HttpOutputConfig
from detector.service.metrics import Metrics
from detector.service.outputs.base import DeliveryResult
from detector.service.spool import SpooledAlert

log = logging.getLogger("detector.service")

_RETRY_STATUSES = frozenset({408, 425, 429, 500, 502, 503, 504})
ALERT_ID_HEADER = "X-Detector-Alert-Id"


def redact_url(url: str) -> str:
    """The URL without user info, query or fragment: what may appear in logs."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    return urlunsplit((parts.scheme, host, parts.path, "", ""))


def client_ssl_context(config: HttpOutputConfig) -> ssl.SSLContext | bool:
    if not config.url.startswith("https://"):
        return True
    context = ssl.create_default_context(cafile=config.ca_cert or None)
    if config.insecure:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    if config.mtls:
        context.load_cert_chain(config.client_cert, config.client_key)
    return context


class WebhookSink:
    def __init__(
        self,
        config: HttpOutputConfig,
        metrics: Metrics,
        *,
        json_output: bool,
        instance_id: str,
        on_failure: Callable[[str], None],
    ) -> None:
        self.name = "http"
        self._config = config
        self._metrics = metrics
        self._json = json_output
        self._instance = instance_id
        self._on_failure = on_failure
        self._session: aiohttp.ClientSession | None = None
        self._shown_url = redact_url(config.url)
        self._headers = {
            "Content-Type": "application/json" if json_output else "text/plain",
            "User-Agent": config.user_agent,
            **dict(config.custom_headers),
        }

    async def start(self) -> None:
        connector = aiohttp.TCPConnector(limit=self._config.concurrency, ssl=client_ssl_context(self._config))
        self._session = aiohttp.ClientSession(
            connector=connector,
            timeout=aiohttp.ClientTimeout(total=self._config.timeout),
            headers=self._headers,
        )

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()

    def reopen(self) -> None:
        return None

    async def deliver(self, alerts: list[SpooledAlert]) -> DeliveryResult:
        semaphore = asyncio.Semaphore(self._config.concurrency)

        async def one(alert: SpooledAlert) -> bool:
            async with semaphore:
                return await self._post(alert)

        results = await asyncio.gather(*(one(a) for a in alerts))
        return DeliveryResult(frozenset(a.id for a, ok in zip(alerts, results, strict=True) if not ok))

    async def _post(self, alert: SpooledAlert) -> bool:
        """True once delivered; False when given up on."""
        assert self._session is not None
        body = alert.json if self._json else alert.text
        headers = {ALERT_ID_HEADER: f"{self._instance}-{alert.id}"}
        delay = self._config.backoff_initial
        attempt = 0
        while True:
            attempt += 1
            retry_after: float | None = None
            try:
                async with self._session.post(self._config.url, data=body, headers=headers) as response:
                    status = response.status
                    if status in (429, 503):
                        retry_after = _retry_after(response.headers.get("Retry-After"))
                    await response.read()
            except (aiohttp.ClientError, TimeoutError, OSError) as exc:
                reason = f"{exc.__class__.__name__}: {exc}" if str(exc) else exc.__class__.__name__
                status = 0
            else:
                if 200 <= status < 300:
                    return True
                reason = f"HTTP {status}"
                if status not in _RETRY_STATUSES:
                    self._give_up(alert, reason, attempt)
                    return False
            if self._config.max_retries and attempt > self._config.max_retries:
                self._give_up(alert, f"{reason} after {attempt} attempts", attempt)
                return False
            self._metrics.output_retried.labels(self.name).inc()
            wait = retry_after if retry_after is not None else delay * (0.5 + random.random() / 2)
            wait = min(wait, self._config.backoff_max)
            if attempt == 1 or attempt % 20 == 0:
                log.warning("http output %s: %s; retrying (attempt %d, next in %.2fs)", self._shown_url, reason,
                            attempt, wait)
            await asyncio.sleep(wait)
            delay = min(delay * 2, self._config.backoff_max)

    def _give_up(self, alert: SpooledAlert, reason: str, attempts: int) -> None:
        message = f"http output {self._shown_url}: alert {alert.id} of rule {alert.rule!r} not delivered: {reason}"
        log.error("%s", message)
        self._on_failure(message)
        if self._config.dead_letter_file:
            record = orjson.dumps({"reason": reason, "attempts": attempts, "alert": orjson.Fragment(alert.json)})
            try:
                with open(self._config.dead_letter_file, "ab") as handle:
                    handle.write(record + b"\n")
            except OSError as exc:
                log.error("dead-letter file %s: %s", self._config.dead_letter_file, exc.strerror)


def _retry_after(value: str | None) -> float | None:
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        return None
    return seconds if seconds >= 0 else None
