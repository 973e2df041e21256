"""libsinsp's own cases: compile-stage ok/error, evaluation results and event-type sets.

The libsinsp tests use mock ``c.*`` fields and a test plugin's ``sample.*``
fields; they are registered here, on a test-only source extending ``syscall``.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from detector.codegen import compile_expr, interpret
from detector.codegen.evttypes import ALL, evttype_names
from detector.errors import DetectorError
from detector.fields.registry import FieldInfo, FieldSource, get_source
from detector.fields.types import FieldType
from detector.language import parse
from tests.shared import shared_dir

MIN_AGREEMENT = 0.98


def _mock_source() -> FieldSource:
    mocks = {
        "c.true": FieldType.CHARBUF,
        "c.false": FieldType.CHARBUF,
        "c.buffer": FieldType.BYTEBUF,
        "c.doublequote": FieldType.CHARBUF,
        "c.singlequote": FieldType.CHARBUF,
        "sample.is_open": FieldType.UINT64,
        "sample.proc_name": FieldType.CHARBUF,
        "sample.tick": FieldType.CHARBUF,
    }
    fields = {name: FieldInfo(name, ftype) for name, ftype in mocks.items()}
    return FieldSource("libsinsp-test", fields, base=get_source("syscall"))


def _load(name: str) -> Any:
    base = shared_dir()
    if base is None:
        return None
    return json.loads((base / "conformance" / name).read_text())


def _compile_cases() -> list[dict[str, Any]]:
    cases = _load("parser_cases.json") or []
    return [c for c in cases if c["stage"] == "compile"]


def _eval_cases() -> list[dict[str, Any]]:
    cases = _load("eval_cases.json") or []
    return [c for c in cases if c["fields_complete"]]


def _compile_outcome(case: dict[str, Any], source: FieldSource) -> tuple[str, str, int | None]:
    try:
        compiled = compile_expr(parse(case["condition"]), source=source, text=case["condition"])
    except DetectorError as exc:
        return "error", str(exc), None
    return "ok", "", len(compiled.warnings)


def test_compile_stage_cases_agree() -> None:
    cases = _compile_cases()
    if not cases:
        pytest.skip("shared conformance corpus not found")
    assert len(cases) == 426
    source = _mock_source()
    failures = []
    for case in cases:
        outcome, message, warnings = _compile_outcome(case, source)
        wrong = outcome != case["expect"]
        if not wrong and case.get("message"):
            wrong = message != case["message"]
        if wrong:
            failures.append(f"{case['condition']!r}: expected {case['expect']}, got {outcome} {message}")
    agreement = 1 - len(failures) / len(cases)
    assert agreement >= MIN_AGREEMENT, "\n".join(failures)


def test_compile_stage_warnings_agree() -> None:
    cases = [c for c in _compile_cases() if c["expect"] == "ok" and "expected_warnings" in c]
    if not cases:
        pytest.skip("shared conformance corpus not found")
    source = _mock_source()
    wrong = []
    for case in cases:
        _, _, warnings = _compile_outcome(case, source)
        if warnings != case["expected_warnings"]:
            wrong.append(f"{case['condition']!r}: {warnings} warnings, expected {case['expected_warnings']}")
    assert not wrong, "\n".join(wrong)


@pytest.mark.parametrize(
    ("condition", "message"),
    [
        ("toupper(fd.name)[x] = foo", "filter error: transformer 'toupper' does not support field arguments"),
        ("fd.name = val(proc.name)[x]", "filter error: transformer 'val' does not support field arguments"),
        ("proc.name = \"\\x00\"", "filter error: filter value cannot contain a NUL byte (\\x00)"),
        ("evt.buffer bcontains 2g", "filter error: bcontains and bstartswith operator support hex strings only"),
        ("evt.is_io = yes", "filter error: unrecognized boolean value yes"),
        ("syscall.type = val(evt.is_wait)",
         "field 'syscall.type' has type 'CHARBUF' while the right-hand side field 'evt.is_wait' has "
         "incompatible type 'BOOL'"),
        ("evt.plugininfo regex val(evt.source)", "operator 'REGEX' doesn't support right-hand side fields"),
        ("toupper(evt.rawarg.res) = -1", "field 'evt.rawarg' does not support transformers"),
        ("toupper(evt.rawres) = -1",
         "can't add field transformer: type 'INT64' is not supported by 'toupper' transformer applied on "
         "field 'evt.rawres'"),
        ("evt.rawtime contains 1", "'contains' operator not supported for numeric filters"),
        ("fd.nam = x", "filter_check called with nonexistent field fd.nam"),
        ("evt.type = nosuchevent", "unknown event type nosuchevent"),
        ("proc.name regex '('", "invalid regex pattern: missing ): ("),
    ],
)
def test_compile_errors_carry_falcos_messages(condition: str, message: str) -> None:
    with pytest.raises(DetectorError) as info:
        compile_expr(parse(condition), text=condition)
    assert str(info.value) == message


def test_eval_cases_agree() -> None:
    cases = _eval_cases()
    if not cases:
        pytest.skip("shared conformance corpus not found")
    assert len(cases) == 426
    source = _mock_source()
    failures = []
    for case in cases:
        expr = parse(case["condition"])
        try:
            compiled = compile_expr(expr, source=source, text=case["condition"]).matches(case["fields"])
            interpreted = interpret(expr, case["fields"], source)
        except DetectorError as exc:
            failures.append(f"{case['condition']!r}: {exc}")
            continue
        if compiled != case["expect"] or interpreted != case["expect"]:
            failures.append(
                f"{case['condition']!r} on {case['fields']}: expected {case['expect']}, "
                f"compiled {compiled}, interpreted {interpreted}"
            )
    agreement = 1 - len(failures) / len(cases)
    assert agreement >= MIN_AGREEMENT, "\n".join(failures)


def _evttype_cases() -> tuple[list[dict[str, Any]], dict[str, frozenset[str]]]:
    data = _load("evttype_cases.json")
    if data is None:
        return [], {}
    sets = {
        "openat_only": frozenset({"openat"}),
        "not_openat": ALL - {"openat"},
        "openat_close_only": frozenset({"openat", "close"}),
        "not_openat_close": ALL - {"openat", "close"},
        "all_events": ALL,
        "no_events": frozenset(),
    }
    return data["cases"], sets


def test_evttype_cases_all_agree() -> None:
    cases, sets = _evttype_cases()
    if not cases:
        pytest.skip("shared conformance corpus not found")
    assert len(cases) == 124
    failures = []
    for case in cases:
        got = evttype_names(parse(case["condition"]))
        if "expect_set" in case:
            expected = sets[case["expect_set"]]
        else:
            other = case["expect_same_set_as"]
            # A null counterpart stands for the "one" set of the algebraic-property tests.
            expected = ALL if other is None else evttype_names(parse(other))
        if got != expected:
            failures.append(f"{case['condition']!r}: {sorted(got)[:5]}... ({len(got)}) vs {len(expected)}")
    assert not failures, "\n".join(failures)


def test_evttype_errors() -> None:
    for condition in ("b64(evt.type) = close", "evt.type = val(proc.name)", "evt.type != b64(proc.name)"):
        with pytest.raises(DetectorError, match="event code search"):
            evttype_names(parse(condition))
