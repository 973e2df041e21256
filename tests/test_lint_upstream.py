"""Lint on Falco's upstream rules files loaded together: what it finds that Falco does not say."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from detector.lint import Finding, lint
from detector.loader import load_rules
from detector.loader.model import LoadResult
from tests.shared import shared_path

UPSTREAM = ("falco_rules.yaml", "falco-incubating_rules.yaml", "falco-sandbox_rules.yaml", "k8s_audit_rules.yaml")


@pytest.fixture(scope="module")
def loaded() -> LoadResult:
    rules_dir = shared_path("falco", "rules")
    result = load_rules(*(rules_dir / name for name in UPSTREAM))
    assert result.ok
    return result


@pytest.fixture(scope="module")
def findings(loaded: LoadResult) -> list[Finding]:
    return lint(loaded)


def test_falco_warns_about_nothing_lint_finds_these(loaded: LoadResult, findings: list[Finding]) -> None:
    assert loaded.warnings == ()
    counts = Counter((f.code, f.severity) for f in findings)
    assert counts == {
        ("LINT_DUPLICATE_LIST", "info"): 43,
        ("LINT_DUPLICATE_LIST", "warning"): 2,
        ("LINT_DUPLICATE_MACRO", "info"): 37,
        ("LINT_EMPTY_NAMED_LIST", "info"): 13,
        ("LINT_NEVER_FIRES", "error"): 1,
    }


def where(f: Finding) -> tuple[str, str, str, int]:
    return f.code, f.item_name, Path(f.file).name, f.line


def test_a_template_rule_that_never_fires_as_shipped(findings: list[Finding]) -> None:
    never = [f for f in findings if f.code == "LINT_NEVER_FIRES"]
    assert [where(f) for f in never] == [
        ("LINT_NEVER_FIRES", "Network Connection outside Local Subnet", "falco-incubating_rules.yaml", 1095)]
    assert never[0].message.endswith("k8s.ns.name in (namespace_scope_network_only_subnet) is never true")


def test_redefinitions_that_change_rules_loaded_earlier(findings: list[Finding]) -> None:
    changed = {where(f): f.message for f in findings if f.severity == "warning"}
    assert set(changed) == {
        ("LINT_DUPLICATE_LIST", "python_package_managers", "falco-incubating_rules.yaml", 160),
        ("LINT_DUPLICATE_LIST", "falco_containers", "falco-incubating_rules.yaml", 545),
    }
    # the incubating file drops "uv" from the stable file's list, for the stable rules too
    assert "differently from" in changed[
        ("LINT_DUPLICATE_LIST", "python_package_managers", "falco-incubating_rules.yaml", 160)]


def test_same_macro_written_differently_is_not_a_change(findings: list[Finding]) -> None:
    same = [f for f in findings if f.code == "LINT_DUPLICATE_MACRO" and f.item_name == "inbound_outbound"]
    assert [(Path(f.file).name, f.line, f.severity) for f in same] == [("falco-sandbox_rules.yaml", 248, "info")]


def test_empty_tuning_lists_are_pointed_at(findings: list[Finding]) -> None:
    named = [f for f in findings if f.code == "LINT_EMPTY_NAMED_LIST"]
    assert ("LINT_EMPTY_NAMED_LIST", "user_read_sensitive_file_containers", "falco_rules.yaml", 386) in {
        where(f) for f in named}
    assert all(f.snippet and f.column > 1 for f in named)  # placed on the check, not the item
