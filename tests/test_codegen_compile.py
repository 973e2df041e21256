"""compile_expr / compile_condition: the generated code, event types, warnings and error locations."""

from __future__ import annotations

import gzip
import json

import pytest

import detector
from detector.codegen import compile_condition, compile_expr, evttypes, interpret
from detector.codegen.evttypes import ALL
from detector.errors import ConditionCompileError, UnknownFieldError
from detector.fields.registry import fields_for
from detector.language import parse
from tests.shared import shared_path


def test_public_api_compiles_and_matches() -> None:
    cond = detector.compile_condition("evt.type = execve and proc.name in (bash, sh)")
    assert cond.matches({"evt.type": "execve", "proc.name": "bash"})
    assert not cond.matches({"evt.type": "execve", "proc.name": "zsh"})
    assert not cond.matches({})
    assert cond.evttypes == frozenset({"execve"})
    assert "def _match(ev):" in cond.python_source
    assert set(cond.fields) == {"evt.type", "proc.name"}
    assert "Condition" in detector.__all__ and "compile_condition" in detector.__all__


def test_absent_fields_make_every_comparison_false() -> None:
    for text in ("fd.name = x", "fd.name != x", "fd.name exists", "fd.name in (x)", "fd.num < 5",
                 "fd.sip != 1.2.3.4", "proc.aname != bash", "fd.port != 80", "fd.net != 10.0.0.0/8"):
        cond = compile_condition(text)
        assert cond.matches({"proc.name": "bash"}) is False, text
    assert compile_condition("not fd.name = x").matches({}) is True


def test_each_field_is_read_once_per_evaluation() -> None:
    class Counting(dict[str, object]):
        reads: dict[str, int]

        def get(self, key: str, default: object = None) -> object:
            self.reads[key] = self.reads.get(key, 0) + 1
            return super().get(key, default)

    cond = compile_condition(
        "(proc.name = a or proc.name = b or (fd.name = x and proc.name = c)) and not proc.name = d "
        "and (fd.name startswith /etc or proc.name contains a)"
    )
    event = Counting({"proc.name": "a", "fd.name": "/etc/x"})
    event.reads = {}
    assert cond.matches(event)
    assert event.reads == {"proc.name": 1, "fd.name": 1}


def test_constants_are_bound_not_rebuilt() -> None:
    cond = compile_condition("proc.name in (a, b, c) and fd.name startswith /etc and fd.name glob '*.conf'")
    source = cond.python_source
    assert "frozenset({" in source  # shown in the constant notes
    assert "in K" in source and ".startswith(K" in source


def test_modifier_codegen_matches_the_definition() -> None:
    cases = {
        "proc.name == oneof (a, a)": {"a": False, "b": False},
        "proc.name != oneof (a, a, b)": {"a": True, "b": False, "c": False},
        "proc.name startswith allof (a, ab)": {"abc": True, "a": False},
        "proc.name glob oneof ('a*', '*c', 'x', 'y', 'z')": {"abc": False, "ab": True, "zc": True},
        "proc.name contains anyof (q, r, s, t, u, v)": {"xux": True, "abc": False},
        "proc.name != allof ()": {"a": False},
    }
    for text, expectations in cases.items():
        cond = compile_condition(text)
        for value, expected in expectations.items():
            event = {"proc.name": value}
            assert cond.matches(event) is expected, (text, value)
            assert interpret(cond.expr, event) is expected, (text, value)


def test_field_comparisons_and_transformers() -> None:
    cond = compile_condition("proc.name = val(proc.pname) and toupper(fd.name) endswith .CONF")
    assert cond.matches({"proc.name": "sh", "proc.pname": "sh", "fd.name": "/etc/a.conf"})
    assert not cond.matches({"proc.name": "sh", "fd.name": "/etc/a.conf"})
    joined = compile_condition('join(",", (proc.name, fd.name)) = "sh,/x"')
    assert joined.matches({"proc.name": "sh", "fd.name": "/x"})
    assert not joined.matches({"proc.name": "sh"})


def test_evttypes() -> None:
    assert compile_condition("proc.name = bash").evttypes is None
    assert compile_condition("evt.type in (open, openat) or evt.type = close").evttypes == {"open", "openat", "close"}
    not_open = compile_condition("evt.type != open and proc.name = x").evttypes
    assert not_open is not None and "open" not in not_open and "execve" in not_open
    assert compile_condition("evt.type = open and evt.type = close").evttypes == frozenset()
    assert evttypes(parse("evt.type exists")) is None
    assert evttypes(parse("not evt.type exists")) == frozenset()
    assert compile_expr(parse("evt.num = 0")).evttypes == frozenset()
    assert len(ALL) > 400


def test_warnings() -> None:
    assert compile_condition("proc.name = proc.pname").warnings == (
        "'proc.pname' may be a valid field misused as a const string value",
    )
    assert compile_condition("proc.name = 'toupper( proc.pname)'").warnings == (
        "'toupper( proc.pname)' may be a valid field transformer misused as a const string value",
    )
    assert compile_condition("proc.name regex '^bash$'").warnings[0].startswith("regex check with '^bash$'")
    assert compile_condition("proc.name = bash").warnings == ()


def test_errors_point_at_the_offending_node() -> None:
    text = "proc.name = bash and\n  fd.nope = 3"
    with pytest.raises(UnknownFieldError) as info:
        compile_condition(text)
    err = info.value
    assert str(err) == "filter_check called with nonexistent field fd.nope"
    assert (err.line, err.column) == (2, 3)
    assert err.snippet.endswith("  fd.nope = 3\n  ^")
    with pytest.raises(ConditionCompileError) as info2:
        compile_condition("proc.name = a and evt.num = abc")
    assert info2.value.offset == len("proc.name = a and evt.num = ")
    assert str(info2.value) == "invalid number abc"


def test_lists_and_macros() -> None:
    cond = compile_condition(
        "spawned and proc.name in (shells) and not trusted",
        lists={"shells": ["bash", "sh"], "trusted_dirs": ["/usr/bin"]},
        macros={"spawned": "evt.type = execve", "trusted": "proc.exepath pmatch (trusted_dirs)"},
    )
    assert cond.matches({"evt.type": "execve", "proc.name": "sh", "proc.exepath": "/tmp/sh"})
    assert not cond.matches({"evt.type": "execve", "proc.name": "sh", "proc.exepath": "/usr/bin/sh"})
    assert not cond.matches({"evt.type": "open", "proc.name": "sh"})
    assert cond.evttypes == frozenset({"execve"})
    with pytest.raises(ConditionCompileError, match="Undefined macro 'nope'"):
        compile_condition("nope and proc.name = x")


def test_python_source_is_printable_and_recompiles() -> None:
    cond = compile_condition("fd.ip = 10.0.0.1 or proc.aname in (bash) or evt.buffer bcontains 6162")
    compile(cond.python_source, "<check>", "exec")
    assert "def _match(ev):" in cond.python_source


def test_k8s_audit_conditions_on_real_audit_events() -> None:
    if "ka.verb" not in fields_for("k8s_audit"):
        pytest.skip("k8s_audit fields not available")
    base = shared_path("data", "k8saudit")
    events = []
    for path in sorted(base.glob("*.json")):
        for line in path.read_text().splitlines():
            if line.strip():
                events.append(json.loads(line))
    assert events
    cond = compile_condition("ka.verb in (create, update, patch) and ka.target.resource = configmaps",
                             source="k8s_audit")
    assert cond.evttypes is None
    expected = [e.get("verb") in ("create", "update", "patch") and e.get("objectRef", {}).get("resource") == "configmaps"
                for e in events]
    got = [cond.matches(e) for e in events]
    assert got == expected and any(got)


def test_compile_is_total_on_the_exported_events() -> None:
    # Every field the exports carry, compared with a literal of its type, never raises on real data.
    path = shared_path("data", "events", "sample.jsonl.gz")
    with gzip.open(path, "rt") as fh:
        events = [json.loads(line) for line in fh]
    cond = compile_condition(
        "proc.pid > 0 or fd.num >= 0 or evt.buflen > 0 or user.uid = 0 or fd.dev != 0 "
        "or proc.vmrss > 0 or fd.l4proto exists or thread.cgroup.cpu exists"
    )
    assert sum(cond.matches(e) for e in events) > 0
