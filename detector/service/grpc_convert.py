"""Falco JSON alert ⇄ ``falco.outputs.response`` (the 0.43.1 protos), with Falco's field mapping.

To the wire: ``output_fields`` values are stringified (strings as they are, anything else as
its JSON text, as Falco's gRPC output does); ``source_deprecated`` is the enum for the known
source names and PLUGIN for any other name; ``source`` is the name itself.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import orjson
from google.protobuf.timestamp_pb2 import Timestamp

from detector.service.internal import iso8601_ns
from detector.service.proto_gen import outputs_pb2, schema_pb2

_SOURCES = {"syscall": schema_pb2.SYSCALL, "k8s_audit": schema_pb2.K8S_AUDIT, "internal": schema_pb2.INTERNAL}
_SOURCE_NAMES = {schema_pb2.SYSCALL: "syscall", schema_pb2.K8S_AUDIT: "k8s_audit", schema_pb2.INTERNAL: "internal"}
_PRIORITY_NAMES = ("Emergency", "Alert", "Critical", "Error", "Warning", "Notice", "Informational", "Debug")


def parse_iso8601_ns(text: str) -> int:
    """``2019-05-17T15:31:56.746609046Z`` (any fraction length, ``Z`` or offset) → ns since the epoch."""
    text = text.strip()
    main, _, rest = text.partition(".")
    fraction = ""
    zone = ""
    if rest:
        digits = len(rest) - len(rest.lstrip("0123456789"))
        fraction, zone = rest[:digits], rest[digits:]
    else:
        for marker in ("Z", "+", "-"):
            index = main.find(marker, 10)
            if index != -1:
                main, zone = main[:index], main[index:]
                break
    if zone in ("", "Z", "z"):
        zone = "+00:00"
    base = datetime.fromisoformat(main + zone)
    nanos = int((fraction + "000000000")[:9]) if fraction else 0
    return int(base.timestamp()) * 1_000_000_000 + nanos


def _field_text(value: Any) -> str:
    if isinstance(value, str):
        return value
    return orjson.dumps(value).decode()


def alert_json_to_response(body: bytes) -> outputs_pb2.response:
    alert = orjson.loads(body)
    time_text = alert.get("time")
    time_ns = parse_iso8601_ns(time_text) if isinstance(time_text, str) else 0
    stamp = Timestamp(seconds=time_ns // 1_000_000_000, nanos=time_ns % 1_000_000_000)
    source = str(alert.get("source") or "syscall")
    priority_name = str(alert.get("priority") or "Debug").upper()
    if priority_name == "INFO":
        priority_name = "INFORMATIONAL"
    try:
        priority = schema_pb2.priority.Value(priority_name)
    except ValueError:
        priority = schema_pb2.DEBUG
    fields = alert.get("output_fields")
    tags = alert.get("tags")
    return outputs_pb2.response(
        time=stamp,
        priority=priority,
        source_deprecated=_SOURCES.get(source, schema_pb2.PLUGIN),
        rule=str(alert.get("rule") or ""),
        output=str(alert.get("output") or ""),
        output_fields={str(k): _field_text(v) for k, v in fields.items()} if isinstance(fields, dict) else {},
        hostname=str(alert.get("hostname") or ""),
        tags=[str(t) for t in tags] if isinstance(tags, list) else [],
        source=source,
    )


def response_to_alert(response: outputs_pb2.response) -> dict[str, Any]:
    """A response from Falco's gRPC API as the JSON alert Falco would have written."""
    time_ns = response.time.seconds * 1_000_000_000 + response.time.nanos
    source = response.source or _SOURCE_NAMES.get(response.source_deprecated, "plugin")
    priority = response.priority
    alert: dict[str, Any] = {
        "hostname": response.hostname,
        "output": response.output,
        "output_fields": dict(response.output_fields),
        "priority": _PRIORITY_NAMES[priority] if 0 <= priority < len(_PRIORITY_NAMES) else "Debug",
        "rule": response.rule,
        "source": source,
        "time": iso8601_ns(time_ns),
    }
    if response.tags:
        alert["tags"] = list(response.tags)
    return alert
