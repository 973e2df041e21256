"""The timestamp of an event, in nanoseconds, as Falco stamps its alerts (``evt->get_ts()``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from detector.fields import k8saudit

# Flat events export their timestamp under these keys as nanosecond integers.
_FLAT_KEYS: Final = ("evt.rawtime", "evt.time", "evt.datetime", "evt.time.s", "evt.datetime.s")


def event_time_ns(source: str, event: Mapping[str, Any]) -> int | None:
    """Nanoseconds since the epoch, or ``None`` when the event carries no usable timestamp.

    ``k8s_audit`` events use the audit ``stageTimestamp`` as the k8saudit plugin does; flat
    field maps (``syscall``, and any alert re-read from Falco) their ``evt.rawtime`` or the
    nanosecond integer exported under ``evt.time``.
    """
    if source == "k8s_audit":
        return k8saudit.event_time_ns(event)
    if not isinstance(event, Mapping):
        return None
    for key in _FLAT_KEYS:
        value = event.get(key)
        if value.__class__ is int and value >= 0:
            return value
    return None
