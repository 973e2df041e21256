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

import functools
import json
import math
import os
import socket
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import tzinfo
from typing import Any, Final

import orjson

from detector.outputs import timestamps
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
    text = timestamps.format_iso8601(time_ns) if iso8601 else timestamps.format_time(time_ns, tz)
    return NA if text is None else text


def rfc3339(time_ns: int) -> str:
    """The JSON ``time`` value: UTC, nine fraction digits, ``Z``."""
    return timestamps.format_rfc3339_utc(time_ns) or "1970-01-01T00:00:00.000000000Z"


def clean_text(text: str) -> str:
    """``text`` with lone surrogates (undecodable input) replaced by U+FFFD, as Falco replaces bad UTF-8."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return text.encode("utf-8", "surrogatepass").decode("utf-8", "replace")
    return text


def escape_line(text: str) -> str:
    """JSON string escaping without the quotes: control characters, ``"`` and ``\\`` are escaped."""
    return escaped_bytes(text)[1:-1].decode("utf-8")


def escaped_bytes(text: str) -> bytes:
    """``text`` as a JSON string, quotes included, UTF-8 encoded (lone surrogates replaced)."""
    if text.__class__ is str:
        try:
            return orjson.dumps(text)
        except TypeError:  # lone surrogates: orjson refuses them
            pass
    return orjson.dumps(clean_text(text))


# Priority.title by value: the enum's name lookup is slow enough to show per alert.
_TITLES: Final = tuple(p.title for p in sorted(Priority))


@functools.lru_cache(maxsize=1024)
def _canonical_tags(tags: tuple[str, ...]) -> tuple[str, ...]:
    # Sorted and unique, once per rule's tag tuple rather than once per alert.
    return tuple(sorted(set(tags)))


class OutputFields(Mapping[str, Any]):
    """An alert's ``output_fields``, extracted from the event the first time they are read.

    Text output never needs them, so an alert only keeps the event and the format until a
    JSON sink or a consumer asks; the event must not change in between (readers give each
    record a dict of its own).  The values are those ``OutputFormat.values`` gives, plus the
    time prefix's field.
    """

    __slots__ = ("_output", "_event", "_time_key", "_time_ns", "_fields")

    def __init__(self, output: OutputFormat, event: Mapping[str, Any], time_key: str, time_ns: int) -> None:
        self._output: OutputFormat | None = output
        self._event: Mapping[str, Any] | None = event
        self._time_key = time_key
        self._time_ns = time_ns
        self._fields: dict[str, Any] | None = None

    def resolved(self) -> dict[str, Any]:
        """The fields as a dict (the same one on every call: do not change it)."""
        fields = self._fields
        if fields is None:
            assert self._output is not None and self._event is not None
            fields = self._output.values(self._event)
            fields[self._time_key] = self._time_ns
            self._fields = fields
            self._output = self._event = None
        return fields

    def __getitem__(self, key: str) -> Any:
        return self.resolved()[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self.resolved())

    def __len__(self) -> int:
        return len(self.resolved())

    def __contains__(self, key: object) -> bool:
        return key in self.resolved()

    def __eq__(self, other: object) -> bool:
        if isinstance(other, OutputFields):
            other = other.resolved()
        return self.resolved() == other if isinstance(other, Mapping) else NotImplemented

    def __repr__(self) -> str:
        return repr(self.resolved())

    def __reduce__(self) -> tuple[Any, ...]:
        return dict, (self.resolved(),)


def _fields_dict(fields: Mapping[str, Any]) -> dict[str, Any]:
    """``fields`` as a dict that may be read but not kept (no copy when it is one already)."""
    if type(fields) is OutputFields:
        return fields.resolved()
    if type(fields) is dict:
        return fields
    return dict(fields)


@dataclass(frozen=True, slots=True)
class Alert:
    """One rule match, ready to be written.

    ``output`` is the full text line as Falco's JSON ``output`` holds it (time, priority,
    message); ``message`` the rule's rendered output alone; ``output_fields`` JSON-typed
    (from :meth:`from_event`, an :class:`OutputFields` computed when first read).
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
        alert = _new(cls)
        _set_rule(alert, rule)
        _set_priority(alert, priority)
        _set_source(alert, source)
        _set_time_ns(alert, time_ns)
        _set_output(alert, f"{time_prefix(time_ns, iso8601=iso8601, tz=tz)}: {_TITLES[priority]} {message}")
        _set_output_fields(alert, OutputFields(output, event, "evt.time.iso8601" if iso8601 else "evt.time", time_ns))
        _set_tags(alert, _canonical_tags(tags) if tags.__class__ is tuple else tuple(sorted(set(tags))))
        _set_hostname(alert, default_hostname() if hostname is None else hostname)
        _set_message(alert, message)
        return alert

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
            line = f"{time_prefix(self.time_ns, iso8601=iso8601, tz=tz)}: {_TITLES[self.priority]} {self.message}"
        return escape_line(line) if escape else clean_text(line)

    def text_line(self) -> bytes:
        """``to_text()`` encoded, with the newline: what a text sink writes."""
        return escaped_bytes(self.output)[1:-1] + b"\n"

    def to_dict(self, options: JsonOptions = DEFAULT_JSON_OPTIONS) -> dict[str, Any]:
        obj = self._json_object(options)
        if options.include_output_fields:
            obj["output_fields"] = dict(obj["output_fields"])
        return obj

    def _json_object(self, options: JsonOptions) -> dict[str, Any]:
        """``to_dict`` with ``output_fields`` shared, not copied: for serialising only."""
        obj: dict[str, Any] = {
            "hostname": self.hostname,
            "priority": _TITLES[self.priority],
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
            obj["output_fields"] = _fields_dict(self.output_fields)
        return obj

    def to_json(self, options: JsonOptions = DEFAULT_JSON_OPTIONS) -> bytes:
        """The JSON object Falco writes for this alert (no trailing newline)."""
        obj = self._json_object(options)
        try:
            return orjson.dumps(obj, option=orjson.OPT_SORT_KEYS)
        except TypeError:
            # Integers beyond 64 bits or undecodable text: the slower encoder handles both.
            return json.dumps(
                _cleaned(obj), sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
            ).encode("utf-8")


# from_event fills every slot of a new Alert itself: the generated __init__ of a frozen
# dataclass goes through object.__setattr__ per field, half the cost of building an alert.
_new = object.__new__


def _setter(name: str) -> Callable[[Alert, Any], None]:
    setter: Callable[[Alert, Any], None] = Alert.__dict__[name].__set__  # the slot's member descriptor
    return setter


_set_rule = _setter("rule")
_set_priority = _setter("priority")
_set_source = _setter("source")
_set_time_ns = _setter("time_ns")
_set_output = _setter("output")
_set_output_fields = _setter("output_fields")
_set_tags = _setter("tags")
_set_hostname = _setter("hostname")
_set_message = _setter("message")


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
