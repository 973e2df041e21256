"""Pieces of the sidecar on their own: line framing, the spool, gRPC conversion, rate limiting, webhook retries."""

from __future__ import annotations

import asyncio
import os
import socket
import sqlite3
import stat
from pathlib import Path

import orjson
import pytest
from aiohttp import web

from detector.priority import Priority
from detector.service.config import HttpOutputConfig
from detector.service.errors import SpoolError, StartupError
from detector.service.grpc_convert import alert_json_to_response, parse_iso8601_ns, response_to_alert
from detector.service.inputs.decode import BadInput, LineFramer, decode_json, recognise_audit_payload
from detector.service.internal import InternalAlert, TokenBucket, iso8601_ns
from detector.service.metrics import Metrics
from detector.service.outputs.webhook import ALERT_ID_HEADER, WebhookSink, redact_url
from detector.service.proto_gen import schema_pb2
from detector.service.spool import Checkpoint, NewAlert, Spool
from detector.service.unixsock import prepare_socket_path
from tests.sidecar_fakes import fake_recognise


def _alert(n: int) -> NewAlert:
    body = orjson.dumps({"rule": "R", "priority": "Warning", "n": n})
    return NewAlert(n, "R", "Warning", "syscall", body, f"line {n}".encode())


# -- line framing ----------------------------------------------------------------------------


def test_framer_splits_across_chunks_and_keeps_partial_lines() -> None:
    framer = LineFramer(64)
    assert framer.feed(b'{"a":1}\n{"b"') == [b'{"a":1}']
    assert framer.pending == 4
    assert framer.consumed == 8
    assert framer.feed(b':2}\r\n\n  \n') == [b'{"b":2}']
    assert framer.pending == 0
    assert framer.consumed == len(b'{"a":1}\n{"b":2}\r\n\n  \n')


def test_framer_skips_overlong_lines_with_bounded_memory() -> None:
    framer = LineFramer(16)
    lines = framer.feed(b"x" * 10)
    lines += framer.feed(b"y" * 100)  # now over the limit: dropped, skipping to the newline
    lines += framer.feed(b"z" * 100 + b"\nok\n" + b"w" * 40 + b"\nfine\n")
    assert lines == [b"ok", b"fine"]
    assert framer.too_long == 2
    assert framer.pending == 0


@pytest.mark.parametrize(
    ("data", "reason"),
    [(b"{bad", "invalid_json"), (b"", "blank"), (b"\xff\xfe", "invalid_utf8"), (b"[" * 300 + b"]" * 300, "too_deep")],
)
def test_decode_json_reasons(data: bytes, reason: str) -> None:
    with pytest.raises(BadInput) as info:
        decode_json(data)
    assert info.value.reason == reason


def test_audit_payload_rejects_other_sources() -> None:
    with pytest.raises(BadInput, match="k8s audit"):
        recognise_audit_payload({"proc.name": "bash"}, fake_recognise)
    with pytest.raises(BadInput, match="k8s audit"):
        recognise_audit_payload(42, fake_recognise)
    records = recognise_audit_payload([{"kind": "Event", "verb": "get"}, {"kind": "EventList", "items": [
        {"kind": "Event", "verb": "list"}]}], fake_recognise)
    assert [event["verb"] for _, event in records] == ["get", "list"]


# -- spool -----------------------------------------------------------------------------------


def test_spool_cursors_prune_and_survive_reopen(tmp_path: Path) -> None:
    path = str(tmp_path / "s.db")
    spool = Spool(path, max_alerts=100)
    spool.register_outputs(["a", "b"])
    spool.append([_alert(i) for i in range(1, 6)], [Checkpoint("file:x", 7, 120)])
    assert spool.queued("a") == spool.queued("b") == 5
    assert [a.id for a in spool.fetch(spool.cursor("a"), 2)] == [1, 2]
    spool.ack("a", 5)
    spool.ack("b", 2)
    assert spool.size == 3  # rows 1-2 pruned: everyone has them
    instance = spool.instance_id
    spool.close()

    again = Spool(path, max_alerts=100)
    assert again.instance_id == instance
    assert again.queued("a") == 0 and again.queued("b") == 3
    assert [a.json for a in again.fetch(again.cursor("b"), 10)] == [_alert(i).json for i in (3, 4, 5)]
    assert again.checkpoint("file:x") == Checkpoint("file:x", 7, 120)
    again.append([_alert(6)])
    assert again.fetch(5, 10)[0].id == 6  # ids keep increasing after a restart
    again.register_outputs(["b", "c"])  # a removed, c new: c starts after the newest alert
    assert again.queued("c") == 0
    again.close()


def test_spool_sheds_oldest_and_reports_per_output(tmp_path: Path) -> None:
    spool = Spool(str(tmp_path / "s.db"), max_alerts=10)
    spool.register_outputs(["fast", "slow"])
    spool.append([_alert(i) for i in range(1, 9)])
    spool.ack("fast", 8)
    report = spool.append([_alert(i) for i in range(9, 15)])
    assert report.shed == 4
    assert dict(report.dropped_per_output) == {"slow": 4}
    assert spool.size == 10
    assert [a.id for a in spool.fetch(spool.cursor("slow"), 100)] == list(range(5, 15))
    spool.close()


def test_spool_refuses_a_second_process_and_sets_aside_corruption(tmp_path: Path) -> None:
    path = str(tmp_path / "s.db")
    first = Spool(path, max_alerts=10)
    with pytest.raises(SpoolError, match="in use"):
        Spool(path, max_alerts=10)
    first.close()
    corrupt = tmp_path / "c.db"
    corrupt.write_bytes(b"this is not a database" * 100)
    spool = Spool(str(corrupt), max_alerts=10)
    assert spool.size == 0
    assert any(p.name.startswith("c.db.corrupt-") for p in tmp_path.iterdir())
    spool.close()
    assert stat.S_IMODE(os.stat(corrupt).st_mode) == 0o640


def test_spool_is_wal(tmp_path: Path) -> None:
    path = str(tmp_path / "s.db")
    Spool(path, max_alerts=10).close()
    assert sqlite3.connect(path).execute("PRAGMA journal_mode").fetchone()[0] == "wal"


# -- gRPC conversion -------------------------------------------------------------------------


def test_iso8601_round_trip() -> None:
    ns = 1_558_107_116_746_609_046
    assert iso8601_ns(ns) == "2019-05-17T15:31:56.746609046Z"
    assert parse_iso8601_ns("2019-05-17T15:31:56.746609046Z") == ns
    assert parse_iso8601_ns("2019-05-17T15:31:56Z") == ns - 746_609_046
    assert parse_iso8601_ns("2019-05-17T17:31:56.5+02:00") == ns - 246_609_046


def test_alert_to_response_follows_falco_mapping() -> None:
    body = orjson.dumps({
        "hostname": "h", "output": "o", "priority": "Informational", "rule": "R", "source": "aws_cloudtrail",
        "tags": ["a", "b"], "time": "2019-05-17T15:31:56.746609046Z",
        "output_fields": {"proc.pid": 12, "fd.name": "/x", "missing": None, "flag": True},
    })
    response = alert_json_to_response(body)
    assert response.priority == schema_pb2.INFORMATIONAL
    assert response.source_deprecated == schema_pb2.PLUGIN
    assert response.source == "aws_cloudtrail"
    assert dict(response.output_fields) == {"proc.pid": "12", "fd.name": "/x", "missing": "null", "flag": "true"}
    assert response.time.nanos == 746609046
    back = response_to_alert(response)
    assert back["time"] == "2019-05-17T15:31:56.746609046Z"
    assert back["priority"] == "Informational" and back["tags"] == ["a", "b"]
    assert alert_json_to_response(orjson.dumps({"source": "k8s_audit"})).source_deprecated == schema_pb2.K8S_AUDIT


# -- internal alerts -------------------------------------------------------------------------


def test_token_bucket_uses_the_given_clock() -> None:
    now = [100.0]
    bucket = TokenBucket(rate=1 / 30, clock=lambda: now[0])
    assert bucket.take()
    assert not bucket.take()
    now[0] += 29
    assert not bucket.take()
    now[0] += 2
    assert bucket.take()


def test_internal_alert_format() -> None:
    alert = InternalAlert("Detector internal: x", "Detector internal: x happened", Priority.CRITICAL,
                          1_558_107_116_746_609_046, "host", {"n": 3})
    body = orjson.loads(alert.to_json())
    assert list(body) == sorted(body)
    assert body["source"] == "internal" and body["priority"] == "Critical" and "tags" not in body
    assert alert.to_text().endswith(": Critical Detector internal: x happened (n=3)")


# -- unix sockets ----------------------------------------------------------------------------


def test_socket_path_stale_live_and_foreign(tmp_path: Path) -> None:
    path = str(tmp_path / "sub" / "s.sock")
    prepare_socket_path(path, "t")  # creates the directory
    stale = socket.socket(socket.AF_UNIX)
    stale.bind(path)
    stale.close()
    prepare_socket_path(path, "t")  # stale socket removed
    assert not os.path.exists(path)
    live = socket.socket(socket.AF_UNIX)
    live.bind(path)
    live.listen()
    with pytest.raises(StartupError, match="in use"):
        prepare_socket_path(path, "t")
    live.close()
    os.unlink(path)
    Path(path).write_text("mine")
    with pytest.raises(StartupError, match="not a socket"):
        prepare_socket_path(path, "t")
    assert Path(path).read_text() == "mine"


# -- webhook ---------------------------------------------------------------------------------


def test_webhook_retries_5xx_gives_up_on_4xx_and_counts(tmp_path: Path) -> None:
    seen: list[tuple[str, int]] = []
    statuses = {"1": [503, 500, 200], "2": [400], "3": [429, 200]}

    async def handler(request: web.Request) -> web.Response:
        body = orjson.loads(await request.read())
        key = str(body["n"])
        status = statuses[key].pop(0)
        seen.append((request.headers[ALERT_ID_HEADER], status))
        return web.Response(status=status, headers={"Retry-After": "0"} if status == 429 else {})

    async def main() -> tuple[frozenset[int], Metrics, list[str]]:
        app = web.Application()
        app.router.add_post("/hook", handler)
        runner = web.AppRunner(app)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        metrics = Metrics()
        failures: list[str] = []
        config = HttpOutputConfig(enabled=True, url=f"http://user:pw@127.0.0.1:{port}/hook?token=x",
                                  backoff_initial=0.01, backoff_max=0.05,
                                  dead_letter_file=str(tmp_path / "dead.jsonl"))
        sink = WebhookSink(config, metrics, json_output=True, instance_id="inst", on_failure=failures.append)
        await sink.start()
        spool = Spool(str(tmp_path / "s.db"), max_alerts=10)
        spool.register_outputs(["http"])
        spool.append([_alert(i) for i in (1, 2, 3)])
        result = await sink.deliver(spool.fetch(0, 10))
        await sink.close()
        await runner.cleanup()
        spool.close()
        return result.failed, metrics, failures

    failed, metrics, failures = asyncio.run(main())
    assert failed == frozenset({2})
    assert sorted(seen) == sorted([("inst-1", 503), ("inst-1", 500), ("inst-1", 200), ("inst-2", 400),
                                   ("inst-3", 429), ("inst-3", 200)])
    assert metrics.output_retried.labels("http")._value.get() == 3
    assert len(failures) == 1 and "HTTP 400" in failures[0] and "pw" not in failures[0] and "token" not in failures[0]
    dead = [orjson.loads(line) for line in (tmp_path / "dead.jsonl").read_bytes().splitlines()]
    assert dead[0]["reason"] == "HTTP 400" and dead[0]["alert"]["n"] == 2


def test_redact_url() -> None:
    assert redact_url("https://u:secret@hook.example:8443/p?token=t#f") == "https://hook.example:8443/p"
