"""The field registry: resolution, argument rules, types, extraction and the derived fields."""

from __future__ import annotations

import csv
import ipaddress
from dataclasses import dataclass
from typing import Any

import pytest

from detector.errors import ConditionCompileError, UnknownFieldError
from detector.fields import FieldArgumentError, FieldType, fields_for, lookup
from detector.fields.k8s_source import source_from_specs
from detector.fields.registry import FieldSource
from tests.shared import shared_path

# -- resolution --------------------------------------------------------------------------------


def test_plain_field_binds_to_its_key() -> None:
    bound = lookup("syscall", "proc.name")
    assert bound.key == "proc.name"
    assert bound.type is FieldType.CHARBUF
    assert bound.extract({"proc.name": "bash"}) == "bash"
    assert bound.extract({}) is None
    assert bound.extract({"proc.name": None}) is None


def test_longest_prefix_gives_name_arguments() -> None:
    bound = lookup("syscall", "evt.arg.flags")
    assert (bound.info.name, bound.arg, bound.key) == ("evt.arg", "flags", "evt.arg.flags")
    assert bound.extract({"evt.arg.flags": "O_RDONLY"}) == "O_RDONLY"
    cgroup = lookup("syscall", "thread.cgroup.cpu")
    assert (cgroup.info.name, cgroup.arg) == ("thread.cgroup", "cpu")
    # evt.args is its own field, not evt.arg with argument "s"
    assert lookup("syscall", "evt.args").info.name == "evt.args"


def test_bracket_arguments_are_part_of_the_key() -> None:
    assert lookup("syscall", "proc.aname", "2").key == "proc.aname[2]"
    assert lookup("syscall", "evt.arg", "0").key == "evt.arg[0]"
    dest = lookup("syscall", "container.mount.dest", "/var/run/docker.sock")
    assert dest.key == "container.mount.dest[/var/run/docker.sock]"


@pytest.mark.parametrize(
    ("name", "arg", "message"),
    [
        ("proc.nme", None, "filter_check called with nonexistent field proc.nme"),
        ("foo.bar", None, "filter_check called with nonexistent field foo.bar"),
        ("proc.name", "1", "filter_check called with nonexistent field proc.name[1]"),
        ("proc.aname.x", None, "filter_check called with nonexistent field proc.aname.x"),
    ],
)
def test_unknown_fields_use_falcos_message(name: str, arg: str | None, message: str) -> None:
    with pytest.raises(UnknownFieldError) as info:
        lookup("syscall", name, arg)
    assert str(info.value) == message
    assert isinstance(info.value, ConditionCompileError)


@pytest.mark.parametrize(
    ("name", "arg", "message"),
    [
        ("evt.arg", None, "filter 'evt.arg': evt.arg requires an argument but none provided"),
        ("evt.arg.nosuchparam", None, "unknown event argument nosuchparam"),
        ("evt.rawarg", "0", "evt.arg fields must be expressed explicitly"),
        ("proc.aname", "x", "invalid number x"),
        ("container.mount.dest", None, "filter 'container.mount.dest': container.mount.dest requires an argument but none provided"),
    ],
)
def test_argument_rules(name: str, arg: str | None, message: str) -> None:
    with pytest.raises(FieldArgumentError) as info:
        lookup("syscall", name, arg)
    assert str(info.value) == message


def test_unknown_source_is_an_error() -> None:
    with pytest.raises(ConditionCompileError):
        lookup("nosuchsource", "proc.name")


# -- coercion ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "raw", "expected"),
    [
        ("user.uid", -1, 4294967295),
        ("user.uid", "4294967295", 4294967295),
        ("user.uid", "-1", 4294967295),
        ("user.loginuid", -1, -1),
        ("fd.num", "-1", -1),
        ("evt.cpu", 65535, -1),
        ("proc.pid", "not a number", None),
        ("fd.dev", "55E2", 0x55E2),
        ("evt.failed", True, True),
        ("evt.failed", "false", False),
        ("evt.failed", 1, True),
        ("proc.name", "<NA>", "<NA>"),
        ("proc.name", 42, "42"),
        ("evt.arg.res", 0, "0"),
        ("evt.buffer", "GET /", b"GET /"),
        ("evt.buffer", {"bytes_hex": "610062"}, b"a\x00b"),
        ("fd.sip", "::1", ipaddress.IPv6Address("::1")),
        ("fd.sip", "1.2.3.4", ipaddress.IPv4Address("1.2.3.4")),
        ("fd.sip", "garbage", None),
    ],
)
def test_values_are_typed_by_width_and_signedness(name: str, raw: Any, expected: Any) -> None:
    assert lookup("syscall", name).extract({name: raw}) == expected


def test_rawarg_takes_the_type_of_the_first_event_parameter() -> None:
    res = lookup("syscall", "evt.rawarg.res")
    assert res.type is FieldType.ERRNO
    assert res.extract({"evt.rawarg.res": "-22"}) == -22
    size = lookup("syscall", "evt.rawarg.size")
    assert size.type is FieldType.UINT32
    assert size.extract({"evt.rawarg.size": -22}) == 2**32 - 22


def test_list_fields_extract_tuples() -> None:
    bound = lookup("syscall", "fd.types")
    assert bound.is_list
    assert bound.extract({"fd.types": ["ipv4", "file"]}) == ("ipv4", "file")


# -- derived fields ----------------------------------------------------------------------------


def test_unindexed_ancestors_scan_every_level_the_event_carries() -> None:
    bound = lookup("syscall", "proc.aname")
    assert bound.multi == "any"
    event = {"proc.aname[0]": "self", "proc.aname[1]": "sh", "proc.aname[2]": "bash", "proc.aname[4]": "x"}
    # level 0 is the process itself; the chain ends at the first missing level
    assert bound.extract(event) == ("sh", "bash")
    assert bound.extract({"proc.aname[0]": "self"}) is None
    pids = lookup("syscall", "proc.apid").extract({"proc.apid[1]": 10, "proc.apid[2]": "1"})
    assert pids == (10, 1)


def test_socket_fields_see_both_endpoints() -> None:
    event = {"fd.cip": "10.0.0.1", "fd.sip": "10.0.0.2", "fd.cport": 40000, "fd.sport": "443"}
    ip = lookup("syscall", "fd.ip")
    assert ip.multi == "socket"
    assert ip.extract(event) == (ipaddress.IPv4Address("10.0.0.1"), ipaddress.IPv4Address("10.0.0.2"))
    assert lookup("syscall", "fd.port").extract(event) == (40000, 443)
    assert lookup("syscall", "fd.net").extract({}) is None
    assert lookup("syscall", "fd.snet").extract(event) == ipaddress.IPv4Address("10.0.0.2")
    assert lookup("syscall", "fd.cproto").extract(event) == "40000"
    assert lookup("syscall", "fd.sproto").extract({**event, "fd.sproto": "https"}) == "https"


def test_filter_only_flags() -> None:
    for name in ("fd.ip", "fd.port", "fd.net", "fd.snet", "fd.cnet", "fd.lnet", "fd.rnet", "fd.proto"):
        info = fields_for("syscall")[name]
        assert info.filter_only and info.no_rhs and info.no_transformer, name


def test_evt_source_defaults_to_syscall_and_times_render_as_text() -> None:
    assert lookup("syscall", "evt.source").extract({}) == "syscall"
    rendered = lookup("syscall", "evt.time").extract({"evt.time": 1470327477881730713})
    assert isinstance(rendered, str) and rendered.endswith(".881730713")
    assert lookup("syscall", "evt.rawtime").extract({"evt.rawtime": 1470327477881730713}) == 1470327477881730713


# -- coverage of the reference field lists -----------------------------------------------------

_TSV_TYPES = {
    "charbuf": FieldType.CHARBUF, "uint32": FieldType.UINT32, "int64": FieldType.INT64,
    "uint64": FieldType.UINT64, "bool": FieldType.BOOL, "port": FieldType.PORT,
    "ipaddr": FieldType.IPADDR, "ipnet": FieldType.IPNET, "bytebuf": FieldType.BYTEBUF,
    "reltime": FieldType.RELTIME, "abstime": FieldType.ABSTIME,
}


def _split_written(text: str) -> tuple[str, str | None]:
    if text.endswith("]") and "[" in text:
        name, _, arg = text[:-1].partition("[")
        return name, arg
    return text, None


def test_every_field_the_upstream_rules_use_resolves_with_its_type() -> None:
    path = shared_path("reference", "fields.tsv")
    rows = [line for line in path.read_text().splitlines() if line and not line.startswith("#")]
    reader = csv.DictReader(rows, delimiter="\t")
    checked = 0
    for row in reader:
        name, arg = _split_written(row["field"])
        bound = lookup("syscall", name, arg)
        expected = _TSV_TYPES.get(row["type"])
        if expected is not None:
            assert bound.type is expected, row["field"]
        flags = row["libsinsp_flags"]
        if "EPF_FILTER_ONLY" in flags:
            assert bound.info.filter_only, row["field"]
        if "EPF_NO_RHS" in flags:
            assert bound.info.no_rhs, row["field"]
        checked += 1
    assert checked > 100


def test_every_exported_field_resolves() -> None:
    path = shared_path("data", "events", "FIELDS.txt")
    names = [line.strip() for line in path.read_text().splitlines() if line.strip()]
    assert len(names) == 175
    for written in names:
        name, arg = _split_written(written)
        assert lookup("syscall", name, arg).key == written


# -- k8s_audit and custom sources --------------------------------------------------------------


@dataclass(frozen=True)
class _Spec:
    name: str
    type: str
    is_list: bool
    arg: str
    extract: Any
    description: str


def test_spec_sources_bind_extractors_and_types() -> None:
    specs = {
        "x.verb": _Spec("x.verb", "string", False, "none", lambda e, a: e.get("verb"), "verb"),
        "x.code": _Spec("x.code", "uint64", False, "none", lambda e, a: e.get("code"), "code"),
        "x.groups": _Spec("x.groups", "string", True, "none", lambda e, a: e.get("groups"), "groups"),
        "x.label": _Spec("x.label", "string", False, "required", lambda e, a: e.get("labels", {}).get(a), "l"),
    }
    source = source_from_specs("mini", specs)
    event = {"verb": "create", "code": "201", "groups": ["a", "b"], "labels": {"app": "web"}}
    assert lookup(source, "x.verb").extract(event) == "create"
    assert lookup(source, "x.code").extract(event) == 201
    assert lookup(source, "x.groups").extract(event) == ("a", "b")
    assert lookup(source, "x.label", "app").extract(event) == "web"
    with pytest.raises(FieldArgumentError):
        lookup(source, "x.label")


def test_k8s_audit_source_has_the_plugin_fields() -> None:
    fields = fields_for("k8s_audit")
    if not fields:
        pytest.skip("detector.fields.k8saudit is not available")
    assert "ka.verb" in fields and "ka.user.name" in fields and "jevt.value" in fields
    verb = lookup("k8s_audit", "ka.verb")
    assert verb.extract({"auditID": "1", "verb": "create"}) == "create"


def test_sources_extend_a_base() -> None:
    base = fields_for("syscall")
    from detector.fields.registry import FieldInfo, get_source

    mock = FieldSource("mock", {"c.true": FieldInfo("c.true", FieldType.CHARBUF)}, base=get_source("syscall"))
    assert len(mock.fields) == len(base) + 1
    assert lookup(mock, "proc.aname").multi == "any"
    assert lookup(mock, "c.true").extract({"c.true": "1"}) == "1"
