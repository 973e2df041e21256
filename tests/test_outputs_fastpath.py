"""The generated output code against a plain reference rendering, on the upstream rules' outputs.

``OutputFormat.render``/``values`` run code generated per format for ``dict`` events, alerts
compute ``output_fields`` lazily and render their time through a per-second memo.  The
reference here walks the format's nodes the straightforward way (each field's registry
extractor, ``text_of``/``json_of``, ``detector.fields.evttime`` for times) and builds alerts
with the plain ``Alert`` constructor.  Both must agree byte for byte on real events from
``../shared/data``, on the same events with the fields removed, and with the fields replaced by
values of every other type (numbers out of range, lists, byte objects, control characters...).
"""

from __future__ import annotations

import dataclasses
import pickle
import random
import time
from collections.abc import Callable, Mapping
from datetime import UTC, timedelta, timezone
from pathlib import Path
from types import MappingProxyType
from typing import Any

import pytest
import yaml

from detector.errors import DetectorError
from detector.fields import evttime
from detector.outputs import Alert, JsonOptions, LineFormat, OutputFormat, timestamps
from detector.outputs.values import NA, json_of, text_of
from detector.priority import Priority
from detector.sources import read_records
from tests.shared import shared_dir

SYSCALL_RULES = ("falco_rules.yaml", "falco-incubating_rules.yaml", "falco-sandbox_rules.yaml")
K8S_RULES = ("k8s_audit_rules.yaml",)
EVENTS_PER_FILE = 3
PDT = timezone(timedelta(hours=-7))
_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

# Values of every kind a field may carry (or that a reader may hand over), for every field type.
ODD_VALUES: tuple[Any, ...] = (
    None, 0, -1, 1, 7, 65535, 65536, 2**31, 2**32 + 7, -(2**63) - 1, 2**64 + 5, 2**70, True, False,
    1.5, -0.0, float("nan"), float("inf"), "", "42", " 17 ", "0x1f", "55E2", "abc", "1.2.3.4", "::1",
    "[::1]", "300.1.1.1", "true", "false", "/a/b/c.txt", 'a\nb\x1b[31m "q" \\ {x} %y', "\udc80bad",
    "ünïcödé ✓", [], ["a", "b"], [1, None, "x"], ("t", 2), {"bytes_hex": "41004243"},
    {"bytes_b64": "QUJD"}, {"bytes_hex": "zz"}, {"x": 1}, b"by\x00tes", bytearray(b"ab"),
)

# Formats beyond the upstream ones: transformers, widths, ancestors, times, lists, odd literals.
EXTRA_FORMATS: tuple[str, ...] = (
    "%proc.aname %proc.aname[2] %proc.aname[03] %proc.apid %proc.aexepath[1] %proc.acmdline",
    "%toupper(proc.name) %tolower(fd.name) %basename(fd.name) %len(proc.cmdline) %b64(evt.arg.data)",
    '%concat(proc.name, "-", fd.name) %join(",", (proc.name, fd.name)) %toupper(concat(proc.name, fd.name))',
    "%10proc.name|%2proc.cmdline|%5user.uid|%3toupper(proc.name)|%1fd.name",
    "%evt.time %evt.time.s %evt.time.iso8601 %evt.datetime %evt.datetime.s %evt.rawtime %evt.num",
    "%fd.cip %fd.sip %fd.rip %fd.cproto %fd.lproto %fd.sport %fd.dev %fd.rip.name %fd.cip.name",
    "%evt.arg.flags %evt.arg[0] %evt.rawarg.res %evt.type.is.open %evt.source %evt.failed %evt.latency",
    "%fd.types %fd.types[1] %proc.env %proc.args %container.mounts %proc.vpgid %thread.cap_effective",
    "%user.uid%user.loginuid%proc.tty%proc.pid%fd.lport%fd.num%evt.buflen",
    "literal {braces} }{ \"dq\" 'sq' \\back\\slash \n\t tab é ✓ %proc.name{ %fd.name}",
    "*%proc.name and %proc.nameand %user.name",
    "",
    "no fields at all",
)


# --- data -----------------------------------------------------------------------------------------


def _rule_outputs(files: tuple[str, ...]) -> list[tuple[str, str, str]]:
    """``(rule, source, output)`` of every rule with an output in the upstream files."""
    base = shared_dir()
    if base is None:
        return []
    found: list[tuple[str, str, str]] = []
    for name in files:
        path = base / "falco" / "rules" / name
        if not path.exists():
            continue
        for item in yaml.load(path.read_text(encoding="utf-8"), Loader=_YAML_LOADER) or []:
            if isinstance(item, dict) and isinstance(item.get("output"), str) and "rule" in item:
                found.append((str(item["rule"]), str(item.get("source", "syscall")), item["output"].strip()))
    return found


def _events(kind: str) -> list[dict[str, Any]]:
    """A few events of each shared capture export (``syscall``) or audit file (``k8s_audit``)."""
    base = shared_dir()
    if base is None:
        return []
    paths: list[Path] = (sorted((base / "data" / "events").glob("*.jsonl.gz")) if kind == "syscall"
                         else sorted((base / "data" / "k8saudit").glob("*.json")))
    events: list[dict[str, Any]] = []
    for path in paths:
        records = [r.event for r in read_records([str(path)]) if isinstance(r.event, dict)]
        step = max(1, len(records) // EVENTS_PER_FILE)
        events.extend(records[::step][:EVENTS_PER_FILE])
    return events


def _compiled(outputs: list[tuple[str, str, str]]) -> list[tuple[str, OutputFormat]]:
    formats = []
    for rule, source, text in outputs:
        try:
            formats.append((rule, OutputFormat.compile(text, source)))
        except DetectorError:
            continue  # fields of plugins we do not implement
    return formats


# --- the reference ------------------------------------------------------------------------------


def _node_value(node: Any, event: Mapping[str, Any]) -> Any:
    return node.eval(event)


def reference_render(fmt: OutputFormat, event: Mapping[str, Any]) -> str:
    out: list[str] = []
    for piece in fmt.pieces:
        if isinstance(piece, str):
            out.append(piece)
            continue
        node = piece.node
        value = _node_value(node, event)
        if value is None:
            text = NA
        else:
            text = text_of(value, is_list=node.is_list, any_of=getattr(node, "any_of", False))
        if piece.width:
            raw = text.encode("utf-8", "surrogateescape")[: piece.width].ljust(piece.width, b" ")
            text = raw.decode("utf-8", "replace")
        out.append(text)
    return "".join(out)


TIME_FIELD_NAMES = {"evt.time", "evt.time.s", "evt.time.iso8601", "evt.datetime", "evt.datetime.s"}


def reference_values(fmt: OutputFormat, event: Mapping[str, Any]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, node in fmt.resolution:
        bound = getattr(node, "bound", None)
        if bound is not None and bound.info.name in TIME_FIELD_NAMES:
            ts = timestamps.event_time_ns(fmt.source, event)
            if ts is not None:
                result[key] = ts
                continue
        if bound is not None and bound.multi == "any":
            value = _node_value(node, event)
            result[key] = None if value is None else text_of(value, any_of=True)
            continue
        result[key] = json_of(_node_value(node, event), is_list=node.is_list)
    return result


def reference_alert(fmt: OutputFormat, event: Mapping[str, Any], *, iso8601: bool, tz: Any,
                    tags: tuple[str, ...], default_time_ns: int) -> Alert:
    found = timestamps.event_time_ns(fmt.source, event)
    ts = default_time_ns if found is None else found
    message = reference_render(fmt, event)
    prefix = evttime.format_iso8601(ts) if iso8601 else evttime.format_time(ts, tz)
    fields = reference_values(fmt, event)
    fields["evt.time.iso8601" if iso8601 else "evt.time"] = ts
    line = f"{NA if prefix is None else prefix}: {Priority.WARNING.name.capitalize()} {message}"
    return Alert("rule", Priority.WARNING, fmt.source, ts, line, fields, tuple(sorted(set(tags))), "host",
                 message)


# --- comparison ---------------------------------------------------------------------------------


def _outcome(fn: Callable[[], Any]) -> Any:
    """The result, or the exception's type and text, so that failures are compared too."""
    try:
        return ("ok", repr(fn()))  # repr tells 1, 1.0 and True apart
    except Exception as exc:  # noqa: BLE001 - both paths must fail alike
        return ("raised", type(exc).__name__, str(exc))


def _variants(fmt: OutputFormat, event: dict[str, Any], rng: random.Random) -> list[dict[str, Any]]:
    """The event, the event without the format's fields, and with odd values in them."""
    keys = [node.bound.loader.key or node.key for _, node in fmt.resolution if hasattr(node, "bound")]
    keys += [f"{name}[{i}]" for name in ("proc.aname", "proc.apid") for i in (1, 2, 3)]
    missing = {k: v for k, v in event.items() if k not in keys}
    odd = dict(event)
    for key in keys:
        odd[key] = rng.choice(ODD_VALUES)
    return [event, missing, odd]


def check_format(fmt: OutputFormat, event: dict[str, Any]) -> None:
    assert type(event) is dict
    where = f"format {fmt.text!r} on event {str(event)[:300]}"
    assert _outcome(lambda: fmt.render(event)) == _outcome(lambda: reference_render(fmt, event)), where
    assert _outcome(lambda: fmt.values(event)) == _outcome(lambda: reference_values(fmt, event)), where
    # Mappings other than dict take the node-walking path: it must agree too.
    proxy = MappingProxyType(event)
    assert _outcome(lambda: fmt.render(proxy)) == _outcome(lambda: reference_render(fmt, proxy)), where
    assert _outcome(lambda: fmt.values(proxy)) == _outcome(lambda: reference_values(fmt, proxy)), where


JSON_OPTIONS = (
    JsonOptions(),
    JsonOptions(include_output=False, include_tags=False, include_message=True, include_output_fields=True),
    JsonOptions(include_output_fields=False, include_message=True),
    JsonOptions(include_output=True, include_tags=False, include_message=False, include_output_fields=True),
)


def check_alert(fmt: OutputFormat, event: dict[str, Any], *, iso8601: bool, tz: Any) -> None:
    tags = ("z", "a", "mitre", "a")
    now = 1_700_000_000_123_456_789
    try:
        ref = reference_alert(fmt, event, iso8601=iso8601, tz=tz, tags=tags, default_time_ns=now)
    except Exception:  # noqa: BLE001 - the format's own failure is compared by check_format
        return
    fast = Alert.from_event(rule="rule", priority=Priority.WARNING, source=fmt.source, output=fmt,
                            event=event, tags=tags, hostname="host", default_time_ns=now,
                            iso8601=iso8601, tz=tz)
    where = f"format {fmt.text!r} on event {str(event)[:300]}"
    for f in dataclasses.fields(Alert):
        assert repr(getattr(fast, f.name)) == repr(getattr(ref, f.name)), (f.name, where)
    assert list(fast.output_fields) == list(ref.output_fields), where
    assert fast == ref, where
    assert fast.to_text() == ref.to_text(), where
    assert LineFormat().line(fast) == ref.to_text().encode("utf-8") + b"\n", where
    for style in (True, False):
        assert fast.to_text(iso8601=style, tz=tz) == ref.to_text(iso8601=style, tz=tz), where
        fmt_line = LineFormat(iso8601=style, tz=tz)
        assert fmt_line.line(fast) == fmt_line.line(ref), where
    for options in JSON_OPTIONS:
        assert fast.to_json(options) == ref.to_json(options), (options, where)
        assert fast.to_dict(options) == ref.to_dict(options), (options, where)
        assert LineFormat(json_output=True, json_options=options).line(fast) == ref.to_json(options) + b"\n"


def _run(formats: list[tuple[str, OutputFormat]], events: list[dict[str, Any]], seed: int) -> int:
    rng = random.Random(seed)
    checked = 0
    for _, fmt in formats:
        for n, event in enumerate(events):
            for variant in _variants(fmt, event, rng):
                check_format(fmt, variant)
                if n % 4 == 0:
                    check_alert(fmt, variant, iso8601=rng.random() < 0.3, tz=rng.choice((None, UTC, PDT)))
                checked += 1
    return checked


# --- tests ----------------------------------------------------------------------------------------


SYSCALL_OUTPUTS = _rule_outputs(SYSCALL_RULES)
K8S_OUTPUTS = _rule_outputs(K8S_RULES)


@pytest.mark.skipif(not SYSCALL_OUTPUTS, reason="upstream rules not found under ../shared")
def test_upstream_syscall_outputs_match_reference() -> None:
    formats = _compiled(SYSCALL_OUTPUTS)
    events = _events("syscall")
    assert len(formats) > 50 and len(events) > 20
    assert _run(formats, events, seed=1) == len(formats) * len(events) * 3


@pytest.mark.skipif(not K8S_OUTPUTS, reason="upstream rules not found under ../shared")
def test_upstream_k8s_audit_outputs_match_reference() -> None:
    formats = _compiled(K8S_OUTPUTS)
    events = _events("k8s_audit")
    assert len(formats) > 20 and len(events) > 20
    _run(formats, events, seed=2)


@pytest.mark.parametrize("text", EXTRA_FORMATS)
@pytest.mark.parametrize("resolve_transformed", [False, True])
def test_transformers_widths_and_odd_fields_match_reference(text: str, resolve_transformed: bool) -> None:
    fmt = OutputFormat.compile(text, "syscall", resolve_transformed=resolve_transformed)
    event: dict[str, Any] = {
        "evt.time": 1507591916746609046, "evt.type": "openat", "evt.num": 3, "proc.name": "bash",
        "proc.cmdline": "bash -c 'echo hi'", "proc.aname[1]": "sshd", "proc.aname[2]": "systemd",
        "proc.aname[3]": None, "proc.apid[1]": 10, "fd.name": "/etc/shadow", "fd.cip": "10.0.0.1",
        "fd.sip": "::1", "fd.cport": 443, "fd.sport": "80", "fd.dev": "55E2", "fd.types": ["file", "ipv4"],
        "evt.arg.flags": "O_RDONLY", "evt.arg[0]": 5, "evt.arg.data": "aGVsbG8=", "user.uid": 0,
        "user.loginuid": -1, "proc.tty": 34816, "proc.env": ["A=1", "B=2"], "evt.failed": False,
    }
    rng = random.Random(text)
    variants = _variants(fmt, event, rng)
    variants += [{**event, "evt.time": None}, {**event, "evt.time": "12:00:00.000000000"}, {}]
    for _ in range(30):
        variants.append(_variants(fmt, event, rng)[2])
    for variant in variants:
        check_format(fmt, variant)
        for iso8601 in (False, True):
            for tz in (None, UTC, PDT):
                check_alert(fmt, variant, iso8601=iso8601, tz=tz)


@pytest.mark.parametrize(
    "ns",
    [0, 1, 999_999_999, 1_000_000_000, 1507591916746609046, 1717243634440686124, -1, -1_500_000_000,
     253402300799_999_999_999, 10**30, -(10**30)],
)
def test_time_renderings_match_evttime(ns: int) -> None:
    for tz in (None, UTC, PDT):
        assert timestamps.format_time(ns, tz) == evttime.format_time(ns, tz)
    assert timestamps.format_iso8601(ns) == evttime.format_iso8601(ns)
    assert timestamps.format_rfc3339_utc(ns) == evttime.format_rfc3339_utc(ns)


def test_lazy_output_fields_behave_as_a_dict() -> None:
    fmt = OutputFormat.compile("%proc.name %user.uid %fd.name", "syscall")
    event = {"evt.time": 5, "proc.name": "bash", "user.uid": "7"}
    alert = Alert.from_event(rule="r", priority=Priority.ERROR, source="syscall", output=fmt, event=event,
                             hostname="h")
    expected = {"proc.name": "bash", "user.uid": 7, "fd.name": None, "evt.time": 5}
    assert alert.output_fields == expected and expected == alert.output_fields
    assert dict(alert.output_fields) == expected and len(alert.output_fields) == 4
    assert "fd.name" in alert.output_fields and alert.output_fields["user.uid"] == 7
    assert repr(alert.output_fields) == repr(expected)
    copy = pickle.loads(pickle.dumps(alert))
    assert copy == alert and type(copy.output_fields) is dict
    # to_dict hands out its own copy.
    alert.to_dict()["output_fields"]["proc.name"] = "changed"
    assert alert.output_fields["proc.name"] == "bash"


def test_generated_code_is_used_for_dict_events() -> None:
    fmt = OutputFormat.compile("%proc.name %user.uid", "syscall")
    assert fmt.render({"proc.name": "a", "user.uid": 1}) == "a 1"
    assert fmt.values({"proc.name": "a", "user.uid": 1}) == {"proc.name": "a", "user.uid": 1}
    render, values = fmt._generated.render, fmt._generated.values
    assert render is not None and render.__code__.co_filename.startswith("<output format")
    assert values is not None and values.__code__.co_filename.startswith("<output format")


def test_local_time_memo_follows_tzset(monkeypatch: pytest.MonkeyPatch) -> None:
    ns = 1507591916746609046
    before = timestamps.format_time(ns)
    assert before == evttime.format_time(ns)
    try:
        # A POSIX rule needs no tz database: UTC-5, with DST.
        monkeypatch.setenv("TZ", "EST+05EDT,M3.2.0,M11.1.0")
        time.tzset()
        assert timestamps.format_time(ns) == evttime.format_time(ns)
        assert timestamps.format_time(ns + 5) == evttime.format_time(ns + 5)
    finally:
        monkeypatch.undo()
        time.tzset()
    assert timestamps.format_time(ns) == before == evttime.format_time(ns)
