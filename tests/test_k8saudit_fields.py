"""The k8s_audit field table: coverage of the plugin's fields and extraction from audit events."""

from __future__ import annotations

import csv
import re
from pathlib import Path
from typing import Any

import orjson
import pytest

from detector.fields.k8saudit import K8S_AUDIT_FIELDS, event_time_ns, json_pointer
from tests.shared import shared_dir, shared_path


def extract(name: str, event: Any, arg: str | None = None) -> Any:
    return K8S_AUDIT_FIELDS[name].extract(event, arg)


def load_trace(name: str) -> list[dict[str, Any]]:
    path = shared_path("data", "k8saudit", name)
    return [orjson.loads(line) for line in path.read_bytes().splitlines() if line.strip()]


def _trace_files() -> list[Path]:
    base = shared_dir()
    if base is None:
        return []
    return sorted((base / "data" / "k8saudit").glob("*.json"))


def _rule_fields() -> list[str]:
    base = shared_dir()
    if base is None:
        return []
    found: set[str] = set()
    for rel in ("falco/rules/k8s_audit_rules.yaml", "conformance/k8saudit_rules_for_expected.yaml"):
        path = base / rel
        if path.exists():
            found.update(re.findall(r"%?((?:ka|jevt)\.[A-Za-z0-9_.]*[A-Za-z0-9_](?:\[[^\]]*\])?)", path.read_text()))
    return sorted(found)


# --- the table ------------------------------------------------------------------------------------


def test_every_plugin_field_is_in_the_table_with_its_shape() -> None:
    rows = list(csv.DictReader(shared_path("reference", "ka_fields.tsv").open(), delimiter="\t"))
    assert len(rows) == 100
    for row in rows:
        spec = K8S_AUDIT_FIELDS[row["name"]]
        assert spec.is_list == ("(list)" in row["type"]), row["name"]
        expected_arg = "none" if row["arg"] == "None" else "required" if "Required" in row["arg"] else "allowed"
        assert spec.arg == expected_arg, row["name"]
        assert spec.arg_kind == ("index" if "Index" in row["arg"] else "key" if "Key" in row["arg"] else "")
        assert spec.type == "string"
    extra = {n for n in K8S_AUDIT_FIELDS if n.startswith("ka.")} - {r["name"] for r in rows}
    assert extra == set()


@pytest.mark.parametrize("written", _rule_fields() or ["<no shared material>"])
def test_fields_used_by_the_k8s_rules_are_known(written: str) -> None:
    if written == "<no shared material>":
        pytest.skip("shared material absent")
    from detector.fields.registry import lookup

    name, _, arg = written.partition("[")
    if name not in K8S_AUDIT_FIELDS and name.rsplit(".", 1)[0] in K8S_AUDIT_FIELDS:
        pytest.skip(f"{written} is not a field (text inside an output)")
    bound = lookup("k8s_audit", name, arg[:-1] if arg else None)
    assert bound.info.name == name


def test_table_is_read_only() -> None:
    with pytest.raises(TypeError):
        K8S_AUDIT_FIELDS["ka.x"] = K8S_AUDIT_FIELDS["ka.verb"]  # type: ignore[index]


# --- extraction from the real traces -------------------------------------------------------------


@pytest.mark.parametrize("path", _trace_files() or [None], ids=lambda p: p.name if p else "none")
def test_no_field_raises_on_any_trace(path: Path | None) -> None:
    if path is None:
        pytest.skip("shared material absent")
    for line in path.read_bytes().splitlines():
        if not line.strip():
            continue
        event = orjson.loads(line)
        for name, spec in K8S_AUDIT_FIELDS.items():
            args: list[str | None] = [None]
            if spec.arg_kind == "index":
                args += ["0", "1", "7"]
            elif spec.arg_kind == "key":
                args = ["/verb", "command", "/etc*", "x"]
            for arg in args:
                value = spec.extract(event, arg)
                if spec.is_list:
                    assert value is None or (isinstance(value, list) and value and all(isinstance(v, str) for v in value))
                elif value is not None and spec.type == "string":
                    assert isinstance(value, str), (name, value)


def test_privileged_pod_trace() -> None:
    (event,) = load_trace("create_nginx_pod_privileged.json")
    assert extract("ka.user.name", event) == "system:serviceaccount:kube-system:replicaset-controller"
    assert extract("ka.verb", event) == "create"
    assert extract("ka.target.resource", event) == "pods"
    assert extract("ka.target.namespace", event) == "default"
    assert extract("ka.target.name", event) is None  # generateName: no objectRef.name yet
    assert extract("ka.resp.name", event) == "nginx-deployment-5cdcc99dbf-rgw6z"
    assert extract("ka.response.code", event) == "201"
    assert extract("ka.req.pod.containers.image", event) == ["nginx"]
    assert extract("ka.req.pod.containers.image.repository", event) == ["nginx"]
    assert extract("ka.req.pod.containers.privileged", event) == ["true"]
    assert extract("ka.req.container.privileged", event) == "true"
    assert extract("ka.req.pod.initContainers.image", event) is None
    assert extract("ka.user.groups", event) == [
        "system:serviceaccounts",
        "system:serviceaccounts:kube-system",
        "system:authenticated",
    ]
    assert extract("ka.sourceips", event) == ["::1"]
    assert extract("ka.sourceips", event, "0") == ["::1"]
    assert extract("ka.sourceips", event, "1") is None


def test_second_container_privileged_and_index_argument() -> None:
    (event,) = load_trace("create_nginx_pod_privileged_2nd_container.json")
    values = extract("ka.req.pod.containers.privileged", event)
    assert values is not None and "true" in values
    images = extract("ka.req.pod.containers.image", event)
    assert images is not None and len(images) == 2
    assert extract("ka.req.pod.containers.image", event, "1") == [images[1]]
    assert extract("ka.req.pod.containers.image", event, "2") is None
    assert extract("ka.req.container.image", event) == images[0]


def test_sensitive_mount_volumes() -> None:
    (event,) = load_trace("create_nginx_pod_sensitive_mount.json")
    assert extract("ka.req.pod.volumes.hostpath", event) == ["/etc"]
    assert extract("ka.req.volume.hostpath", event, "/etc") == "true"
    assert extract("ka.req.volume.hostpath", event, "/e*") == "true"
    assert extract("ka.req.volume.hostpath", event, "/proc*") == "false"
    assert extract("ka.req.pod.volumes.volume_type", event) == ["hostPath"]


def test_role_rules_are_flattened_and_indexed() -> None:
    (event,) = load_trace("create_cluster_role_wildcard_verbs.json")
    rules = event["requestObject"]["rules"]
    verbs = [v for r in rules for v in r.get("verbs", [])]
    assert extract("ka.req.role.rules.verbs", event) == verbs
    assert extract("ka.req.role.rules.verbs", event, "0") == rules[0]["verbs"]
    raw_rules = extract("ka.req.role.rules", event)
    assert [orjson.loads(r) for r in raw_rules] == rules


def test_binding_subjects_are_compact_json() -> None:
    (event,) = load_trace("create_clusterrolebinding.json")
    subjects = extract("ka.req.binding.subjects", event)
    assert [orjson.loads(s) for s in subjects] == event["requestObject"]["subjects"]
    assert all(" " not in s for s in subjects)
    assert extract("ka.req.binding.role", event) == event["requestObject"]["roleRef"]["name"]
    users = [s["name"] for s in event["requestObject"]["subjects"] if s["kind"] == "User"]
    assert extract("ka.req.binding.subjects.user_names", event) == (users or None)


def test_uri_param_and_subresource() -> None:
    (event,) = load_trace("exec_pod.json")
    assert extract("ka.target.subresource", event) == "exec"
    assert extract("ka.uri.param", event, "command") == "bash"
    assert extract("ka.uri.param", event, "container") == "nginx1"
    assert extract("ka.uri.param", event, "nope") is None


def test_configmap_object_is_the_data_as_json() -> None:
    events = load_trace("create_configmap_sensitive_values.json")
    with_data = [e for e in events if "data" in e.get("requestObject", {})]
    assert with_data
    for event in with_data:
        assert orjson.loads(extract("ka.req.configmap.obj", event)) == event["requestObject"]["data"]


def test_service_ports_one_string_per_port() -> None:
    (event,) = load_trace("create_nginx_service_nodeport.json")
    ports = event["requestObject"]["spec"]["ports"]
    assert extract("ka.req.service.type", event) == "NodePort"
    assert [orjson.loads(p) for p in extract("ka.req.service.ports", event)] == ports


def test_fal_01_003_is_not_an_audit_event() -> None:
    (event,) = load_trace("fal_01_003.json")
    assert event == {"kind": 0}
    assert all(spec.extract(event, None) is None for n, spec in K8S_AUDIT_FIELDS.items() if n.startswith("ka."))


# --- semantics on hand-written events ------------------------------------------------------------

POD: dict[str, Any] = {
    "kind": "Event",
    "auditID": "a",
    "stageTimestamp": "2024-01-02T03:04:05.123456789Z",
    "annotations": {"pod-security.kubernetes.io/audit-violations": "privileged"},
    "objectRef": {"resource": "pods", "name": "p1", "namespace": "ns"},
    "requestObject": {
        "spec": {
            "hostNetwork": True,
            "securityContext": {"runAsUser": 1000, "supplementalGroups": [5, 6]},
            "containers": [
                {
                    "name": "a",
                    "image": "registry.example.com:5000/team/app:1.2@sha256:abc",
                    "command": ["sh", "-c"],
                    "ports": [{"containerPort": 80}, {"containerPort": 81, "hostPort": 8081}],
                    "securityContext": {"privileged": False, "runAsUser": 0, "capabilities": {"add": ["NET_ADMIN"]}},
                },
                {"name": "b", "image": "nginx:latest"},
            ],
            "initContainers": [{"name": "i", "image": "busybox", "securityContext": {"privileged": True}}],
            "volumes": [{"name": "v", "hostPath": {"path": "/var/run/docker.sock"}}, {"name": "s", "secret": {}}],
        }
    },
}


def test_lists_skip_containers_without_the_value() -> None:
    assert extract("ka.req.pod.containers.privileged", POD) == ["false"]
    assert extract("ka.req.pod.initContainers.privileged", POD) == ["true"]
    assert extract("ka.req.pod.ephemeralContainers.privileged", POD) is None
    assert extract("ka.req.pod.containers.name", POD) == ["a", "b"]
    assert extract("ka.req.pod.containers.host_port", POD) == ["80", "8081"]
    assert extract("ka.req.pod.containers.host_port", POD, "1") is None


def test_repository_cut_as_the_plugin_does() -> None:
    # The plugin cuts at the first ':' (so a registry port goes too), then at '@'.
    assert extract("ka.req.pod.containers.image.repository", POD) == ["registry.example.com", "nginx"]


def test_effective_ids_fall_back_to_the_pod_then_zero() -> None:
    assert extract("ka.req.pod.containers.eff_run_as_user", POD) == ["0", "1000"]
    assert extract("ka.req.pod.containers.eff_run_as_group", POD) == ["0", "0"]
    assert extract("ka.req.pod.run_as_user", POD) == "1000"
    assert extract("ka.req.pod.supplemental_groups", POD) == ["5", "6"]


def test_non_string_values_are_compact_json() -> None:
    assert extract("ka.req.pod.host_network", POD) == "true"
    assert extract("ka.req.pod.containers.command", POD) == ['["sh","-c"]']
    assert extract("ka.req.pod.containers.add_capabilities", POD) == ['["NET_ADMIN"]']
    assert extract("ka.security.pod.violations", POD) == "privileged"
    assert extract("ka.target.pod.name", POD) == "p1"


def test_absent_and_wrong_types_give_none() -> None:
    event = {"auditID": "x", "user": {"groups": "not-a-list"}, "requestObject": {"spec": {"containers": 3}}}
    assert extract("ka.user.groups", event) is None
    assert extract("ka.user.name", event) is None
    assert extract("ka.req.pod.containers.image", event) is None
    assert extract("ka.req.container.privileged", event) is None
    assert extract("ka.req.pod.containers.image", event, "zz") is None
    assert extract("ka.uri.param", event, "a") is None
    for spec in K8S_AUDIT_FIELDS.values():
        for bad in (None, [], "x", 7, {"auditID": None}):
            spec.extract(bad, None)  # type: ignore[arg-type]


def test_json_pointer() -> None:
    event = {"a/~b": 1, "list": [{"x": "y"}], "n": None, "o": {"k": [1, 2]}}
    assert json_pointer(event, "/a~1~0b") == 1
    assert extract("jevt.value", event, "/a~1~0b") == "1"
    assert extract("jevt.value", event, "/list/0/x") == "y"
    assert extract("json.value", event, "/o") == '{"k":[1,2]}'
    assert extract("jevt.value", event, "/n") == "null"
    assert extract("jevt.value", event, "/list/5") is None
    assert extract("jevt.value", event, "/missing") is None
    assert extract("jevt.value", event, "") is None


def test_time_fields_follow_stage_timestamp() -> None:
    ns = 1704164645123456789
    assert event_time_ns(POD) == ns
    assert extract("jevt.rawtime", POD) == str(ns)
    assert extract("evt.rawtime", POD) == ns
    assert extract("evt.time.iso8601", POD) == "2024-01-02T03:04:05.123456789+0000"
    assert extract("evt.rawtime.ns", POD) == 123456789
    older = {"auditID": "b", "requestReceivedTimestamp": "2024-01-02T03:04:05Z"}
    assert event_time_ns(older) == 1704164645 * 10**9
    assert event_time_ns({"auditID": "c"}) is None


def test_flat_field_maps_from_falco_alerts() -> None:
    flat = {"ka.user.name": "bob", "ka.req.pod.containers.image": ["a", "b"], "evt.time": 5, "jevt.value[/verb]": "get"}
    assert extract("ka.user.name", flat) == "bob"
    assert extract("ka.req.pod.containers.image", flat) == ["a", "b"]
    assert extract("jevt.value", flat, "/verb") == "get"
    assert extract("evt.rawtime", flat) == 5
    assert extract("ka.verb", flat) is None


def test_registry_binds_the_table() -> None:
    from detector.fields.registry import lookup

    assert lookup("k8s_audit", "ka.user.name").extract(POD) is None
    (event,) = load_trace("create_nginx_pod_privileged.json")
    assert lookup("k8s_audit", "ka.verb").extract(event) == "create"
    value = lookup("k8s_audit", "ka.req.pod.containers.image", "0").extract(event)
    assert list(value) == ["nginx"]
