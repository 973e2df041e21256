"""Event timestamps: RFC 3339 parsing to nanoseconds and libsinsp's time renderings.

Timestamps stay integer nanoseconds end to end; ``datetime`` only holds
microseconds, so the nanosecond part is carried beside it, never through it.

Renderings follow libsinsp (``ts_to_string``, ``ts_to_iso_8601``) and Falco's
JSON ``time`` key:

* ``evt.time``         ``HH:MM:SS.nnnnnnnnn`` in local time
* ``evt.time.s``       ``HH:MM:SS`` in local time
* ``evt.datetime``     ``YYYY-MM-DD HH:MM:SS.nnnnnnnnn`` in local time
* ``evt.datetime.s``   ``YYYY-MM-DD HH:MM:SS`` in local time
* ``evt.time.iso8601`` ``YYYY-MM-DDTHH:MM:SS.nnnnnnnnn+0000`` (always UTC)
* JSON ``time``        ``YYYY-MM-DDTHH:MM:SS.nnnnnnnnnZ`` (always UTC)

"Local" is the process time zone unless a ``tzinfo`` is passed, which is how
tests and deterministic replays pin it.
"""

from __future__ import annotations

import calendar
import re
import time
from datetime import UTC, datetime, tzinfo

NS_PER_S = 1_000_000_000

# Our own fixed pattern over trusted-shape data (not a rule's pattern), so stdlib re is fine.
_RFC3339 = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9})\d*)?\s*([Zz]|[+-]\d{2}:?\d{2})?\Z"
)


def parse_rfc3339_ns(text: object) -> int | None:
    """Nanoseconds since the epoch for an RFC 3339 timestamp, or ``None`` if it is not one.

    Accepts what Kubernetes writes (``2018-10-25T14:09:12.581541Z``), up to nine
    fraction digits (more are truncated, as Go's RFC3339Nano parser would reject
    rather than round), and ``+hh:mm`` offsets.  A missing zone means UTC.
    """
    if not isinstance(text, str):
        return None
    m = _RFC3339.match(text.strip())
    if m is None:
        return None
    year, month, day, hour, minute, second = (int(g) for g in m.groups()[:6])
    frac = m.group(7) or ""
    zone = m.group(8)
    try:
        secs = calendar.timegm((year, month, day, hour, minute, second, 0, 0, 0))
        # timegm does not validate: reject impossible dates explicitly.
        datetime(year, month, day, hour, minute, second)
    except (ValueError, OverflowError):
        return None
    if zone and zone not in ("Z", "z"):
        sign = -1 if zone[0] == "-" else 1
        digits = zone[1:].replace(":", "")
        secs -= sign * (int(digits[:2]) * 3600 + int(digits[2:]) * 60)
    ns = int(frac.ljust(9, "0")) if frac else 0
    return secs * NS_PER_S + ns


def _split(ns: int) -> tuple[int, int]:
    return ns // NS_PER_S, ns % NS_PER_S


def _local_struct(secs: int, tz: tzinfo | None) -> time.struct_time | None:
    try:
        if tz is None:
            return time.localtime(secs)
        return datetime.fromtimestamp(secs, tz).timetuple()
    except (OverflowError, OSError, ValueError):
        return None


def _utc_struct(secs: int) -> time.struct_time | None:
    try:
        return datetime.fromtimestamp(secs, UTC).timetuple()
    except (OverflowError, OSError, ValueError):
        return None


def format_time(ns: int, tz: tzinfo | None = None) -> str | None:
    """``evt.time``: ``HH:MM:SS.nnnnnnnnn`` in local (or ``tz``) time."""
    secs, frac = _split(ns)
    st = _local_struct(secs, tz)
    if st is None:
        return None
    return f"{st.tm_hour:02d}:{st.tm_min:02d}:{st.tm_sec:02d}.{frac:09d}"


def format_time_s(ns: int, tz: tzinfo | None = None) -> str | None:
    """``evt.time.s``: ``HH:MM:SS`` in local (or ``tz``) time."""
    st = _local_struct(_split(ns)[0], tz)
    if st is None:
        return None
    return f"{st.tm_hour:02d}:{st.tm_min:02d}:{st.tm_sec:02d}"


def format_datetime(ns: int, tz: tzinfo | None = None) -> str | None:
    """``evt.datetime``: ``YYYY-MM-DD HH:MM:SS.nnnnnnnnn`` in local (or ``tz``) time."""
    secs, frac = _split(ns)
    st = _local_struct(secs, tz)
    if st is None:
        return None
    return time.strftime("%Y-%m-%d %H:%M:%S", st) + f".{frac:09d}"


def format_datetime_s(ns: int, tz: tzinfo | None = None) -> str | None:
    """``evt.datetime.s``: ``YYYY-MM-DD HH:MM:SS`` in local (or ``tz``) time."""
    st = _local_struct(_split(ns)[0], tz)
    if st is None:
        return None
    return time.strftime("%Y-%m-%d %H:%M:%S", st)


def format_iso8601(ns: int) -> str | None:
    """``evt.time.iso8601``: libsinsp formats gmtime, so the offset is always ``+0000``."""
    secs, frac = _split(ns)
    st = _utc_struct(secs)
    if st is None:
        return None
    return time.strftime("%Y-%m-%dT%H:%M:%S", st) + f".{frac:09d}+0000"


def format_rfc3339_utc(ns: int) -> str | None:
    """Falco's JSON ``time`` key: ``YYYY-MM-DDTHH:MM:SS.nnnnnnnnnZ``."""
    secs, frac = _split(ns)
    st = _utc_struct(secs)
    if st is None:
        return None
    return time.strftime("%Y-%m-%dT%H:%M:%S", st) + f".{frac:09d}Z"
