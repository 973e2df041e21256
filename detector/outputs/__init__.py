"""Stage 5: Falco output formats, alerts, and text/JSON alert lines."""

from __future__ import annotations

from detector.outputs.alert import DEFAULT_JSON_OPTIONS, Alert, JsonOptions, default_hostname
from detector.outputs.format import OutputFormat
from detector.outputs.sinks import AlertSink, FileSink, LineFormat, StreamSink, open_sink

__all__ = [
    "DEFAULT_JSON_OPTIONS",
    "Alert",
    "AlertSink",
    "FileSink",
    "JsonOptions",
    "LineFormat",
    "OutputFormat",
    "StreamSink",
    "default_hostname",
    "open_sink",
]
