"""The JSON-lines reader: recognition, bad-line accounting, gzip, stdin."""

from __future__ import annotations

import gzip
import io
import sys
import zlib
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from detector.sources import (
    BadLine,
    BadLineStats,
    Record,
    RecordRejected,
    decode_line,
    read_records,
    recognize,
)
from tests.shared import shared_path


def read(tmp_path: Path, data: bytes, name: str = "in.jsonl", **kw: Any) -> tuple[list[Record], list[BadLine], BadLineStats]:
    path = tmp_path / name
    path.write_bytes(data)
    bad: list[BadLine] = []
    stats = BadLineStats()
    records = list(read_records([path], stats=stats, on_bad=bad.append, **kw))
    return records, bad, stats


def assert_accounted(stats: BadLineStats, bad: list[BadLine]) -> None:
    assert stats.accepted_lines + stats.blank_lines + stats.rejected_lines == stats.lines
    line_rejections = [b for b in bad if b.line and b.kind not in ("gzip_truncated", "gzip_corrupt", "read_error")]
    assert len(line_rejections) == stats.rejected_lines + stats.items_rejected
    assert sum(stats.by_kind.values()) == len(bad)


AUDIT = {
    "kind": "Event",
    "apiVersion": "audit.k8s.io/v1",
    "auditID": "1",
    "verb": "get",
    "stageTimestamp": "2024-01-01T00:00:00.5Z",
}


# --- recognition ---------------------------------------------------------------------------------


def test_flat_maps_are_syscall_unless_they_name_a_source() -> None:
    assert recognize({"proc.name": "bash"}) == [("syscall", {"proc.name": "bash"})]
    event = {"source": "k8s_audit", "ka.verb": "get"}
    assert recognize(event) == [("k8s_audit", event)]
    with pytest.raises(RecordRejected) as exc:
        recognize({"source": "aws_cloudtrail", "ct.name": "x"})
    assert exc.value.kind == "unknown_source"
    assert recognize({"source": "aws_cloudtrail", "x.y": 1}, sources={"aws_cloudtrail"})[0][0] == "aws_cloudtrail"
    with pytest.raises(RecordRejected) as exc:
        recognize({"source": 3, "proc.name": "x"})
    assert exc.value.kind == "bad_source"


def test_falco_alert_becomes_its_output_fields() -> None:
    alert = {
        "output": "16:31:56.746609046: Error File below a known binary directory opened for writing",
        "priority": "Error",
        "rule": "Write below binary dir",
        "time": "2017-10-09T23:31:56.746609046Z",
        "output_fields": {"evt.time": 1507591916746609046, "fd.name": "/bin/hack", "user.name": "root"},
    }
    ((source, event),) = recognize(alert)
    assert source == "syscall"
    assert event is alert["output_fields"]
    k8s = {**alert, "source": "k8s_audit", "output_fields": {"ka.verb": "create"}}
    ((source, event),) = recognize(k8s)
    assert source == "k8s_audit"
    # No evt.time among the fields: the alert's own time is kept with them.
    assert event == {"ka.verb": "create", "evt.rawtime": 1507591916746609046}
    for fields, kind in ((None, "alert_without_output_fields"), ({}, "alert_without_output_fields"),
                         ([1], "alert_bad_output_fields")):
        bad = {**alert}
        if fields is None:
            del bad["output_fields"]
        else:
            bad["output_fields"] = fields
        with pytest.raises(RecordRejected) as exc:
            recognize(bad)
        assert exc.value.kind == kind


def test_audit_events_lists_and_arrays() -> None:
    assert recognize(AUDIT) == [("k8s_audit", AUDIT)]
    other = {**AUDIT, "auditID": "2"}
    assert recognize({"kind": "EventList", "items": [AUDIT, other]}) == [("k8s_audit", AUDIT), ("k8s_audit", other)]
    assert recognize({"kind": "EventList", "apiVersion": "audit.k8s.io/v1"}) == []
    assert recognize([AUDIT, {"kind": "EventList", "items": [other]}]) == [("k8s_audit", AUDIT), ("k8s_audit", other)]
    rejected: list[RecordRejected] = []
    found = recognize({"kind": "EventList", "items": [AUDIT, 3, {"kind": "Event"}]}, on_item_rejected=rejected.append)
    assert found == [("k8s_audit", AUDIT)]
    assert [r.kind for r in rejected] == ["k8s_bad_item", "k8s_no_timestamp"]
    for value, kind in (({"kind": 0}, "k8s_unrecognized"), ({"kind": "Pod"}, "k8s_unrecognized"),
                        ([], "empty_array"), ([1, 2], "k8s_unrecognized"), ({}, "empty_object"),
                        (None, "not_object"), (42, "not_object"), ("x", "not_object"),
                        ({"kind": "EventList", "items": 5}, "k8s_bad_eventlist"),
                        ({"kind": "Event", "auditID": "x"}, "k8s_no_timestamp")):
        with pytest.raises(RecordRejected) as exc:
            recognize(value)
        assert exc.value.kind == kind, value
    with pytest.raises(RecordRejected) as exc:
        recognize(AUDIT, sources={"syscall"})
    assert exc.value.kind == "unknown_source"


def test_fal_01_003_gets_the_plugin_message() -> None:
    with pytest.raises(RecordRejected, match="data not recognized as a k8s audit event"):
        recognize({"kind": 0})


# --- decoding ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("line", "kind"),
    [
        (b'{"a":1', "invalid_json"),
        (b'{"a":1}{"b":2}', "invalid_json"),
        (b'{"a":1,}', "invalid_json"),
        (b'\xef\xbb\xbf{"a":1}', "bom"),
        (b'{"a":"\xff"}', "invalid_utf8"),
        (b'{"a":"\\ud800"}', "invalid_unicode"),
        (b'{"a":"x\x00y"}', "nul_byte"),
        (b'{"a":NaN}', "invalid_json"),
        (b'{"a":1e400}', "number_out_of_range"),
        (b'{"a":' + b"1" * 5000 + b"}", "number_out_of_range"),
        (b"[" * 1025 + b"]" * 1025, "too_deep"),
        (b'{"a":' + b"[" * 200 + b"]" * 200 + b"}", "too_deep"),
        (b"", "blank"),
        (b"  \t\r", "blank"),
    ],
)
def test_decode_line_rejections(line: bytes, kind: str) -> None:
    with pytest.raises(RecordRejected) as exc:
        decode_line(line)
    assert exc.value.kind == kind


def test_integers_beyond_64_bits_stay_exact() -> None:
    big = 2**64
    value = decode_line(b'{"a":%d,"b":-9223372036854775809,"c":1.5,"d":[%d]}' % (big, big * 7))
    assert value == {"a": big, "b": -(2**63) - 1, "c": 1.5, "d": [big * 7]}
    assert type(value["a"]) is int
    assert decode_line(b'{"a":' + b"9" * 400 + b"}")["a"] == int("9" * 400)
    # In range: orjson's own result, untouched.
    assert decode_line(b'{"a":18446744073709551615,"b":-9223372036854775808}') == {
        "a": 2**64 - 1,
        "b": -(2**63),
    }
    assert decode_line(b'{"a":1e300}') == {"a": 1e300}


def test_escaped_nul_is_valid_json_and_kept() -> None:
    assert decode_line(b'{"a":"x\\u0000y"}') == {"a": "x\x00y"}


# --- reading files -------------------------------------------------------------------------------


def test_bad_lines_are_skipped_counted_and_located(tmp_path: Path) -> None:
    lines = [
        b'{"proc.name":"a"}',
        b'{"proc.name":',
        b"",
        b"null",
        b"42",
        b"[]",
        b"{}",
        b'\xef\xbb\xbf{"proc.name":"b"}',
        b'{"x":"\xff"}',
        b'{"source":"syscall","proc.name":"c","source":"k8s_audit"}',
        b'{"proc.name":"d","proc.name":"e"}',
        b'{"kind":0}',
        b'{"proc.name":"f"}\r',
        b"   ",
        b'{"source":"nope","a.b":1}',
        b'{"proc.name":"g"}',
    ]
    records, bad, stats = read(tmp_path, b"\n".join(lines) + b"\n")
    assert [(r.event.get("proc.name"), r.line) for r in records] == [("a", 1), ("e", 11), ("f", 13), ("g", 16)]
    assert all(r.file == str(tmp_path / "in.jsonl") for r in records)
    assert [(b.line, b.kind) for b in bad] == [
        (2, "invalid_json"),
        (4, "not_object"),
        (5, "not_object"),
        (6, "empty_array"),
        (7, "empty_object"),
        (8, "bom"),
        (9, "invalid_utf8"),
        (10, "duplicate_source"),
        (12, "k8s_unrecognized"),
        (15, "unknown_source"),
    ]
    assert stats.lines == 16
    assert stats.blank_lines == 2
    assert stats.accepted_lines == 4
    assert stats.records == 4
    assert stats.by_source == {"syscall": 4}
    assert_accounted(stats, bad)
    assert str(bad[0]) == f"{tmp_path / 'in.jsonl'}:2: invalid_json: {bad[0].message}"


def test_bad_line_offsets_over_many_blocks(tmp_path: Path) -> None:
    # Enough short lines for several 1 MiB blocks, good and bad mixed, one line over the limit:
    # each bad line's offset is where it starts in the file (the reader keeps a cursor per block
    # instead of summing the block's lines again for every bad one).
    lines = []
    for i in range(250_000):
        if i % 7 == 3:
            lines.append(b'{"proc.name":"ok%d"}' % i)
        elif i == 90_001:
            lines.append(b'{"proc.name":"' + b"y" * 2000 + b'"}')
        else:
            lines.append(b"bad %d" % i)
    data = b"\n".join(lines) + b"\n"
    starts = {}
    at = 0
    for number, line in enumerate(lines, 1):
        starts[number] = at
        at += len(line) + 1
    records, bad, stats = read(tmp_path, data, max_line_bytes=1000)
    assert len(data) > 2 * (1 << 20)
    assert len(records) == sum(1 for i in range(250_000) if i % 7 == 3)
    assert len(bad) == 250_000 - len(records)
    assert {b.kind for b in bad} == {"invalid_json", "oversized"}
    assert all(b.offset == starts[b.line] for b in bad)
    assert_accounted(stats, bad)


def test_crlf_and_truncated_last_line(tmp_path: Path) -> None:
    records, bad, stats = read(tmp_path, b'{"proc.name":"a"}\r\n{"proc.name":"b"}\n{"proc.name":"c"}')
    assert [r.event["proc.name"] for r in records] == ["a", "b", "c"]
    records, bad, stats = read(tmp_path, b'{"proc.name":"a"}\n{"proc.name":"b"')
    assert [r.line for r in records] == [1]
    assert [(b.line, b.kind, b.offset) for b in bad] == [(2, "truncated", 18)]


def test_oversized_lines_are_skipped_with_bounded_buffering(tmp_path: Path) -> None:
    long = b'{"proc.name":"' + b"x" * 5000 + b'"}'
    data = b'{"proc.name":"a"}\n' + long + b"\n" + b'{"proc.name":"b"}\n' + long
    records, bad, stats = read(tmp_path, data, max_line_bytes=1000)
    assert [r.event["proc.name"] for r in records] == ["a", "b"]
    assert [(b.line, b.kind) for b in bad] == [(2, "oversized"), (4, "oversized")]
    assert_accounted(stats, bad)


def test_audit_traces_and_event_lists(tmp_path: Path) -> None:
    event_list = {"kind": "EventList", "items": [AUDIT, {**AUDIT, "auditID": "2"}, "junk"]}
    records, bad, stats = read(tmp_path, orjson.dumps(AUDIT) + b"\n" + orjson.dumps(event_list) + b"\n")
    assert [(r.source, r.event["auditID"], r.line) for r in records] == [
        ("k8s_audit", "1", 1),
        ("k8s_audit", "1", 2),
        ("k8s_audit", "2", 2),
    ]
    assert [(b.line, b.kind) for b in bad] == [(2, "k8s_bad_item")]
    assert stats.items_rejected == 1 and stats.rejected_lines == 0
    assert_accounted(stats, bad)


def test_every_shared_audit_trace() -> None:
    base = shared_path("data", "k8saudit")
    bad: list[BadLine] = []
    stats = BadLineStats()
    records = list(read_records(sorted(base.glob("*.json")), stats=stats, on_bad=bad.append))
    assert stats.files == 47
    assert len(records) == 51 and all(r.source == "k8s_audit" for r in records)
    assert [(Path(b.file).name, b.kind) for b in bad] == [("fal_01_003.json", "k8s_unrecognized")]
    assert_accounted(stats, bad)


def test_gzip_plain_and_several_files(tmp_path: Path) -> None:
    plain = tmp_path / "a.jsonl"
    plain.write_bytes(b'{"proc.name":"a"}\n{"proc.name":"b"}\n')
    gz = tmp_path / "b.jsonl.gz"
    gz.write_bytes(gzip.compress(b'{"proc.name":"c"}\n') + gzip.compress(b'{"proc.name":"d"}\n'))
    odd = tmp_path / "c.data"  # gzip found by its magic, not its name
    odd.write_bytes(gzip.compress(b'{"proc.name":"e"}'))
    stats = BadLineStats()
    records = list(read_records([plain, str(gz), odd], stats=stats))
    assert [(Path(r.file).name, r.line, r.event["proc.name"]) for r in records] == [
        ("a.jsonl", 1, "a"), ("a.jsonl", 2, "b"), ("b.jsonl.gz", 1, "c"), ("b.jsonl.gz", 2, "d"), ("c.data", 1, "e"),
    ]
    assert stats.files == 3 and stats.records == 5


def test_broken_gzip_is_reported_and_the_next_file_read(tmp_path: Path) -> None:
    body = b"".join(b'{"proc.name":"p%d","evt.num":%d}\n' % (i, i) for i in range(5000))
    packed = gzip.compress(body)
    truncated = tmp_path / "t.gz"
    truncated.write_bytes(packed[: len(packed) // 2])
    corrupt = tmp_path / "c.gz"
    flipped = bytearray(packed)
    flipped[-6] ^= 0xFF  # CRC
    corrupt.write_bytes(bytes(flipped))
    garbage = tmp_path / "g.gz"
    garbage.write_bytes(packed[:20] + b"\x00garbage" * 50)
    good = tmp_path / "ok.jsonl"
    good.write_bytes(b'{"proc.name":"last"}\n')
    bad: list[BadLine] = []
    stats = BadLineStats()
    records = list(read_records([truncated, corrupt, garbage, tmp_path / "missing.jsonl", good],
                                stats=stats, on_bad=bad.append))
    kinds = [(Path(b.file).name, b.kind) for b in bad]
    assert ("t.gz", "gzip_truncated") in kinds
    assert ("c.gz", "gzip_corrupt") in kinds
    assert ("g.gz", "gzip_corrupt") in kinds
    assert ("missing.jsonl", "file_error") in kinds
    assert records[-1].event["proc.name"] == "last"
    from_truncated = [r for r in records if r.file.endswith("t.gz")]
    assert 0 < len(from_truncated) < 5000
    assert [r.event["evt.num"] for r in from_truncated] == list(range(len(from_truncated)))
    assert stats.file_errors == 4
    assert_accounted(stats, bad)


def test_stdin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    class FakeStdin:
        buffer = io.BufferedReader(io.BytesIO(gzip.compress(b'{"proc.name":"in"}\n')))  # type: ignore[arg-type]

    monkeypatch.setattr(sys, "stdin", FakeStdin())
    records = list(read_records("-"))
    assert [(r.file, r.line, r.event) for r in records] == [("-", 1, {"proc.name": "in"})]


def test_shared_event_exports_read_whole() -> None:
    base = shared_path("data", "events")
    for path in sorted(base.glob("*.jsonl.gz")):
        expected = sum(1 for line in gzip.open(path) if line.strip())
        stats = BadLineStats()
        records = list(read_records(path, stats=stats))
        assert len(records) == expected == stats.accepted_lines
        assert all(r.source == "syscall" and isinstance(r.event, dict) for r in records)
        assert stats.rejected_lines == 0


def test_stats_are_complete_when_the_consumer_stops_early(tmp_path: Path) -> None:
    path = tmp_path / "x.jsonl"
    path.write_bytes(b'{"proc.name":"a"}\n' * 10)
    stats = BadLineStats()
    it = read_records(path, stats=stats)
    next(it)
    next(it)
    it.close()  # type: ignore[attr-defined]
    assert stats.records == 2 and stats.lines == 2


# --- never a traceback ---------------------------------------------------------------------------

_lines = st.one_of(
    st.binary(max_size=200),
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
        lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
        max_leaves=20,
    ).map(lambda v: orjson.dumps(v, option=orjson.OPT_NON_STR_KEYS) if _dumpable(v) else b"x"),
)


def _dumpable(value: Any) -> bool:
    try:
        orjson.dumps(value)
    except TypeError:
        return False
    return True


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(_lines, max_size=12), st.booleans(), st.booleans())
def test_any_bytes_never_raise(tmp_path: Path, lines: list[bytes], gz: bool, trailing_newline: bool) -> None:
    data = b"\n".join(lines) + (b"\n" if trailing_newline else b"")
    if gz:
        data = gzip.compress(data)[: max(10, len(data) // (2 if len(lines) % 2 else 1))]
    path = tmp_path / "fuzz.bin"
    path.write_bytes(data)
    bad: list[BadLine] = []
    stats = BadLineStats()
    records = list(read_records(path, stats=stats, on_bad=bad.append, max_line_bytes=150))
    assert len(records) == stats.records
    assert_accounted(stats, bad)


def test_zlib_error_class_is_handled(tmp_path: Path) -> None:
    # A raw deflate stream behind a gzip header: the decompressor fails with zlib.error or BadGzipFile.
    data = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff" + zlib.compress(b"x" * 100)[2:] + b"\x00" * 8
    _, bad, stats = read(tmp_path, data, name="z.gz")
    assert stats.file_errors == 1
    assert bad and bad[-1].kind in ("gzip_corrupt", "gzip_truncated")

