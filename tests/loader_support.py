"""Helpers shared by the loader tests: the conformance corpus and Falco's test-engine setup."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from detector.loader import ExtraOutput, ExtraOutputField, FileResult, Ruleset, RulesLoader, codes
from tests.shared import shared_dir

# Falco's unit tests configure the engine before loading; these are those settings.
ENGINE_SETUP: dict[str, dict[str, Any]] = {
    "test_falco_engine.extra_format_all": {"extra_outputs": [ExtraOutput("evt.type=%evt.type")]},
    "test_falco_engine.extra_format_by_rule": {
        "extra_outputs": [ExtraOutput("evt.type=%evt.type", rule="legit_rule")]},
    "test_falco_engine.extra_format_by_tag_rule": {"extra_outputs": [
        ExtraOutput("extra 1", tags=frozenset({"tag1"})),
        ExtraOutput("extra 2", rule="another_rule"),
        ExtraOutput("extra 3", tags=frozenset({"tag1", "tag2"})),
    ]},
    "test_falco_engine.extra_fields_all": {
        "extra_output_fields": [ExtraOutputField("my_field", "hello %evt.num")]},
}

# Names the unit tests use for message constants.
MESSAGE_SYMBOLS = {"WARNING_NO_EVTTYPE": codes.WARNING_NO_EVTTYPE}


def loader_cases() -> list[dict[str, Any]]:
    base = shared_dir()
    if base is None:
        return []
    path = base / "conformance" / "loader_cases.json"
    if not path.exists():
        return []
    cases: list[dict[str, Any]] = json.loads(path.read_text())
    for i, case in enumerate(cases):
        case["_index"] = i
    return cases


def case_id(case: dict[str, Any]) -> str:
    return f"{case['_index']:03d}-{case['test'].split('.')[-1]}"


def chain(case: dict[str, Any], cases: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The cases loaded into the same engine before ``case`` (oldest first), then ``case``."""
    by_key = {(c["test"], c.get("filename")): c for c in cases}
    out = [case]
    seen = {id(case)}
    prev = case.get("previously_loaded_in_same_engine")
    while prev:
        if isinstance(prev, dict):
            before = by_key.get((prev.get("test", case["test"]), prev.get("filename")))
        elif isinstance(prev, int):
            before = cases[prev]
        else:
            before = next((c for c in cases if c["test"] == case["test"] and c.get("filename") == prev), None)
        if before is None or id(before) in seen:
            break
        seen.add(id(before))
        out.insert(0, before)
        prev = before.get("previously_loaded_in_same_engine")
    return out


@dataclass
class Outcome:
    """One loaded case: the loader, the last file's result and the ruleset."""

    loader: RulesLoader
    result: FileResult
    ruleset: Ruleset
    checked: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)


def run_case(case: dict[str, Any], cases: list[dict[str, Any]]) -> Outcome:
    setup = ENGINE_SETUP.get(case["test"], {})
    loader = RulesLoader(sources={"syscall"}, **setup)
    result: FileResult | None = None
    for c in chain(case, cases):
        result = loader.load_text(c["yaml"], name=c.get("filename") or "rules.yaml")
    assert result is not None
    return Outcome(loader, result, loader.ruleset)


def _symbol(text: str) -> str:
    return MESSAGE_SYMBOLS.get(text, text)


def check_expectations(case: dict[str, Any], out: Outcome) -> list[str]:
    """Every failed expectation of ``case`` as a message (empty = all good)."""
    exp = case["expect"]
    res = out.result
    problems: list[str] = []
    errors = [d.message for d in res.errors]
    warnings = [d.message for d in res.warnings]

    def check(name: str, ok: bool, detail: str) -> None:
        out.checked.append(name)
        if not ok:
            problems.append(f"{name}: {detail}")

    if "loads" in exp:
        check("loads", res.successful == exp["loads"],
              f"expected loads={exp['loads']}, errors={errors}")
    if "schema_validation" in exp:
        want = {"validation_ok": "ok", "validation_failed": "failed"}.get(exp["schema_validation"],
                                                                          exp["schema_validation"])
        check("schema_validation", res.schema_validation == want,
              f"expected {want}, got {res.schema_validation}")
    for msg in exp.get("error_messages", []):
        check("error_messages", any(msg in e for e in errors), f"no error containing {msg!r} in {errors}")
    for msg in exp.get("warning_messages", []):
        m = _symbol(msg)
        check("warning_messages", any(m in w for w in warnings), f"no warning containing {m!r} in {warnings}")
    for msg in exp.get("warning_messages_absent", []):
        m = _symbol(msg)
        check("warning_messages_absent", not any(m in w for w in warnings),
              f"unexpected warning containing {m!r}")
    if "has_warnings" in exp:
        check("has_warnings", bool(res.warnings) == exp["has_warnings"], f"warnings={warnings}")
    for rule_name, want in exp.get("compiled_condition", {}).items():
        rule = out.ruleset.rule(rule_name)
        got = None if rule is None else rule.condition_compiled
        check("compiled_condition", got == want, f"{rule_name}: expected {want!r}, got {got!r}")
    for rule_name, want in exp.get("compiled_output", {}).items():
        rule = out.ruleset.rule(rule_name)
        got = None if rule is None else rule.output
        check("compiled_output", got == want, f"{rule_name}: expected {want!r}, got {got!r}")
    for _, want in exp.get("num_enabled_rules", {}).items():
        got = sum(1 for r in out.ruleset.rules if r.enabled)
        check("num_enabled_rules", got == want, f"expected {want}, got {got}")
    for assertion in case.get("other_assertions", []):
        handled = _other_assertion(assertion, case, out)
        if handled is None:
            out.skipped.append(assertion)
        else:
            ok, detail = handled
            check("other_assertions", ok, f"{assertion}: {detail}")
    return problems


_RULE_INFO = re.compile(
    r'rule_description\["rules"\]\[0\]\["info"\]\["(\w+)"\]\.template get<[\w:]+>\(\), (.+)\)$')
_COUNT = re.compile(r'rule_description\["(rules|macros|lists)"\]\.size\(\), (\d+)\)')
_ITEMS_COMPILED = re.compile(
    r'rule_description\["lists"\]\[0\]\["details"\]\["items_compiled"\]\[(\d+)\] '
    r'\.template get<std::string>\(\), "(.*)"\)')


def _literal(text: str) -> Any:
    text = text.strip()
    if text.startswith('"'):
        return json.loads(text)
    if text in ("true", "false"):
        return text == "true"
    return int(text.rstrip("u"))


def _other_assertion(a: str, case: dict[str, Any], out: Outcome) -> tuple[bool, str] | None:
    """Check one C++ assertion we can express; ``None`` when it needs an API we do not model."""
    rs = out.ruleset
    res = out.result
    m = _RULE_INFO.search(a)
    if m:
        key, want = m[1], _literal(m[2])
        rule = rs.rules[0] if rs.rules else None
        getters: dict[str, Callable[[Any], Any]] = {
            "condition": lambda r: r.condition, "output": lambda r: r.output,
            "description": lambda r: r.desc, "priority": lambda r: r.priority.title,
            "capture": lambda r: r.capture, "capture_duration": lambda r: r.capture_duration,
        }
        if key not in getters:
            return None
        got = None if rule is None else getters[key](rule)
        return got == want, f"got {got!r}"
    m = _COUNT.search(a)
    if m:
        got = len(getattr(rs, m[1]))
        return got == int(m[2]), f"got {got}"
    if a.startswith('ASSERT_EQ(rule_description["lists"][0]["details"]["items_compiled"].size()'):
        want = int(a.rsplit(",", 1)[1].strip(" )"))
        got = len(rs.lists[0].items) if rs.lists else None
        return got == want, f"got {got}"
    if a.startswith('ASSERT_EQ(rule_description["lists"][0]["details"]["lists"].size()'):
        return None
    m = _ITEMS_COMPILED.search(a)
    if m:
        idx, want = int(m[1]), m[2]
        got = rs.lists[0].items[idx] if rs.lists and len(rs.lists[0].items) > idx else None
        return got == want, f"got {got!r}"
    if a == "ASSERT_TRUE(m_load_result->successful())":
        return res.successful, "not successful"
    if a == "ASSERT_TRUE(m_load_result->has_warnings())":
        return bool(res.warnings), "no warnings"
    if "num_rules_for_ruleset(default_ruleset)" in a and a == case.get("other_assertions", [None])[0]:
        want = int(re.search(r"EXPECT_EQ\((\d+),", a)[1])  # type: ignore[index]
        got = sum(1 for r in rs.rules if r.enabled)
        return got == want, f"got {got}"
    if 'output.find("%container.info") == output.npos' in a:
        rule = rs.rules[0] if rs.rules else None
        return rule is not None and "%container.info" not in rule.output, "still present"
    m = re.search(r'\["errors"\]\[0\]\["context"\]\["snippet"\]\) \.find\("(.*)"\) != std::string::npos', a)
    if m:
        snippet = res.errors[0].snippet if res.errors else ""
        return m[1] in snippet, f"snippet {snippet!r}"
    m = re.search(r'ASSERT_(EQ|NE)\(snippet\.find\("(.*)"\), std::string::npos\)', a)
    if m:
        snippets = [w.snippet for w in res.warnings if "evt.dir" in w.message]
        if not snippets:
            return False, "no evt.dir warning"
        present = m[2] in snippets[0]
        return present == (m[1] == "NE"), f"snippet {snippets[0]!r}"
    if "get_compiled_rule_formatted_fields" in a:
        setup = ENGINE_SETUP.get(case["test"], {})
        want = {f.key: f.format for f in setup.get("extra_output_fields", [])}
        rule = rs.rule("legit_rule")
        got = dict(rule.extra_output_fields) if rule else None
        return got == want, f"got {got}"
    return None
