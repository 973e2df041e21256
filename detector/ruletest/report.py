"""Rendering a :class:`RunReport`: a diff-style text report for people, JSON for programs."""

from __future__ import annotations

from typing import Any

from detector.ruletest.runner import CaseResult, FiredAlert, Mismatch, RunReport, SuiteResult

# Diff markers: "-" is what the case wanted and did not get, "+" what happened that it did not
# want, "~" a rule that fired as wanted but differently.
_MARKS = {"count": "-", "priority": "~", "unexpected": "+", "unlisted": "+"}
_MAX_OUTPUT = 240


def _short(text: str) -> str:
    return text if len(text) <= _MAX_OUTPUT else text[: _MAX_OUTPUT - 3] + "..."


def _alert_line(alert: FiredAlert) -> str:
    text = alert.message or alert.output
    return f"      [{alert.event_index + 1}] {alert.priority.title:<13} {alert.rule}: {_short(text)}"


def _mismatch_line(m: Mismatch) -> str:
    return f"    {_MARKS.get(m.kind, '?')} {m.rule}: {m.message}"


def _case_lines(suite: SuiteResult, case: CaseResult, verbose: bool) -> list[str]:
    where = f"{suite.path}:{case.line}" if case.line else suite.path
    if case.passed:
        lines = [f"PASS {where}  {case.name}"]
        if verbose:
            lines.extend(_alert_line(a) for a in case.alerts)
        return lines
    lines = [f"FAIL {where}  {case.name}"]
    lines.extend(_mismatch_line(m) for m in case.mismatches)
    events = f"{case.events} event{'s' if case.events != 1 else ''}"
    if case.alerts:
        lines.append(f"    alerts fired ({len(case.alerts)}, from {events}):")
        lines.extend(_alert_line(a) for a in case.alerts)
    else:
        lines.append(f"    no alerts fired (from {events})")
    return lines


def render_text(report: RunReport, *, verbose: bool = False) -> str:
    """The report as text: failures with their diff, passes in one line each when ``verbose``."""
    lines: list[str] = []
    if not report.suites:
        lines.append("ERROR no test suites found")
    for suite in report.suites:
        if suite.problem is not None:
            lines.append(f"ERROR {suite.problem.where}: {suite.problem.message}")
            for detail in suite.problem.details:
                lines.extend("    " + d for d in detail.splitlines())
        if verbose and suite.warnings:
            lines.append(f"NOTE {suite.path}: rules loaded with {len(suite.warnings)} warning(s)")
            lines.extend("    " + w for w in suite.warnings)
        for case in suite.cases:
            if verbose or not case.passed:
                lines.extend(_case_lines(suite, case, verbose))
    counts = report.counts()
    summary = f"{counts['passed']} passed, {counts['failed']} failed"
    if counts["suite_errors"]:
        summary += f", {counts['suite_errors']} suite error{'s' if counts['suite_errors'] != 1 else ''}"
    if counts["skipped"]:
        summary += f", {counts['skipped']} deselected"
    summary += f" ({counts['cases']} cases in {counts['suites']} suites)"
    lines.append(summary)
    return "\n".join(lines)


def _alert_json(alert: FiredAlert) -> dict[str, Any]:
    return {
        "rule": alert.rule,
        "priority": alert.priority.title,
        "source": alert.source,
        "output": alert.output,
        "message": alert.message,
        "event": alert.event_index + 1,
    }


def _case_json(case: CaseResult) -> dict[str, Any]:
    return {
        "name": case.name,
        "line": case.line,
        "passed": case.passed,
        "events": case.events,
        "failures": [
            {"kind": m.kind, "rule": m.rule, "message": m.message, "expected": m.expected, "actual": m.actual}
            for m in case.mismatches
        ],
        "alerts": [_alert_json(a) for a in case.alerts],
    }


def to_json(report: RunReport) -> dict[str, Any]:
    """The report as a JSON-ready object (``detector test --json``)."""
    return {
        "passed": report.exit_code == 0,
        "exit_code": report.exit_code,
        "summary": report.counts(),
        "suites": [
            {
                "path": s.path,
                "status": s.status,
                "error": None
                if s.problem is None
                else {
                    "message": s.problem.message,
                    "file": s.problem.file,
                    "line": s.problem.line,
                    "details": list(s.problem.details),
                },
                "warnings": list(s.warnings),
                "skipped": s.skipped,
                "cases": [_case_json(c) for c in s.cases],
            }
            for s in report.suites
        ],
    }
