"""The upstream rules files and the validation cases of Falco's old regression suite."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from detector.loader import RulesLoader, codes
from tests.shared import shared_dir, shared_path

UPSTREAM = ("falco_rules.yaml", "falco-incubating_rules.yaml", "falco-sandbox_rules.yaml",
            "k8s_audit_rules.yaml")

# Warnings Falco 0.63 gives for these four files loaded together: none.  falcosecurity/rules
# keeps its files free of unused macros/lists and of rules without event-type restriction
# (checked independently below by scanning the files), and the k8s audit rules compare no
# ka.* field with "<NA>".
EXPECTED_UPSTREAM_WARNINGS: list[tuple[str, str]] = []


@pytest.fixture(scope="module")
def upstream() -> RulesLoader:
    rules_dir = shared_path("falco", "rules")
    loader = RulesLoader()
    for name in UPSTREAM:
        loader.load_file(rules_dir / name, name=name)
    return loader


def test_upstream_files_load_without_errors(upstream: RulesLoader) -> None:
    for res in upstream.files:
        assert res.errors == (), res.describe()
    result = upstream.result()
    assert [(w.code, w.item_name) for w in result.warnings] == EXPECTED_UPSTREAM_WARNINGS


def test_upstream_items_are_all_there(upstream: RulesLoader) -> None:
    rules_dir = shared_path("falco", "rules")
    names: dict[str, set[str]] = {"rule": set(), "macro": set(), "list": set()}
    for name in UPSTREAM:
        for m in re.finditer(r"^- (rule|macro|list): (.+?)\s*$", (rules_dir / name).read_text(), re.M):
            names[m[1]].add(m[2])
        # one upstream macro is written with `macro:` after `condition:`
        for m in re.finditer(r"^  macro: (.+?)\s*$", (rules_dir / name).read_text(), re.M):
            names["macro"].add(m[1])
    rs = upstream.ruleset
    assert {r.name for r in rs.rules} == names["rule"]
    assert {m.name for m in rs.macros} == names["macro"]
    assert {lst.name for lst in rs.lists} == names["list"]
    assert all(m.used for m in rs.macros) and all(lst.used for lst in rs.lists)


def test_upstream_rules_are_indexed_by_event_type(upstream: RulesLoader) -> None:
    rs = upstream.ruleset
    syscall = rs.for_source("syscall")
    assert syscall and all(r.evttypes is not None and 0 < len(r.evttypes) <= 100 for r in syscall)
    assert {r.source for r in rs.rules} == {"syscall", "k8s_audit"}
    assert rs.required_engine_version == "0.57.0"
    required = {name for req in rs.required_plugin_versions for name, _ in req.alternatives}
    assert {"container", "k8saudit", "json"} <= required


def test_upstream_compiled_conditions_match_what_they_were_built_from(upstream: RulesLoader) -> None:
    for rule in upstream.ruleset.rules:
        assert rule.condition_compiled.startswith("(") or " " in rule.condition_compiled
        assert "%container.info" not in rule.output


# Falco's old regression suite (capture_expected.json) ------------------------------------

RECREATED = Path(__file__).parent / "data" / "capture_validation"

# Codes and messages changed since that suite was written (its Falco predates engine 0.63).
RENAMED_CODES = {"LOAD_UNKNOWN_FIELD": codes.LOAD_UNKNOWN_FILTER}
RENAMED_MESSAGES = {
    "Macro has 'append' key but no macro by that name already exists": codes.ERROR_NO_PREVIOUS_MACRO,
    "List has 'append' key but no list by that name already exists": codes.ERROR_NO_PREVIOUS_LIST,
    "Rule has 'append' key but no rule by that name already exists": codes.ERROR_NO_PREVIOUS_RULE_APPEND,
    # integer engine versions are now read as 0.N.0
    "Rules require engine version 9999999, but engine version is":
        "Rules require engine version 0.9999999.0, but engine version is",
}
# A non-numeric required_engine_version is now tried as a semver string.
RENAMED_BY_CASE = {
    "invalid_engine_version_not_number": "Unable to parse engine version 'not-a-number' as a semver "
                                         'string. Expected "x.y.z" semver format.',
}


def _validation_cases() -> list[tuple[str, dict[str, Any]]]:
    base = shared_dir()
    if base is None:
        return []
    path = base / "conformance" / "capture_expected.json"
    if not path.exists():
        return []
    tests = json.loads(path.read_text())["tests"]
    return [(name, t) for name, t in sorted(tests.items())
            if "validate_warnings" in t or "validate_errors" in t]


def _local_copy(rules_file: str) -> Path | None:
    """The shared copy of a suite rules file, else our recreation of it."""
    base = shared_dir()
    assert base is not None
    folder = base / "conformance" / "falco_test_rules"
    rel = rules_file.removeprefix("rules/")
    for candidate in (folder / rel, folder / rel.replace("/", "__"), RECREATED / rel.replace("/", "__")):
        if candidate.exists():
            return candidate
    return None


VALIDATION_CASES = _validation_cases()


@pytest.mark.skipif(not VALIDATION_CASES, reason="shared conformance corpus not found")
@pytest.mark.parametrize("name, case", VALIDATION_CASES, ids=[n for n, _ in VALIDATION_CASES])
def test_validation_case(name: str, case: dict[str, Any]) -> None:
    files = case["validate_rules_file"]
    files = [files] if isinstance(files, str) else files
    paths = [_local_copy(f) for f in files]
    if any(p is None for p in paths):
        pytest.skip(f"rules file(s) {files} are not in the shared copy of the suite")
    loader = RulesLoader()
    results = [loader.load_file(p, name=f) for p, f in zip(paths, files, strict=True) if p is not None]
    errors = [e for r in results for e in r.errors]
    warnings = [w for r in results for w in r.warnings]

    def matches(diag: Any, want: dict[str, Any]) -> bool:
        code = RENAMED_CODES.get(want["code"], want["code"])
        if "message" in want:
            message = RENAMED_BY_CASE.get(name) or RENAMED_MESSAGES.get(want["message"], want["message"])
            text_ok = diag.message == message
        else:
            contains = want["message_contains"]
            text_ok = RENAMED_MESSAGES.get(contains, contains) in diag.message
        return (diag.code == code and text_ok and diag.item_kind == want["item_type"]
                and diag.item_name == want["item_name"])

    for want in case.get("validate_errors", []):
        assert any(matches(e, want) for e in errors), (want, [e.describe() for e in errors])
    for want in case.get("validate_warnings", []):
        assert any(matches(w, want) for w in warnings), (want, [w.describe() for w in warnings])
    if "validate_errors" not in case:
        assert errors == []
    for ok_file in case.get("validate_ok", []):
        (res,) = [r for r in results if r.name.endswith("/" + ok_file)]
        assert res.errors == ()
