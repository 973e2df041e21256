"""The benchmark workload generator: deterministic, valid events, the alerting share it promises."""

from __future__ import annotations

import gzip
import io
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

import orjson
import pytest

from benchmarks import gen_k8saudit, gen_syscall
from benchmarks.generate import WorkloadSpec, labeled_events, write_workload
from benchmarks.peer_conditions import CONDITIONS, SCENARIO_OF
from tests.shared import PROJECT_ROOT, shared_dir

GENERATE = PROJECT_ROOT / "benchmarks" / "generate.py"
FIELD_NAME = re.compile(r"^[a-z0-9]+(\.[a-z0-9_]+)+(\[\d+\])?$")


def _bytes(spec: WorkloadSpec) -> bytes:
    buffer = io.BytesIO()
    write_workload(spec, buffer)
    return buffer.getvalue()


def _known_fields() -> set[str]:
    """Field names of the real exports and of the upstream rules, when the shared material is there."""
    base = shared_dir()
    if base is None:
        return set()
    known = set((base / "data" / "events" / "FIELDS.txt").read_text().split())
    for line in (base / "reference" / "fields.tsv").read_text().splitlines():
        if line and not line.startswith(("#", "field\t")):
            known.add(line.split("\t", 1)[0])
    return known


def test_same_spec_same_bytes_and_seed_matters() -> None:
    spec = WorkloadSpec(events=3000, seed=11, alert_share=0.05, k8s_share=0.2)
    first = _bytes(spec)
    assert first == _bytes(spec)
    assert first != _bytes(WorkloadSpec(events=3000, seed=12, alert_share=0.05, k8s_share=0.2))
    assert first.count(b"\n") == 3000


def test_syscall_events_are_flat_falco_field_maps() -> None:
    known = _known_fields()
    previous_num = previous_time = 0
    types: Counter[str] = Counter()
    for _, event in gen_syscall.SyscallGenerator(5, 0.05).labeled(5000):
        assert isinstance(event["evt.num"], int) and event["evt.num"] == previous_num + 1
        assert isinstance(event["evt.time"], int) and event["evt.time"] > previous_time
        previous_num, previous_time = event["evt.num"], event["evt.time"]
        assert event["evt.dir"] == "<"
        assert isinstance(event["proc.name"], str) and event["proc.name"]
        assert isinstance(event["container.id"], str)
        for key, value in event.items():
            assert FIELD_NAME.match(key), key
            assert value is None or isinstance(value, str | int | bool), (key, value)
            if known and not key.startswith("evt.arg."):
                assert key in known, f"{key} is neither in the real exports nor in the upstream rules"
        if event["container.id"] != "host":
            assert event["container.image.repository"] and event["k8s.ns.name"]
        types[str(event["evt.type"])] += 1
    for family in ("openat", "read", "execve", "connect", "clone", "mount", "umount2", "setns", "unshare"):
        assert types[family] > 0, family
    assert types["accept"] + types["accept4"] > 0


def test_open_events_fit_the_upstream_macros() -> None:
    # open_read / open_write read evt.is_open_*, fd.typechar and fd.num; a failed open has fd.num -1.
    for _, event in gen_syscall.SyscallGenerator(9, 0.0).labeled(3000):
        if event["evt.type"] not in ("open", "openat", "openat2"):
            continue
        assert event["fd.typechar"] == "f"
        assert event["evt.is_open_read"] is not event["evt.is_open_write"]
        if event["evt.failed"]:
            assert event["fd.num"] == -1 and str(event["evt.res"]).startswith("E")
        else:
            assert isinstance(event["fd.num"], int) and event["fd.num"] >= 0
            assert event["fd.name"] == f"{str(event['fd.directory']).rstrip('/')}/{event['fd.filename']}"


def test_event_size_is_that_of_falco_output_fields() -> None:
    lines = _bytes(WorkloadSpec(events=2000, seed=3)).splitlines()
    mean_bytes = sum(map(len, lines)) / len(lines)
    mean_fields = sum(len(orjson.loads(line)) for line in lines) / len(lines)
    assert 600 <= mean_bytes <= 1400
    assert 30 <= mean_fields <= 50


def test_k8s_audit_events_are_native_audit_objects() -> None:
    ids = set()
    seen: Counter[str] = Counter()
    for scenario, event in gen_k8saudit.K8sAuditGenerator(4, 0.3).labeled(1500):
        assert event["kind"] == "Event" and event["apiVersion"] == "audit.k8s.io/v1"
        assert event["verb"] in ("create", "get", "list", "watch", "update")
        assert isinstance(event["objectRef"], dict) and event["objectRef"]["resource"]
        assert event["stage"] in ("ResponseComplete", "ResponseStarted")
        assert isinstance(event["user"], dict) and event["user"]["username"]
        ids.add(event["auditID"])
        seen[scenario] += 1
    assert len(ids) == 1500
    assert set(gen_k8saudit.SCENARIOS) <= set(seen)


def test_k8s_scenarios_carry_what_the_audit_rules_read() -> None:
    generator = gen_k8saudit.K8sAuditGenerator(1, 1.0)
    for scenario, event in generator.labeled(400):
        if scenario == "privileged_pod":
            assert event["requestObject"]["spec"]["containers"][0]["securityContext"]["privileged"] is True  # type: ignore[index]
        elif scenario == "host_network_pod":
            assert event["requestObject"]["spec"]["hostNetwork"] is True  # type: ignore[index]
        elif scenario in ("exec_pod", "attach_pod"):
            assert event["stage"] == "ResponseStarted"
            assert event["objectRef"]["subresource"] == scenario.split("_")[0]  # type: ignore[index]
        elif scenario == "cluster_admin_binding":
            assert event["requestObject"]["roleRef"]["name"] == "cluster-admin"  # type: ignore[index]


@pytest.mark.parametrize("share", [0.0, 0.05, 1.0])
def test_alert_share_is_honoured(share: float) -> None:
    labels = Counter(scenario for _, scenario, _ in labeled_events(WorkloadSpec(events=20000, seed=2, alert_share=share)))
    built = 20000 - labels["benign"]
    if share in (0.0, 1.0):
        assert built == share * 20000
    else:
        assert abs(built - share * 20000) < 5 * (20000 * share * (1 - share)) ** 0.5  # five sigma


def test_k8s_share_mixes_sources() -> None:
    sources = Counter(source for source, _, _ in labeled_events(WorkloadSpec(events=4000, seed=2, k8s_share=0.25)))
    assert 800 < sources["k8s_audit"] < 1200
    assert sources["syscall"] == 4000 - sources["k8s_audit"]


def test_each_scenario_satisfies_its_condition_and_benign_events_none() -> None:
    by_name = {c.name: c.python for c in CONDITIONS}
    hits: Counter[str] = Counter()
    for scenario, event in gen_syscall.SyscallGenerator(21, 0.2).labeled(20000):
        matched = {name for name, predicate in by_name.items() if predicate(event)}
        if scenario == "benign":
            assert not matched, (matched, event)
            continue
        for name, wanted in SCENARIO_OF.items():
            if scenario == wanted:
                assert name in matched, (name, event)
                hits[name] += 1
    assert set(hits) == set(SCENARIO_OF)


def test_cli_writes_gzip_and_rejects_bad_arguments(tmp_path: Path) -> None:
    out = tmp_path / "w.jsonl.gz"
    done = subprocess.run([sys.executable, str(GENERATE), "--events", "200", "--seed", "4", "-o", str(out)],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    lines = gzip.decompress(out.read_bytes()).splitlines()
    assert len(lines) == 200 and all(orjson.loads(line)["evt.type"] for line in lines)
    bad = subprocess.run([sys.executable, str(GENERATE), "--events", "5", "--alert-share", "2"],
                         capture_output=True, text=True, timeout=120)
    assert bad.returncode == 2
    assert "--alert-share" in bad.stderr and "Traceback" not in bad.stderr
