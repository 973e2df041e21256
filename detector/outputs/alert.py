"""Alerts and the two ways Falco writes them: a text line and a JSON object.

Text (``falco_formats::format_event``, text mode)::

    14:09:12.581541000: Warning Pod started with privileged container (user=... )

The prefix is ``%evt.time`` (``HH:MM:SS.nnnnnnnnn`` in local time, as libsinsp's
``ts_to_string``) or, with ``time_format_iso_8601``, ``%evt.time.iso8601``
(``2018-10-25T14:09:12.581541000+0000``), then the priority as Falco prints it.
Since Falco 0.44 the text line is JSON-escaped without its quotes, so a newline or
an escape sequence in an event value cannot forge log lines; :meth:`Alert.to_text`
does the same.

JSON (``format_event``, JSON mode): one object, keys sorted as nlohmann's ``std::map``
sorts them (``hostname, message?, output, output_fields, priority, rule, source, tags,
time``), no blanks, ``time`` in UTC with nanoseconds (``2018-10-25T14:09:12.581541000Z``),
``output`` the full text line (unescaped, JSON does its own escaping), ``tags`` sorted
and unique, ``output_fields`` the rule output's fields plus the prefix's ``evt.time``.
"""

from __future__ import annotations

import json
import math
import os
import socket
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import tzinfo
from typing import Any

import orjson

from detector.fields import evttime
from detector.outputs.format import OutputFormat
from detector.outputs.timestamps import event_time_ns
from detector.outputs.values import NA
from detector.priority import Priority


@dataclass(frozen=True, slots=True)
class JsonOptions:
    """Falco's ``json_include_*_property`` settings, with Falco's defaults."""

    include_output: bool = True
    include_tags: bool = True
    include_message: bool = False
    include_output_fields: bool = True


DEFAULT_JSON_OPTIONS = JsonOptions()


def default_hostname() -> str:
    """``FALCO_HOSTNAME`` when set, else the machine's host name, as Falco picks it."""
    return os.environ.get("FALCO_HOSTNAME") or socket.gethostname()


def time_prefix(time_ns: int, *, iso8601: bool = False, tz: tzinfo | None = None) -> str:
    """The time part of the text prefix (``%evt.time`` or ``%evt.time.iso8601``)."""
    text = evttime.format_iso8601(time_ns) if iso8601 else evttime.format_time(time_ns, tz)
    return NA if text is None else text


def rfc3339(time_ns: int) -> str:
    """The JSON ``time`` value: UTC, nine fraction digits, ``Z``."""
    return evttime.format_rfc3339_utc(time_ns) or "1970-01-01T00:00:00.000000000Z"


def clean_text(text: str) -> str:
    """``text`` with lone surrogates (undecodable input) replaced by U+FFFD, as Falco replaces bad UTF-8."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return text.encode("utf-8", "surrogatepass").decode("utf-8", "replace")
    return text


def escape_line(text: str) -> str:
    """JSON string escaping without the quotes: control characters, ``"`` and ``\\`` are escaped."""
    return orjson.dumps(clean_text(text))[1:-1].decode("utf-8")


@dataclass(frozen=True, slots=True)
class Alert:
    """One rule match, ready to be written.

    ``output`` is the full text line as Falco's JSON ``output`` holds it (time, priority,
    message); ``message`` the rule's rendered output alone; ``output_fields`` JSON-typed.
    """

    rule: str
    priority: Priority
    source: str
    time_ns: int
    output: str
    output_fields: Mapping[str, Any] = field(default_factory=dict)
    tags: tuple[str, ...] = ()
    hostname: str = ""
    message: str = ""

    @classmethod
    def from_event(
        cls,
        *,
        rule: str,
        priority: Priority,
        source: str,
        output: OutputFormat,
        event: Mapping[str, Any],
        tags: Iterable[str] = (),
        hostname: str | None = None,
        time_ns: int | None = None,
        default_time_ns: int = 0,
        iso8601: bool = False,
        tz: tzinfo | None = None,
    ) -> Alert:
        """Render ``output`` over ``event`` as Falco's ``format_event`` does.

        The time is ``time_ns`` when given, else the event's own timestamp, else
        ``default_time_ns`` (an event without any timestamp gets the caller's choice,
        for instance the time it was received).
        """
        if time_ns is None:
            found = event_time_ns(source, event)
            time_ns = default_time_ns if found is None else found
        message = output.render(event)
        fields: dict[str, Any] = dict(output.values(event))
        fields["evt.time.iso8601" if iso8601 else "evt.time"] = time_ns
        line = f"{time_prefix(time_ns, iso8601=iso8601, tz=tz)}: {priority.title} {message}"
        return cls(
            rule=rule,
            priority=priority,
            source=source,
            time_ns=time_ns,
            output=line,
            output_fields=fields,
            tags=tuple(sorted(set(tags))),
            hostname=default_hostname() if hostname is None else hostname,
            message=message,
        )

    @property
    def time(self) -> str:
        """The JSON ``time`` value."""
        return rfc3339(self.time_ns)

    def to_text(self, *, iso8601: bool | None = None, tz: tzinfo | None = None, escape: bool = True) -> str:
        """Falco's text line (no trailing newline).

        With ``iso8601`` given, the time prefix is rendered again in that style (and ``tz``);
        otherwise the line built with the alert is used.
        """
        line = self.output
        if iso8601 is not None:
            line = f"{time_prefix(self.time_ns, iso8601=iso8601, tz=tz)}: {self.priority.title} {self.message}"
        return escape_line(line) if escape else clean_text(line)

    def to_dict(self, options: JsonOptions = DEFAULT_JSON_OPTIONS) -> dict[str, Any]:
        obj: dict[str, Any] = {
            "hostname": self.hostname,
            "priority": self.priority.title,
            "rule": self.rule,
            "source": self.source,
            "time": self.time,
        }
        if options.include_output:
            obj["output"] = self.output
        if options.include_tags:
            obj["tags"] = list(self.tags)
        if options.include_message:
            obj["message"] = self.message
        if options.include_output_fields:
            obj["output_fields"] = dict(self.output_fields)
        return obj

    def to_json(self, options: JsonOptions = DEFAULT_JSON_OPTIONS) -> bytes:
        """The JSON object Falco writes for this alert (no trailing newline)."""
        obj = self.to_dict(options)
        try:
            return orjson.dumps(obj, option=orjson.OPT_SORT_KEYS)
        except TypeError:
            # Integers beyond 64 bits or undecodable text: the slower encoder handles both.
            return json.dumps(
                _cleaned(obj), sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
            ).encode("utf-8")


def _cleaned(value: Any) -> Any:
    if isinstance(value, str):
        return clean_text(value)
    if isinstance(value, dict):
        return {clean_text(str(k)): _cleaned(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_cleaned(v) for v in value]
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if value is None or isinstance(value, bool | int):
        return value
    return clean_text(str(value))
