"""``detector test``: YAML suites of events and the alerts each must (and must not) produce."""

from __future__ import annotations

from detector.ruletest.report import render_text, to_json
from detector.ruletest.runner import (
    CaseResult,
    FiredAlert,
    Mismatch,
    RulesCache,
    RunReport,
    SuiteProblem,
    SuiteResult,
    compare,
    expand_paths,
    run_paths,
    run_suite,
)
from detector.ruletest.suite import Case, EventSource, ExpectedAlert, Suite, SuiteError, load_suite

__all__ = [
    "Case",
    "CaseResult",
    "EventSource",
    "ExpectedAlert",
    "FiredAlert",
    "Mismatch",
    "RulesCache",
    "RunReport",
    "Suite",
    "SuiteError",
    "SuiteProblem",
    "SuiteResult",
    "compare",
    "expand_paths",
    "load_suite",
    "render_text",
    "run_paths",
    "run_suite",
    "to_json",
]
