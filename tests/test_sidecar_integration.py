"""``detector run`` as a real process on loopback, driven by real clients.

Falco-format alerts over HTTP, audit events to /k8s-audit, a gRPC client built from Falco's
protos subscribing to alerts, a fake Falco gRPC server feeding the client input, a receiver
that goes down while the sidecar is killed with ``kill -9``, and 20 hot reloads under load.
"""

from __future__ import annotations

import json
import os
import queue
import signal
import stat
import threading
import time
from collections import Counter
from concurrent import futures
from pathlib import Path
from typing import Any

import grpc
import orjson
import pytest

from detector.service.grpc_convert import response_to_alert
from detector.service.internal import iso8601_ns
from detector.service.proto_gen import (
    outputs_pb2,
    outputs_pb2_grpc,
    schema_pb2,
    version_pb2,
    version_pb2_grpc,
)
from tests.shared import shared_dir
from tests.sidecar_harness import (
    Receiver,
    free_port,
    make_certs,
    post,
    post_until_accepted,
    sidecar,
    wait_until,
)

pytestmark = pytest.mark.timeout(60)

SHELL_RULE = """
- rule: Sidecar shell
  desc: a shell seen by the sidecar test
  condition: evt.type = execve and proc.name = bash
  output: shell seen (cmdline=%proc.cmdline)
  priority: WARNING
  tags: [test, shell]
"""


def reload_rules(name: str) -> str:
    return f"""
- rule: {name}
  desc: reload test rule
  condition: evt.type = execve and proc.name = reloadtest
  output: reload test (cmdline=%proc.cmdline)
  priority: WARNING
"""


BROKEN_RULES = reload_rules("Reload Broken") + """
- rule: Broken on purpose
  desc: does not compile
  condition: evt.type = execve and proc.name =
  output: never
  priority: WARNING
"""


def falco_alert(n: int, *, proc: str = "bash") -> dict[str, Any]:
    """An alert as Falco's http_output posts it (json_output: true)."""
    ns = 1_700_000_000_000_000_000 + n
    return {
        "hostname": "node-1",
        "output": f"22:13:20.000000000: Notice spawned (cmdline=bash -c id-{n})",
        "output_fields": {"evt.time": ns, "evt.type": "execve", "proc.name": proc, "proc.cmdline": f"bash -c id-{n}"},
        "priority": "Notice",
        "rule": "Upstream rule",
        "source": "syscall",
        "tags": ["upstream"],
        "time": iso8601_ns(ns),
    }


def cmdline_ids(alerts: list[dict[str, Any]]) -> list[int]:
    return [int(a["output_fields"]["proc.cmdline"].rsplit("-", 1)[1]) for a in alerts if a.get("source") != "internal"]


class Subscriber(threading.Thread):
    """A client of ``falco.outputs.service/sub`` built from the protos, polling like Falco's clients."""

    def __init__(self, target: str, credentials: grpc.ChannelCredentials | None = None) -> None:
        super().__init__(daemon=True)
        self.channel = (grpc.secure_channel(target, credentials) if credentials is not None
                        else grpc.insecure_channel(target))
        self.received: list[outputs_pb2.response] = []
        self.stop_event = threading.Event()
        self.error: Exception | None = None

    def requests(self) -> Any:
        while not self.stop_event.is_set():
            yield outputs_pb2.request()
            time.sleep(0.1)

    def run(self) -> None:
        try:
            for response in outputs_pb2_grpc.serviceStub(self.channel).sub(self.requests()):
                self.received.append(response)
        except grpc.RpcError as exc:
            if not self.stop_event.is_set():
                self.error = exc

    def close(self) -> None:
        self.stop_event.set()
        self.channel.close()


def test_falco_http_alerts_reach_webhook_and_every_grpc_subscriber(tmp_path: Path) -> None:
    (tmp_path / "rules.yaml").write_text(SHELL_RULE)
    sock = tmp_path / "run" / "detector.sock"
    receiver = Receiver().start()
    config = {
        "rules_files": [str(tmp_path / "rules.yaml")],
        "http_output": {"enabled": True, "url": receiver.url},
        "grpc": {"enabled": True, "bind_address": f"unix://{sock}"},
        "grpc_output": {"enabled": True},
    }
    with sidecar(tmp_path, config) as proc:
        proc.start()
        assert stat.S_IMODE(os.stat(sock).st_mode) == 0o660
        version = version_pb2_grpc.serviceStub(grpc.insecure_channel(f"unix://{sock}")).version(version_pb2.request())
        assert version.version
        subscribers = [Subscriber(f"unix://{sock}") for _ in range(2)]
        for sub in subscribers:
            sub.start()
        wait_until(lambda: proc.metric("detector_grpc_subscribers") == 2, 10, "two gRPC subscribers")

        matching = list(range(0, 40, 2))
        headers = {"User-Agent": "falcosecurity/falco"}
        for n in range(40):
            status, body = post(proc.base_url + "/", falco_alert(n, proc="bash" if n in matching else "ls"), headers=headers)
            assert status == 200, body
            assert orjson.loads(body)["alerts"] == (1 if n in matching else 0)
        assert post(proc.base_url + "/", b'{"rule": "x", "priority": "Notice"}')[0] == 400  # no output_fields

        wait_until(lambda: receiver.count() >= len(matching), 10, "webhook deliveries")
        wait_until(lambda: all(len(s.received) >= len(matching) for s in subscribers), 10, "gRPC deliveries")
        alerts = receiver.snapshot()
        assert sorted(cmdline_ids(alerts)) == matching
        assert {a["rule"] for a in alerts} == {"Sidecar shell"}
        assert all(h["Content-Type"] == "application/json" for h in receiver.headers)
        for sub in subscribers:  # unlike Falco's shared queue, each subscriber has every alert
            got = [response_to_alert(r) for r in sub.received]
            assert sorted(cmdline_ids(got)) == matching
            assert all(r.priority == schema_pb2.WARNING and r.source == "syscall" for r in sub.received)
            assert set(sub.received[0].tags) == {"test", "shell"}
            sub.close()
        metrics = proc.metrics()
        assert metrics['detector_alerts_total{priority="Warning",rule="Sidecar shell",source="syscall"}'] == 20
        assert metrics['detector_bad_inputs_total{input="falco_http",reason="alert_without_output_fields"}'] == 1
        assert metrics['detector_output_delivered_total{output="http"}'] == 20
        assert proc.stop() == 0
    receiver.stop()
    assert not sock.exists()


def _k8s_cases() -> list[dict[str, Any]]:
    base = shared_dir()
    if base is None:
        return []
    data = json.loads((base / "conformance" / "k8saudit_expected.json").read_text())
    return [
        t for t in data["tests"].values()
        if [r.rsplit("/", 1)[-1] for r in t["rules_file"]] == ["falco_rules.yaml", "k8s_audit_rules.yaml"]
    ]


def test_k8s_audit_webhook_with_falco_traces(tmp_path: Path) -> None:
    cases = _k8s_cases()
    if not cases:
        pytest.skip("shared conformance data not found")
    base = shared_dir()
    assert base is not None
    receiver = Receiver().start()
    config = {
        "rules_files": [str(base / "conformance" / "k8saudit_rules_for_expected.yaml")],
        "http_output": {"enabled": True, "url": receiver.url},
    }
    expected: Counter[str] = Counter()
    events = 0
    with sidecar(tmp_path, config) as proc:
        proc.start()
        for case in cases:
            trace = base / "data" / "k8saudit" / case["trace_json"]
            lines = [orjson.loads(line) for line in trace.read_bytes().splitlines() if line.strip()]
            # One trace as an EventList, as the API server's webhook batches them.
            status, body = post(proc.base_url + "/k8s-audit", {"kind": "EventList", "apiVersion": "audit.k8s.io/v1",
                                                               "items": lines})
            if case["trace_json"] == "fal_01_003.json":
                assert status == 400  # no stageTimestamp: refused as the k8saudit plugin does
                continue
            assert status == 200, (case["trace_json"], body)
            events += len(lines)
            for counts in case.get("detect_counts", []):
                expected.update(counts)
        assert post(proc.base_url + "/k8s-audit", b"[]")[0] == 400
        wait_until(lambda: proc.metric('detector_output_queued{output="http"}') == 0
                   and proc.metric("detector_events_evaluated_total") >= events, 10, "audit alerts delivered")
        got = receiver.rules()
        assert len(expected) >= 20
        for rule, count in expected.items():
            assert got[rule] >= count, (rule, got[rule], count)
        assert all(a["source"] == "k8s_audit" for a in receiver.snapshot())
        assert proc.stop() == 0
    receiver.stop()


class FakeFalco(outputs_pb2_grpc.serviceServicer):
    """Falco 0.43's outputs service: one queue; each client request pops and writes what is pending."""

    def __init__(self) -> None:
        self.pending: queue.Queue[outputs_pb2.response] = queue.Queue()

    def sub(self, request_iterator: Any, context: Any) -> Any:
        for _ in request_iterator:
            while True:
                try:
                    yield self.pending.get_nowait()
                except queue.Empty:
                    break


def _fake_falco(path: Path) -> tuple[grpc.Server, FakeFalco]:
    servicer = FakeFalco()
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
    outputs_pb2_grpc.add_serviceServicer_to_server(servicer, server)
    assert server.add_insecure_port(f"unix://{path}") != 0
    server.start()
    return server, servicer


def _falco_response(n: int) -> outputs_pb2.response:
    alert = falco_alert(n)
    response = outputs_pb2.response(
        rule=alert["rule"], output=alert["output"], priority=schema_pb2.NOTICE, source="syscall",
        hostname="node-1", tags=["upstream"],
        output_fields={k: str(v) for k, v in alert["output_fields"].items()},
    )
    response.time.FromNanoseconds(alert["output_fields"]["evt.time"])
    return response


def test_grpc_client_input_reconnects_to_a_fake_falco(tmp_path: Path) -> None:
    (tmp_path / "rules.yaml").write_text(SHELL_RULE)
    falco_sock = tmp_path / "falco.sock"
    receiver = Receiver().start()
    config = {
        "rules_files": [str(tmp_path / "rules.yaml")],
        "http_output": {"enabled": True, "url": receiver.url},
        "inputs": {"grpc": {"enabled": True, "address": f"unix://{falco_sock}", "backoff_initial": 0.05,
                            "backoff_max": 0.3}},
    }
    with sidecar(tmp_path, config) as proc:
        proc.start()  # Falco is not there yet: the client keeps retrying
        wait_until(lambda: proc.metric("detector_grpc_client_reconnects_total") >= 1, 10, "a reconnection attempt")
        server, falco = _fake_falco(falco_sock)
        wait_until(lambda: proc.metric("detector_grpc_client_connected") == 1, 10, "the client to connect")
        for n in range(10):
            falco.pending.put(_falco_response(n))
        wait_until(lambda: receiver.count() >= 10, 10, "alerts from the first Falco")
        before = proc.metric("detector_grpc_client_reconnects_total")
        server.stop(0).wait()  # Falco restarts
        server, falco = _fake_falco(falco_sock)
        wait_until(lambda: proc.metric("detector_grpc_client_reconnects_total") > before
                   and proc.metric("detector_grpc_client_connected") == 1, 10, "the client to reconnect")
        for n in range(10, 20):
            falco.pending.put(_falco_response(n))
        wait_until(lambda: receiver.count() >= 20, 10, "alerts from the restarted Falco")
        assert sorted(cmdline_ids(receiver.snapshot())) == list(range(20))
        assert proc.metric('detector_events_in_total{input="falco_grpc"}') == 20
        assert proc.stop() == 0
        server.stop(0)
    receiver.stop()


def test_receiver_down_and_kill9_lose_nothing(tmp_path: Path) -> None:
    (tmp_path / "rules.yaml").write_text(SHELL_RULE)
    receiver = Receiver().start()
    total = 200
    config = {
        "rules_files": [str(tmp_path / "rules.yaml")],
        "http_output": {"enabled": True, "url": receiver.url, "backoff_initial": 0.05, "backoff_max": 0.3},
        "delivery": {"drain_timeout": 5},
    }
    sent = [0]
    attempts = [0]
    with sidecar(tmp_path, config) as proc:
        proc.start()
        deadline = time.monotonic() + 40

        def client() -> None:
            for n in range(total):
                event = {"evt.type": "execve", "proc.name": "bash", "proc.cmdline": f"bash -c id-{n}"}
                attempts[0] += post_until_accepted(proc.base_url + "/", event, deadline=deadline)
                sent[0] = n + 1

        thread = threading.Thread(target=client, daemon=True)
        thread.start()
        wait_until(lambda: sent[0] >= 40, 20, "40 events accepted")
        receiver.stop()  # the webhook goes down: alerts pile up in the spool
        wait_until(lambda: sent[0] >= 100, 20, "100 events accepted")
        proc.kill9()  # crash with undelivered alerts spooled
        proc.start(wait=False)
        wait_until(lambda: sent[0] >= 160, 30, "160 events accepted after the restart")
        receiver.start()  # the webhook is back on the same port
        thread.join(30)
        assert sent[0] == total
        wait_until(lambda: len(set(cmdline_ids(receiver.snapshot()))) >= total, 30, "every alert delivered")
        assert proc.stop() == 0
        log = proc.log_text()
    receiver.stop()
    ids = cmdline_ids(receiver.snapshot())
    assert set(ids) == set(range(total))  # none lost
    duplicates = len(ids) - total
    by_key = Counter(receiver.ids)
    print(f"kill -9 test: {total} alerts, {duplicates} duplicates delivered "
          f"({sum(c - 1 for c in by_key.values() if c > 1)} with the same alert id), {attempts[0] - total} client resends")
    assert duplicates >= 0
    assert "all spooled alerts delivered to every output" in log
    assert "Traceback" not in log


def test_twenty_reloads_under_load(tmp_path: Path) -> None:
    rules = tmp_path / "rules.yaml"
    rules.write_text(reload_rules("Reload A"))
    receiver = Receiver().start()
    config = {
        "rules_files": [str(rules)],
        "http_output": {"enabled": True, "url": receiver.url},
        "delivery": {"internal_alert_interval": 0.001},
    }
    accepted: list[int] = []
    stop = threading.Event()
    with sidecar(tmp_path, config) as proc:
        proc.start()

        def client() -> None:
            n = 0
            while not stop.is_set():
                event = {"evt.type": "execve", "proc.name": "reloadtest", "proc.cmdline": f"reload-{n}"}
                status, _ = post(proc.base_url + "/", event)
                assert status == 200
                accepted.append(n)
                n += 1

        def reloads() -> float:
            metrics = proc.metrics()
            return sum(metrics.get(f'detector_rules_reloads_total{{result="{r}"}}', 0) for r in ("ok", "failed"))

        thread = threading.Thread(target=client, daemon=True)
        thread.start()
        for step in range(20):
            broken = step % 2 == 1
            rules.write_text(BROKEN_RULES if broken else reload_rules("Reload B" if step % 4 == 0 else "Reload A"))
            proc.signal(signal.SIGHUP)
            wait_until(lambda: reloads() >= step + 1, 15, f"reload {step + 1}")  # noqa: B023 - read now
            time.sleep(0.05)  # let events flow under this rule set
        stop.set()
        thread.join(10)
        wait_until(lambda: len(cmdline_ids(receiver.snapshot())) >= len(accepted), 15, "all alerts delivered")
        metrics = proc.metrics()
        assert proc.stop() == 0
    receiver.stop()
    alerts = receiver.snapshot()
    user = [a for a in alerts if a["source"] != "internal"]
    per_event = Counter(int(a["output_fields"]["proc.cmdline"].rsplit("-", 1)[1]) for a in user)
    assert len(accepted) > 20
    assert set(per_event) == set(accepted) and set(per_event.values()) == {1}  # each event evaluated exactly once
    assert {a["rule"] for a in user} <= {"Reload A", "Reload B"}  # a broken set never ran
    failures = [a for a in alerts if a["source"] == "internal"]
    assert len(failures) == 10 and all(a["priority"] == "Critical" for a in failures)
    assert metrics["detector_rules_reload_failures_total"] == 10
    assert metrics["detector_rules_generation"] == 11
    assert metrics["detector_events_evaluated_total"] == len(accepted)


def test_grpc_tcp_requires_mtls(tmp_path: Path) -> None:
    (tmp_path / "rules.yaml").write_text(SHELL_RULE)
    rules = str(tmp_path / "rules.yaml")
    # (A TCP address without the certificates is refused at configuration time: test_sidecar_config.)
    certs = make_certs(tmp_path)
    port = free_port()
    config = {
        "rules_files": [rules],
        "grpc": {"enabled": True, "bind_address": f"127.0.0.1:{port}", "private_key": str(certs["server.key"]),
                 "cert_chain": str(certs["server.crt"]), "root_certs": str(certs["ca.crt"])},
        "grpc_output": {"enabled": True},
    }
    with sidecar(tmp_path, config) as proc:
        proc.start()
        good = grpc.ssl_channel_credentials(certs["ca.crt"].read_bytes(), certs["client.key"].read_bytes(),
                                            certs["client.crt"].read_bytes())
        with grpc.secure_channel(f"127.0.0.1:{port}", good) as channel:
            assert version_pb2_grpc.serviceStub(channel).version(version_pb2.request(), timeout=10).version
        no_client_cert = grpc.ssl_channel_credentials(certs["ca.crt"].read_bytes())
        with grpc.secure_channel(f"127.0.0.1:{port}", no_client_cert) as channel, pytest.raises(grpc.RpcError):
            version_pb2_grpc.serviceStub(channel).version(version_pb2.request(), timeout=2)
        with grpc.insecure_channel(f"127.0.0.1:{port}") as channel, pytest.raises(grpc.RpcError):
            version_pb2_grpc.serviceStub(channel).version(version_pb2.request(), timeout=2)
        assert proc.stop() == 0


def test_sigterm_logs_what_is_undelivered_and_the_next_start_delivers_it(tmp_path: Path) -> None:
    (tmp_path / "rules.yaml").write_text(SHELL_RULE)
    receiver = Receiver()  # not started: the webhook is down
    config = {
        "rules_files": [str(tmp_path / "rules.yaml")],
        "http_output": {"enabled": True, "url": receiver.url, "backoff_initial": 0.05, "backoff_max": 0.2},
        "file_output": {"enabled": True, "filename": str(tmp_path / "alerts.jsonl")},
        "delivery": {"drain_timeout": 0.5},
    }
    with sidecar(tmp_path, config) as proc:
        proc.start()
        for n in range(5):
            assert post(proc.base_url + "/", falco_alert(n))[0] == 200
        wait_until(lambda: proc.metric('detector_output_queued{output="file"}') == 0, 10, "the file output")
        assert proc.stop() == 0
        assert "output http: 5 alerts undelivered at shutdown (spool ids 1-5)" in proc.log_text()
        assert len((tmp_path / "alerts.jsonl").read_bytes().splitlines()) == 5  # the file output was not held back
        receiver.start()
        proc.start()
        wait_until(lambda: receiver.count() >= 5, 10, "the spooled alerts after the restart")
        assert sorted(cmdline_ids(receiver.snapshot())) == list(range(5))
        assert proc.stop() == 0
    receiver.stop()
    assert len((tmp_path / "alerts.jsonl").read_bytes().splitlines()) == 5  # no second copy for the file output
