"""The shipped rules (``rules/``) and their suites (``tests/rules/``), run through the runner's API.

``make test`` therefore fails when a shipped rule stops firing on its attack, starts firing on
its look-alike, loses its documentation, or loads with a warning.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from detector.loader import load_rules
from detector.ruletest import load_suite, render_text, run_suite
from detector.ruletest.runner import RunReport

ROOT = Path(__file__).resolve().parent.parent
RULE_FILES = sorted((ROOT / "rules").glob("*.yaml"))
SUITES = sorted((ROOT / "tests" / "rules").glob("*.yaml"))
MITRE_TECHNIQUE = re.compile(r"^(T\d{4}(\.\d{3})?|TA\d{4})$")


def shipped_items() -> list[tuple[Path, dict[str, object]]]:
    items: list[tuple[Path, dict[str, object]]] = []
    for path in RULE_FILES:
        for item in yaml.safe_load(path.read_text()) or []:
            items.append((path, item))
    return items


def shipped_rules() -> list[dict[str, object]]:
    return [item for _, item in shipped_items() if "rule" in item]


@pytest.mark.parametrize("suite", SUITES, ids=lambda p: p.name)
def test_suite_passes(suite: Path) -> None:
    result = run_suite(suite)
    report = RunReport((result,))
    assert report.exit_code == 0, "\n" + render_text(report)
    assert result.cases


def test_rules_load_cleanly() -> None:
    result = load_rules(*RULE_FILES)
    assert not result.errors, [d.describe() for d in result.errors]
    # No LOAD_NO_EVTTYPE, no unused lists or macros, no unknown keys.
    assert not result.warnings, [d.describe() for d in result.warnings]
    names = [r["rule"] for r in shipped_rules()]
    assert sorted(r.name for r in result.ruleset) == sorted(names)
    for rule in result.ruleset:
        if rule.source == "syscall":
            assert rule.evttypes, f"{rule.name} is not restricted to event types"


def test_every_rule_is_documented_and_tagged() -> None:
    rules = shipped_rules()
    assert len(rules) >= 25
    docs = (ROOT / "docs" / "rules.md").read_text()
    for rule in rules:
        name = rule["rule"]
        for key in ("desc", "condition", "output", "priority", "tags"):
            assert rule.get(key), f"{name}: missing {key}"
        tags = rule["tags"]
        assert isinstance(tags, list)
        assert any(str(t).startswith("mitre_") for t in tags), f"{name}: no ATT&CK tactic tag"
        assert any(MITRE_TECHNIQUE.match(str(t)) for t in tags), f"{name}: no ATT&CK technique tag"
        assert "%" in str(rule["output"]), f"{name}: output shows no fields"
        assert f"### {name}\n" in docs, f"{name}: not described in docs/rules.md"
    for path in RULE_FILES:
        versions = [item for p, item in shipped_items() if p == path and "required_engine_version" in item]
        assert versions, f"{path.name}: no required_engine_version"


def test_every_rule_has_positive_and_negative_cases() -> None:
    positive: set[str] = set()
    negative: set[str] = set()
    for path in SUITES:
        for case in load_suite(path).cases:
            positive.update(e.rule for e in case.expect if e.count != 0)
            negative.update(case.not_expect)
    names = {str(r["rule"]) for r in shipped_rules()}
    assert not names - positive, f"rules without a case that fires: {sorted(names - positive)}"
    assert not names - negative, f"rules without a case that must not fire: {sorted(names - negative)}"
