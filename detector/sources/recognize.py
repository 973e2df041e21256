"""Telling what a decoded JSON value is: a flat field map, a Falco alert, or Kubernetes audit events.

Each value is recognised on its own:

* a JSON object with ``kind`` (or an ``audit.k8s.io`` ``apiVersion``) is a Kubernetes audit
  payload: ``kind: Event`` is one ``k8s_audit`` event, ``kind: EventList`` one per item, any
  other kind is refused with the k8saudit plugin's message; a JSON array of those is accepted
  as the plugin's webhook does;
* an object with ``rule`` and ``priority`` is a Falco alert: its ``output_fields`` become the
  event (a flat field map), its ``source`` is kept (``syscall`` when an old alert has none);
* any other object is a flat field map keyed by field name, of the source its top-level
  ``source`` key names, ``syscall`` by default.

Anything else raises :class:`RecordRejected` with a stable ``kind``.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from typing import Any

from detector.fields.evttime import parse_rfc3339_ns
from detector.fields.k8saudit import event_time_ns
from detector.sources.records import DEFAULT_SOURCES, RecordRejected

ItemCallback = Callable[[RecordRejected], None]

_MAX_ARRAY_DEPTH = 4
_NOT_AUDIT = "data not recognized as a k8s audit event"


def describe_json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


def recognize(
    value: Any,
    *,
    sources: Collection[str] = DEFAULT_SOURCES,
    on_item_rejected: ItemCallback | None = None,
) -> list[tuple[str, Any]]:
    """The ``(source, event)`` pairs one decoded JSON value holds.

    Raises :class:`RecordRejected` when the value as a whole is not an event.  Bad items of
    an ``EventList`` or of an array are passed to ``on_item_rejected`` and skipped, unless no
    item at all is good, in which case the first item's rejection is raised.
    """
    if type(value) is dict:
        if not value:
            raise RecordRejected("empty_object", "empty JSON object")
        if "kind" in value or _is_audit_version(value.get("apiVersion")):
            return _audit_payload(value, sources, on_item_rejected, 0)
        if "rule" in value and "priority" in value:
            return [_alert(value, sources)]
        return [(_named_source(value, sources), value)]
    if type(value) is list:
        return _audit_payload(value, sources, on_item_rejected, 0)
    raise RecordRejected("not_object", f"expected a JSON object, got {describe_json_type(value)}")


def _is_audit_version(api_version: Any) -> bool:
    return isinstance(api_version, str) and api_version.startswith("audit.k8s.io/")


def _check_source(source: Any, sources: Collection[str]) -> str:
    if not isinstance(source, str):
        raise RecordRejected("bad_source", f"source must be a string, got {describe_json_type(source)}")
    if source not in sources:
        raise RecordRejected("unknown_source", f"unknown or disabled source {source!r}")
    return source


def _named_source(value: dict[str, Any], sources: Collection[str]) -> str:
    source = value.get("source", "syscall")
    if source == "syscall" and "syscall" in sources:
        return "syscall"
    return _check_source(source, sources)


def _alert(value: dict[str, Any], sources: Collection[str]) -> tuple[str, Any]:
    source = _check_source(value.get("source", "syscall"), sources)
    fields = value.get("output_fields")
    if not isinstance(fields, dict):
        if fields is None:
            raise RecordRejected("alert_without_output_fields", "Falco alert without output_fields")
        raise RecordRejected(
            "alert_bad_output_fields", f"output_fields must be an object, got {describe_json_type(fields)}"
        )
    if not fields:
        raise RecordRejected("alert_without_output_fields", "Falco alert with empty output_fields")
    if "evt.rawtime" not in fields and "evt.time" not in fields:
        # Keep the alert's own time with its fields, so the event still has a timestamp.
        ns = parse_rfc3339_ns(value.get("time"))
        if ns is not None:
            fields = {**fields, "evt.rawtime": ns}
    return source, fields


def _audit_event(value: dict[str, Any], sources: Collection[str]) -> tuple[str, Any]:
    if "k8s_audit" not in sources:
        raise RecordRejected("unknown_source", "source 'k8s_audit' is not enabled")
    if event_time_ns(value) is None:
        raise RecordRejected("k8s_no_timestamp", "can't read stageTimestamp")
    return "k8s_audit", value


def _audit_payload(
    value: Any, sources: Collection[str], on_item_rejected: ItemCallback | None, depth: int
) -> list[tuple[str, Any]]:
    if type(value) is dict:
        kind = value.get("kind")
        if kind == "Event":
            return [_audit_event(value, sources)]
        if kind == "EventList":
            items = value.get("items")
            if items is None:
                return []
            if type(items) is not list:
                raise RecordRejected("k8s_bad_eventlist", "EventList items must be an array")
            return _audit_items(items, sources, on_item_rejected, depth, dict_only=True)
        raise RecordRejected("k8s_unrecognized", _NOT_AUDIT)
    if type(value) is list:
        if depth >= _MAX_ARRAY_DEPTH:
            raise RecordRejected("too_deep", "arrays of audit events nested too deep")
        if not value:
            raise RecordRejected("empty_array", "empty JSON array")
        return _audit_items(value, sources, on_item_rejected, depth, dict_only=False)
    raise RecordRejected("k8s_unrecognized", _NOT_AUDIT)


def _audit_items(
    items: list[Any],
    sources: Collection[str],
    on_item_rejected: ItemCallback | None,
    depth: int,
    *,
    dict_only: bool,
) -> list[tuple[str, Any]]:
    out: list[tuple[str, Any]] = []
    rejected: list[RecordRejected] = []
    for item in items:
        try:
            if dict_only:
                # The plugin takes EventList items as events without looking at their kind.
                if type(item) is not dict:
                    raise RecordRejected(
                        "k8s_bad_item", f"EventList item must be an object, got {describe_json_type(item)}"
                    )
                out.append(_audit_event(item, sources))
            else:
                out.extend(_audit_payload(item, sources, on_item_rejected, depth + 1))
        except RecordRejected as exc:
            rejected.append(exc)
    if rejected:
        if not out:
            # Nothing good in it: the value as a whole is rejected, once.
            raise rejected[0]
        if on_item_rejected is not None:
            for item_error in rejected:
                on_item_rejected(item_error)
    return out
