"""Lazily built condition functions: the same function as an eager build, built on first use,
and never a new error at that point (conditions that might fail to compile are built at once)."""

from __future__ import annotations

import pytest

from detector.codegen import compile_expr, interpret
from detector.codegen.condition import LAZY_MAX_NESTING, _compiles_surely
from detector.errors import ConditionCompileError
from detector.language import parse
from detector.loader import codes, load_rules

CONDITIONS = [
    "evt.type = execve and proc.name in (bash, sh) and not proc.pname = sshd",
    "evt.type in (open, openat) and fd.name startswith /etc and (proc.name = cat or proc.cmdline contains shadow)",
    "proc.name glob 'ba*' or proc.name regex 'z[0-9]+' or tolower(proc.pname) = SSHD",
    "fd.net = 10.0.0.0/8 and fd.sport > 1000",
    "not (proc.name exists) or proc.aname[2] = init",
    "(" * 60 + "proc.name = a" + ")" * 60,
    " or ".join(f"(proc.name = n{i} and proc.pid = {i})" for i in range(50)),
]

EVENTS = [
    {"evt.type": "execve", "proc.name": "bash", "proc.pname": "login", "proc.pid": 3},
    {"evt.type": "execve", "proc.name": "sh", "proc.pname": "sshd"},
    {"evt.type": "openat", "fd.name": "/etc/shadow", "proc.name": "cat"},
    {"evt.type": "open", "fd.name": "/etc/passwd", "proc.name": "vi", "proc.cmdline": "vi shadow"},
    {"evt.type": "connect", "fd.sip": "10.1.2.3", "fd.sport": 4000, "proc.name": "z42"},
    {"evt.type": "connect", "fd.sip": "192.168.0.1", "fd.sport": 80, "proc.pname": "sshd"},
    {"proc.name": "n7", "proc.pid": 7},
    {"proc.name": "a", "proc.aname[2]": "init"},
    {},
]


def _nested_transformers(depth: int) -> str:
    return "tolower(" * depth + "proc.name" + ")" * depth + " = x"


@pytest.mark.parametrize("text", CONDITIONS)
def test_lazy_function_is_built_on_first_use_and_matches_like_the_eager_one(text: str) -> None:
    expr = parse(text)
    eager = compile_expr(expr)
    lazy = compile_expr(expr, lazy=True)
    assert eager.built
    assert not lazy.built
    held = lazy.matches  # holding the function builds nothing
    assert not lazy.built
    for event in EVENTS:
        expected = interpret(expr, event)
        assert eager.matches(event) == expected
        assert held(event) == expected
    assert lazy.built
    assert lazy.matches(EVENTS[0]) == eager.matches(EVENTS[0])
    assert lazy.python_source == eager.python_source
    assert lazy.fields == eager.fields
    assert (lazy.evttypes, lazy.warnings, lazy.source) == (eager.evttypes, eager.warnings, eager.source)


def test_source_and_fields_do_not_need_the_function() -> None:
    lazy = compile_expr(parse(CONDITIONS[0]), lazy=True)
    assert "def _match(ev):" in lazy.python_source
    assert "proc.name" in lazy.fields
    assert not lazy.built


def test_conditions_that_may_not_compile_are_built_at_once() -> None:
    assert _compiles_surely(compile_expr(parse(_nested_transformers(10))).checked)  # type: ignore[arg-type]
    deep = parse(_nested_transformers(LAZY_MAX_NESTING + 1))
    assert not _compiles_surely(compile_expr(deep).checked)  # type: ignore[arg-type]
    assert compile_expr(deep, lazy=True).built
    too_deep = parse(_nested_transformers(250))  # more nested parentheses than Python compiles
    for lazy in (False, True):
        with pytest.raises(ConditionCompileError, match="too complex to compile"):
            compile_expr(too_deep, lazy=lazy)


def test_deep_boolean_nesting_stays_lazy_and_compiles() -> None:
    # and/or/not nesting is split into helper functions, so depth there is no reason to build early
    text = "".join(f"(proc.name = a{i} or not " for i in range(150)) + "proc.pid = 1" + ")" * 150
    expr = parse(text)
    lazy = compile_expr(expr, lazy=True)
    assert not lazy.built
    for event in EVENTS:
        assert lazy.matches(event) == interpret(expr, event)


def _rule(condition: str) -> str:
    return (f"- rule: r\n  desc: d\n  condition: {condition}\n  output: o %proc.name\n"
            "  priority: INFO\n")


def test_loaded_rules_build_their_function_on_first_use() -> None:
    result = load_rules(_rule("evt.type = execve and proc.name in (bash, sh)"))
    assert result.ok
    rule = result.ruleset.rules[0]
    assert not rule.compiled.built
    assert rule.matches({"evt.type": "execve", "proc.name": "bash"})
    assert not rule.matches({"evt.type": "execve", "proc.name": "vi"})
    assert rule.compiled.built


def test_a_condition_too_complex_to_compile_is_still_a_load_error() -> None:
    result = load_rules(_rule(_nested_transformers(250)))
    assert not result.ok
    assert [d.code for d in result.errors] == [codes.LOAD_ERR_COMPILE_CONDITION]
    assert "too complex to compile" in result.errors[0].message
