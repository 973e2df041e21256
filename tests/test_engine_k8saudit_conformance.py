"""Falco's k8s audit regression tests (k8saudit_expected.json) run through the engine.

Each test names rules files and one audit trace; Falco's expected outcome is
whether any rule fires, at which priorities, and how often each rule fires.
"""

from __future__ import annotations

import functools
import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from detector.engine import Engine, EngineOptions
from detector.loader import load_rules
from detector.priority import Priority
from detector.sources import BadLine, BadLineStats, read_records
from tests.shared import shared_dir

RULES_PREFIX = "BUILD_DIR/falcosecurity-rules-falco-prefix/src/falcosecurity-rules-falco/falco_rules.yaml"
K8S_PREFIX = "BUILD_DIR/k8saudit-rules-prefix/src/k8saudit-rules/k8s_audit_rules.yaml"


def _cases() -> list[tuple[str, dict[str, Any]]]:
    base = shared_dir()
    if base is None:
        return []
    data = json.loads((base / "conformance" / "k8saudit_expected.json").read_text())
    return sorted(data["tests"].items())


def resolve_rules_file(conformance: Path, name: str, local_copies: dict[str, str]) -> Path:
    if name == RULES_PREFIX or name.endswith("falcosecurity-rules-falco/falco_rules.yaml"):
        return conformance / "falco_test_rules" / "EXTERNAL__falcosecurity-rules__falco-rules-1.0.1__falco_rules.yaml"
    if name == K8S_PREFIX or name.endswith("k8s_audit_rules.yaml") and name.startswith("BUILD_DIR"):
        return conformance / "k8saudit_rules_for_expected.yaml"
    return conformance / local_copies[name]


def expected_levels(test: dict[str, Any]) -> set[Priority]:
    level = test.get("detect_level")
    levels = level if isinstance(level, list) else [level] if level else []
    return {Priority.parse(str(v)) for v in levels}


@functools.lru_cache(maxsize=16)
def _engine(files: tuple[Path, ...]) -> Engine:
    """Several tests share a rules-file set; load each set once."""
    result = load_rules(*files)
    assert not result.errors, [d.describe() for d in result.errors]
    return Engine(result.ruleset, EngineOptions())


def run_case(test: dict[str, Any]) -> tuple[Counter[str], set[Priority], list[BadLine], int]:
    base = shared_dir()
    assert base is not None
    conformance = base / "conformance"
    files = [resolve_rules_file(conformance, f, test.get("rules_file_local_copies", {})) for f in test["rules_file"]]
    engine = _engine(tuple(files))
    trace = base / "data" / "k8saudit" / test["trace_json"]
    bad: list[BadLine] = []
    stats = BadLineStats()
    fired: Counter[str] = Counter()
    levels: set[Priority] = set()
    events = 0
    for record in read_records([trace], stats=stats, on_bad=bad.append):
        if record.source != test.get("enable_source", "k8s_audit"):
            continue
        events += 1
        for alert in engine.process(record.event, record.source):
            fired[alert.rule] += 1
            levels.add(alert.priority)
    return fired, levels, bad, events


CASES = _cases()


@pytest.mark.skipif(not CASES, reason="shared conformance material not found (DETECTOR_SHARED)")
@pytest.mark.parametrize(("name", "test"), CASES, ids=[c[0] for c in CASES] or None)
def test_k8saudit_expected(name: str, test: dict[str, Any]) -> None:
    fired, levels, bad, events = run_case(test)
    if "stderr_contains" in test:
        # The trace is rejected as a whole, as Falco's plugin rejects it.
        assert events == 0 and bad, "expected the trace to be rejected"
        assert any("stageTimestamp" in b.message or "not recognized" in b.message for b in bad), bad
        return
    assert not bad, [str(b) for b in bad]
    assert events > 0
    if test["detect"]:
        assert fired, "expected an alert, none fired"
        want = expected_levels(test)
        if want:
            assert levels <= want | {p for p in Priority if p.at_least(max(want))}, (levels, want)
            assert levels & want, (levels, want)
    else:
        assert not fired, f"expected no alert, got {dict(fired)}"
    for entry in test.get("detect_counts", []):
        for rule, count in entry.items():
            assert fired[rule] == count, f"{rule}: expected {count}, got {fired[rule]} (all: {dict(fired)})"
