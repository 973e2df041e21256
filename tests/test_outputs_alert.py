"""Alerts as Falco writes them: the text line, the JSON object, and the sinks."""

from __future__ import annotations

import io
import os
from datetime import UTC, timedelta, timezone
from pathlib import Path
from typing import Any

import orjson
import pytest

from detector.outputs import Alert, FileSink, JsonOptions, LineFormat, OutputFormat, StreamSink, open_sink
from detector.priority import Priority
from tests.shared import shared_path

PDT = timezone(timedelta(hours=-7))

# falcosidekick README / alerta webhook example of a Falco JSON alert.
SIDEKICK_EXAMPLE = orjson.loads(
    b'{"output":"16:31:56.746609046: Error File below a known binary directory opened for writing '
    b'(user=root command=touch /bin/hack file=/bin/hack)","priority":"Error","rule":"Write below binary dir",'
    b'"time":"2017-10-09T23:31:56.746609046Z","output_fields":{"evt.time":1507591916746609046,'
    b'"fd.name":"/bin/hack","proc.cmdline":"touch /bin/hack","user.name":"root"}}'
)


def write_below_binary_dir(**kw: Any) -> Alert:
    event = {
        "evt.time": 1507591916746609046,
        "user.name": "root",
        "proc.cmdline": "touch /bin/hack",
        "fd.name": "/bin/hack",
    }
    return Alert.from_event(
        rule="Write below binary dir",
        priority=Priority.ERROR,
        source="syscall",
        output=OutputFormat.compile(
            "File below a known binary directory opened for writing "
            "(user=%user.name command=%proc.cmdline file=%fd.name)",
            "syscall",
        ),
        event=event,
        hostname="localhost",
        tags=["filesystem", "mitre_persistence", "filesystem"],
        tz=PDT,
        **kw,
    )


def test_sidekick_example_field_by_field() -> None:
    alert = write_below_binary_dir()
    got = orjson.loads(alert.to_json())
    for key in ("output", "priority", "rule", "time", "output_fields"):
        assert got[key] == SIDEKICK_EXAMPLE[key], key
    assert got["hostname"] == "localhost"
    assert got["source"] == "syscall"
    assert got["tags"] == ["filesystem", "mitre_persistence"]
    assert alert.to_text() == SIDEKICK_EXAMPLE["output"]


def test_json_is_compact_with_sorted_keys() -> None:
    data = write_below_binary_dir().to_json()
    assert data.startswith(b'{"hostname":"localhost","output":"16:31:56.746609046: Error File below')
    keys = list(orjson.loads(data))
    assert keys == ["hostname", "output", "output_fields", "priority", "rule", "source", "tags", "time"]
    assert list(orjson.loads(data)["output_fields"]) == ["evt.time", "fd.name", "proc.cmdline", "user.name"]
    assert b": " not in data.replace(b"16:31:56.746609046: Error", b"") and b", " not in data
    assert not data.endswith(b"\n")


def test_json_include_options() -> None:
    alert = write_below_binary_dir()
    trimmed = orjson.loads(alert.to_json(JsonOptions(include_output=False, include_tags=False,
                                                     include_message=True, include_output_fields=False)))
    assert list(trimmed) == ["hostname", "message", "priority", "rule", "source", "time"]
    assert trimmed["message"] == SIDEKICK_EXAMPLE["output"].split(": Error ", 1)[1]


def _sidekick_accepts(payload: dict[str, Any]) -> bool:
    """falcosidekick's FalcoPayload.Check(), with its priority list and RFC 3339 time."""
    import re

    priorities = {"emergency", "alert", "critical", "error", "warning", "notice", "informational", "info", "debug"}
    rfc3339 = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})\Z")
    return (
        str(payload.get("priority", "")).lower() in priorities
        and bool(payload.get("rule"))
        and bool(rfc3339.match(str(payload.get("time", ""))))
        and isinstance(payload.get("output_fields"), dict)
        and len(payload["output_fields"]) > 0
    )


@pytest.mark.parametrize("priority", list(Priority))
def test_every_priority_passes_falcosidekick_checks(priority: Priority) -> None:
    alert = Alert.from_event(
        rule="r", priority=priority, source="syscall", output=OutputFormat.compile("no fields", "syscall"),
        event={}, hostname="h",
    )
    payload = orjson.loads(alert.to_json())
    assert _sidekick_accepts(payload)
    assert payload["priority"] == priority.title
    # No field in the output and no timestamp in the event: the prefix's evt.time is still there.
    assert payload["output_fields"] == {"evt.time": 0}
    assert payload["time"] == "1970-01-01T00:00:00.000000000Z"


def test_k8saudit_readme_example() -> None:
    (line,) = [x for x in shared_path("data", "k8saudit", "create_nginx_pod_privileged.json").read_bytes().splitlines() if x]
    alert = Alert.from_event(
        rule="Create Privileged Pod",
        priority=Priority.WARNING,
        source="k8s_audit",
        output=OutputFormat.compile(
            "Pod started with privileged container (user=%ka.user.name pod=%ka.resp.name "
            "ns=%ka.target.namespace image=%ka.req.container.image)",
            "k8s_audit",
        ),
        event=orjson.loads(line),
        hostname="h",
        tags=["k8s"],
        tz=UTC,
    )
    assert alert.to_text() == (
        "14:09:12.581541000: Warning Pod started with privileged container "
        "(user=system:serviceaccount:kube-system:replicaset-controller pod=nginx-deployment-5cdcc99dbf-rgw6z "
        "ns=default image=nginx)"
    )
    payload = orjson.loads(alert.to_json())
    assert payload["time"] == "2018-10-25T14:09:12.581541000Z"
    assert payload["source"] == "k8s_audit"
    assert payload["output_fields"]["evt.time"] == 1540476552581541000
    assert payload["output_fields"]["ka.req.container.image"] == "nginx"
    assert _sidekick_accepts(payload)


def test_iso8601_prefix() -> None:
    alert = write_below_binary_dir(iso8601=True)
    assert alert.output.startswith("2017-10-09T23:31:56.746609046+0000: Error File below")
    assert orjson.loads(alert.to_json())["output_fields"]["evt.time.iso8601"] == 1507591916746609046
    plain = write_below_binary_dir()
    assert plain.to_text(iso8601=True).startswith("2017-10-09T23:31:56.746609046+0000: Error")
    assert plain.to_text(iso8601=False, tz=UTC).startswith("23:31:56.746609046: Error")


def test_text_line_escapes_control_characters() -> None:
    alert = Alert.from_event(
        rule="r", priority=Priority.NOTICE, source="syscall",
        output=OutputFormat.compile("file=%fd.name", "syscall"),
        event={"evt.time": 0, "fd.name": '/etc/evt\nfake_alert \x1b[31m "q" \\ \ud800'},
        hostname="h", tz=UTC,
    )
    text = alert.to_text()
    assert "\n" not in text and "\x1b" not in text
    # A lone surrogate stands for the bytes ED A0 80: three replacement characters, as libsinsp gives.
    assert text == '00:00:00.000000000: Notice file=/etc/evt\\nfake_alert \\u001b[31m \\"q\\" \\\\ ' + "\ufffd" * 3
    payload = orjson.loads(alert.to_json())
    assert payload["output_fields"]["fd.name"] == '/etc/evt\nfake_alert \x1b[31m "q" \\ ' + "\ufffd" * 3


def test_values_orjson_refuses_still_serialise() -> None:
    # A typed uint64 field wraps as libsinsp does ...
    alert = Alert.from_event(
        rule="r", priority=Priority.INFORMATIONAL, source="syscall",
        output=OutputFormat.compile("n=%evt.num", "syscall"),
        event={"evt.time": 1, "evt.num": 2**64 + 5}, hostname="h",
    )
    assert orjson.loads(alert.to_json())["output_fields"]["evt.num"] == 5
    # ... while an untyped value kept exact by the reader goes out exact, keys still sorted.
    raw = Alert("r", Priority.DEBUG, "syscall", 1, "o", {"z": 2**70, "a": "\udc80"}, hostname="h")
    data = raw.to_json()
    expected = b'{"hostname":"h","output":"o","output_fields":{"a":"' + "\ufffd".encode() * 3 + b'","z":%d}' % 2**70
    assert data.startswith(expected)


def test_sinks_write_whole_lines_deterministically(tmp_path: Path) -> None:
    alerts = [write_below_binary_dir(), write_below_binary_dir(time_ns=1)]
    stream = io.BytesIO()
    sink = StreamSink(stream, LineFormat(json_output=True))
    for a in alerts:
        assert sink.write(a)
    lines = stream.getvalue().split(b"\n")
    assert lines[-1] == b"" and len(lines) == 3
    assert lines[0] == alerts[0].to_json()

    path = tmp_path / "alerts.txt"
    for _ in range(2):
        fsink = open_sink(path, LineFormat(json_output=False, tz=PDT))
        assert isinstance(fsink, FileSink)
        for a in alerts:
            fsink.write(a)
        fsink.close()
    text = path.read_text().splitlines()
    assert text[0] == SIDEKICK_EXAMPLE["output"] and text[0] == text[2] and len(text) == 4


def test_sink_failures_are_counted_not_raised(tmp_path: Path) -> None:
    class Broken(io.RawIOBase):
        def write(self, b: Any) -> int:
            raise BrokenPipeError(32, "Broken pipe")

    sink = StreamSink(Broken(), LineFormat())  # type: ignore[arg-type]
    assert not sink.write(write_below_binary_dir())
    assert not sink.write(write_below_binary_dir())
    assert sink.broken and sink.dropped == 2

    fsink = FileSink(tmp_path / "missing-dir" / "x.txt")
    assert not fsink.write(write_below_binary_dir())
    assert fsink.failed == 1 and "x.txt" in (fsink.last_error or "")
    os.mkdir(tmp_path / "missing-dir")
    assert fsink.write(write_below_binary_dir())
    fsink.close()
