"""Event timestamps as Falco stamps its alerts (``evt->get_ts()``), and their renderings.

Alerts render their time three ways (``%evt.time`` in the text prefix, ``%evt.time.iso8601``
with ``time_format_iso_8601``, JSON ``time``), and a time zone conversion plus ``strftime``
cost more than the rest of a text alert.  Alerts come in bursts within the same second, so
the whole-second part is rendered by ``detector.fields.evttime`` once per second and kept
(a small memo, keyed by everything the rendering depends on), and the nanoseconds appended.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable, Mapping
from datetime import tzinfo
from typing import Any, Final

from detector.fields import evttime, k8saudit

# Flat events export their timestamp under these keys as nanosecond integers.
_FLAT_KEYS: Final = ("evt.rawtime", "evt.time", "evt.datetime", "evt.time.s", "evt.datetime.s")
_NS: Final = evttime.NS_PER_S


def event_time_ns(source: str, event: Mapping[str, Any]) -> int | None:
    """Nanoseconds since the epoch, or ``None`` when the event carries no usable timestamp.

    ``k8s_audit`` events use the audit ``stageTimestamp`` as the k8saudit plugin does; flat
    field maps (``syscall``, and any alert re-read from Falco) their ``evt.rawtime`` or the
    nanosecond integer exported under ``evt.time``.
    """
    if source == "k8s_audit":
        return k8saudit.event_time_ns(event)
    if event.__class__ is not dict and not isinstance(event, Mapping):
        return None
    for key in _FLAT_KEYS:
        value = event.get(key)
        if value.__class__ is int and value >= 0:
            return value
    return None


# The rendering of a whole second, and the length of the ".000000000..." tail to cut from it.
_STYLES: Final[dict[str, tuple[Callable[[int, tzinfo | None], str | None], int]]] = {
    "time": (evttime.format_time, len(".000000000")),
    "iso8601": (lambda ns, tz: evttime.format_iso8601(ns), len(".000000000+0000")),
    "rfc3339": (lambda ns, tz: evttime.format_rfc3339_utc(ns), len(".000000000Z")),
}


@functools.lru_cache(maxsize=512)
def _second(style: str, secs: int, tz: tzinfo | None, zone: object) -> str | None:
    # ``zone`` is time.tzname for local time: time.tzset() with a new TZ gives a new key.
    render, tail = _STYLES[style]
    text = render(secs * _NS, tz)
    return None if text is None else text[:-tail]


def _render(style: str, ns: int, tz: tzinfo | None, suffix: str) -> str | None:
    secs, frac = divmod(ns, _NS)
    try:
        head = _second(style, secs, tz, time.tzname if style == "time" and tz is None else None)
    except TypeError:  # an unhashable tzinfo: no memo
        head = _second.__wrapped__(style, secs, tz, None)
    return None if head is None else f"{head}.{frac:09d}{suffix}"


def format_time(ns: int, tz: tzinfo | None = None) -> str | None:
    """``evt.time``: ``HH:MM:SS.nnnnnnnnn`` in local (or ``tz``) time, as ``evttime.format_time``."""
    return _render("time", ns, tz, "")


def format_iso8601(ns: int) -> str | None:
    """``evt.time.iso8601``: ``YYYY-MM-DDTHH:MM:SS.nnnnnnnnn+0000``, as ``evttime.format_iso8601``."""
    return _render("iso8601", ns, None, "+0000")


def format_rfc3339_utc(ns: int) -> str | None:
    """JSON ``time``: ``YYYY-MM-DDTHH:MM:SS.nnnnnnnnnZ``, as ``evttime.format_rfc3339_utc``."""
    return _render("rfc3339", ns, None, "Z")
