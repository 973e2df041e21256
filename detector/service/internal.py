"""The sidecar's own alerts (reload failure, spool shedding, a blocked output), in Falco's internal format.

Falco's internal alerts carry ``output, priority, rule, time, output_fields, hostname`` and
``"source": "internal"`` with no tags; their text line is ``time: Priority msg (k=v ...)``.
Each kind is rate limited by a token bucket on the monotonic clock (1 per interval, burst 1).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import orjson

from detector.priority import Priority

log = logging.getLogger("detector.service")


def iso8601_ns(time_ns: int) -> str:
    """``YYYY-MM-DDTHH:MM:SS.nnnnnnnnnZ`` in UTC, Falco's JSON ``time``."""
    seconds, nanos = divmod(time_ns, 1_000_000_000)
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%S") + f".{nanos:09d}Z"


def local_clock_ns(time_ns: int) -> str:
    """``HH:MM:SS.nnnnnnnnn`` in local time, Falco's ``%evt.time``."""
    seconds, nanos = divmod(time_ns, 1_000_000_000)
    return datetime.fromtimestamp(seconds).strftime("%H:%M:%S") + f".{nanos:09d}"


@dataclass(frozen=True, slots=True)
class InternalAlert:
    """An alert raised by the service itself, shaped like ``Falco internal: ...`` alerts."""

    rule: str
    message: str
    priority: Priority
    time_ns: int
    hostname: str
    output_fields: dict[str, Any] = field(default_factory=dict)
    source: str = "internal"
    tags: tuple[str, ...] = ()

    @property
    def output(self) -> str:
        return self.message

    def to_json(self) -> bytes:
        body = {
            "hostname": self.hostname,
            "output": self.message,
            "output_fields": self.output_fields,
            "priority": self.priority.title,
            "rule": self.rule,
            "source": self.source,
            "time": iso8601_ns(self.time_ns),
        }
        return orjson.dumps(body, option=orjson.OPT_SORT_KEYS)

    def to_text(self) -> str:
        fields = " ".join(f"{k}={v}" for k, v in self.output_fields.items())
        suffix = f" ({fields})" if fields else ""
        return f"{local_clock_ns(self.time_ns)}: {self.priority.title} {self.message}{suffix}"


class TokenBucket:
    """``rate`` tokens per second up to ``burst``; driven by a monotonic clock, never wall time."""

    __slots__ = ("_rate", "_burst", "_tokens", "_last", "_clock")

    def __init__(self, rate: float, burst: float = 1.0, clock: Callable[[], float] = time.monotonic) -> None:
        self._rate = rate
        self._burst = burst
        self._tokens = burst
        self._clock = clock
        self._last = clock()

    def take(self) -> bool:
        now = self._clock()
        self._tokens = min(self._burst, self._tokens + (now - self._last) * self._rate)
        self._last = now
        if self._tokens >= 1.0:
            self._tokens -= 1.0
            return True
        return False


class InternalAlerts:
    """Creates internal alerts and hands those the rate limit lets through to ``emit``.

    The bucket set is bounded by the fixed list of kinds the service raises.
    """

    KINDS = ("reload_failure", "spool_shed", "output_blocked", "output_failed")

    def __init__(
        self,
        emit: Callable[[InternalAlert], None],
        hostname: str,
        interval: float,
        on_raise: Callable[[str, bool], None] | None = None,
    ) -> None:
        self._emit = emit
        self._hostname = hostname
        rate = 1.0 / interval if interval > 0 else float("inf")
        self._buckets = {kind: TokenBucket(rate) for kind in self.KINDS}
        self._on_raise = on_raise

    def raise_alert(
        self, kind: str, rule: str, message: str, priority: Priority, fields: dict[str, Any] | None = None
    ) -> bool:
        """Emit one alert of ``kind`` unless its bucket is empty; True when emitted."""
        allowed = self._buckets[kind].take()
        if self._on_raise is not None:
            self._on_raise(kind, allowed)
        log.log(logging.ERROR if priority <= Priority.ERROR else logging.WARNING, "%s%s", message,
                "" if allowed else " (internal alert rate limited)")
        if not allowed:
            return False
        self._emit(
            InternalAlert(
                rule=rule,
                message=message,
                priority=priority,
                time_ns=time.time_ns(),
                hostname=self._hostname,
                output_fields=dict(fields or {}),
            )
        )
        return True
