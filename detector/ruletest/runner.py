"""Running rule test suites: load the rules, feed each case's events to a fresh engine, and
compare the alerts with what the case expects."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from detector.engine import Engine, EngineOptions
from detector.errors import DetectorError
from detector.loader import load_rules
from detector.loader.model import LoadResult, Ruleset
from detector.priority import Priority
from detector.ruletest.events import load_events
from detector.ruletest.suite import Case, ExpectedAlert, Suite, SuiteError, load_suite, looks_like_suite

SUITE_SUFFIXES = (".yaml", ".yml")


class AlertLike(Protocol):
    """What the runner reads from an engine alert."""

    @property
    def rule(self) -> str: ...

    @property
    def priority(self) -> Priority: ...

    @property
    def source(self) -> str: ...

    @property
    def output(self) -> str: ...

    @property
    def message(self) -> str: ...


@dataclass(frozen=True, slots=True)
class FiredAlert:
    """An alert of a case.  ``output`` is the whole alert line (time, priority, message), which
    ``expect: output:`` searches; ``message`` is the rule's rendered output alone."""

    rule: str
    priority: Priority
    source: str
    output: str
    event_index: int
    message: str = ""


@dataclass(frozen=True, slots=True)
class Mismatch:
    """One way a case's alerts differ from its expectations.

    ``kind`` is ``count`` (an expected rule fired a different number of times),
    ``priority`` (it fired with another priority), ``unexpected`` (a rule under
    ``not_expect`` fired) or ``unlisted`` (a strict case saw a rule it does not list).
    """

    kind: str
    rule: str
    message: str
    expected: int | None = None
    actual: int = 0


@dataclass(frozen=True, slots=True)
class CaseResult:
    name: str
    line: int
    events: int
    alerts: tuple[FiredAlert, ...]
    mismatches: tuple[Mismatch, ...]

    @property
    def passed(self) -> bool:
        return not self.mismatches


@dataclass(frozen=True, slots=True)
class SuiteProblem:
    """Why a suite could not run: its message, where, and any rules-loader diagnostics."""

    message: str
    file: str
    line: int = 0
    details: tuple[str, ...] = ()

    @property
    def where(self) -> str:
        return f"{self.file}:{self.line}" if self.line else self.file


@dataclass(frozen=True, slots=True)
class SuiteResult:
    path: str
    cases: tuple[CaseResult, ...] = ()
    problem: SuiteProblem | None = None
    warnings: tuple[str, ...] = ()
    skipped: int = 0

    @property
    def status(self) -> str:
        if self.problem is not None:
            return "error"
        return "failed" if any(not c.passed for c in self.cases) else "passed"


@dataclass(frozen=True, slots=True)
class RunReport:
    suites: tuple[SuiteResult, ...]

    @property
    def cases(self) -> tuple[CaseResult, ...]:
        return tuple(c for s in self.suites for c in s.cases)

    @property
    def exit_code(self) -> int:
        """0 when every case passed, 1 when some failed, 2 when a suite or its rules are bad."""
        if not self.suites or any(s.problem is not None for s in self.suites):
            return 2
        return 1 if any(not c.passed for c in self.cases) else 0

    def counts(self) -> dict[str, int]:
        cases = self.cases
        return {
            "suites": len(self.suites),
            "suite_errors": sum(1 for s in self.suites if s.problem is not None),
            "cases": len(cases),
            "passed": sum(1 for c in cases if c.passed),
            "failed": sum(1 for c in cases if not c.passed),
            "skipped": sum(s.skipped for s in self.suites),
        }


@dataclass(slots=True)
class RulesCache:
    """Rules loaded once per distinct list of files within one run (suites often share them)."""

    loaded: dict[tuple[str, ...], LoadResult] = field(default_factory=dict)

    def load(self, paths: Sequence[Path]) -> LoadResult:
        key = tuple(str(p.resolve()) for p in paths)
        if key not in self.loaded:
            self.loaded[key] = load_rules(*[str(p) for p in paths])
        return self.loaded[key]


# --- comparing ---------------------------------------------------------------------------------


def _times(n: int) -> str:
    return "once" if n == 1 else f"{n} times"


def _check_expected(expected: ExpectedAlert, alerts: Sequence[FiredAlert]) -> list[Mismatch]:
    of_rule = [a for a in alerts if a.rule == expected.rule]
    counted = of_rule
    if expected.output is not None:
        counted = [a for a in of_rule if expected.output in a.output]
    n = len(counted)
    problems: list[Mismatch] = []
    ok = n >= 1 if expected.count is None else n == expected.count
    if not ok:
        message = f"expected {expected.describe()}, got {n}"
        if expected.output is not None and len(of_rule) != n:
            message += f" ({len(of_rule)} alert{'s' if len(of_rule) != 1 else ''} of this rule in all)"
        problems.append(Mismatch("count", expected.rule, message, expected.count, n))
    if expected.priority is not None:
        wrong = sorted({a.priority for a in counted if a.priority != expected.priority})
        if wrong:
            got = ", ".join(p.title for p in wrong)
            problems.append(
                Mismatch(
                    "priority",
                    expected.rule,
                    f"expected priority {expected.priority.title}, got {got}",
                    expected.count,
                    n,
                )
            )
    return problems


def compare(case: Case, alerts: Sequence[FiredAlert]) -> tuple[Mismatch, ...]:
    """Every difference between ``alerts`` and what ``case`` expects, in the case's order."""
    problems: list[Mismatch] = []
    for expected in case.expect:
        problems.extend(_check_expected(expected, alerts))
    fired = Counter(a.rule for a in alerts)
    for rule in case.not_expect:
        if fired[rule]:
            problems.append(
                Mismatch("unexpected", rule, f"must not fire, fired {_times(fired[rule])}", 0, fired[rule])
            )
    if case.strict:
        listed = {e.rule for e in case.expect}
        for rule, n in fired.items():
            if rule not in listed and rule not in case.not_expect:
                problems.append(
                    Mismatch("unlisted", rule, f"fired {_times(n)} but the strict case does not expect it", 0, n)
                )
    return tuple(problems)


# --- running -----------------------------------------------------------------------------------


def run_case(case: Case, suite: Suite, ruleset: Ruleset) -> CaseResult:
    """Run one case on a fresh engine.  Raises :class:`SuiteError` if its events are unusable."""
    pairs = load_events(case.events, suite.path)
    engine = Engine(ruleset, EngineOptions(rule_matching="first" if suite.rule_matching == "first" else "all"))
    alerts: list[FiredAlert] = []
    for index, (source, event) in enumerate(pairs):
        try:
            fired: Iterable[AlertLike] = engine.process(event, source)
        except Exception as exc:  # an engine bug on one event ends this suite, not the whole run
            raise SuiteError(
                f"test {case.name!r}: the engine failed on event {index + 1}: {type(exc).__name__}: {exc}",
                suite.path,
                case.line,
            ) from exc
        for alert in fired:
            alerts.append(FiredAlert(alert.rule, alert.priority, alert.source, alert.output, index, alert.message))
    return CaseResult(case.name, case.line, len(pairs), tuple(alerts), compare(case, alerts))


def _problem(exc: SuiteError) -> SuiteProblem:
    return SuiteProblem(exc.message, exc.file, exc.line)


def run_suite(path: str | Path, *, select: str | None = None, cache: RulesCache | None = None) -> SuiteResult:
    """Load and run one suite.  ``select`` keeps only cases whose name contains it
    (case-insensitive).  Problems with the suite or its rules are returned, never raised."""
    name = str(path)
    try:
        suite = load_suite(path)
    except SuiteError as exc:
        return SuiteResult(name, problem=_problem(exc))
    try:
        loaded = (cache or RulesCache()).load(suite.rules)
    except (DetectorError, OSError) as exc:
        return SuiteResult(name, problem=SuiteProblem(f"rules failed to load: {exc}", name))
    warnings = tuple(f"{d.where}: {d.code}: {d.message}" for d in loaded.warnings)
    if loaded.errors:
        return SuiteResult(
            name,
            problem=SuiteProblem(
                f"rules failed to load ({len(loaded.errors)} error{'s' if len(loaded.errors) != 1 else ''})",
                name,
                0,
                tuple(d.describe() for d in loaded.errors),
            ),
            warnings=warnings,
        )
    known = {rule.name for rule in loaded.ruleset}
    for case in suite.cases:
        for rule in [e.rule for e in case.expect] + list(case.not_expect):
            if rule not in known:
                return SuiteResult(
                    name,
                    problem=SuiteProblem(f"test {case.name!r} names unknown rule {rule!r}", name, case.line),
                    warnings=warnings,
                )
    needle = select.lower() if select else None
    chosen = [c for c in suite.cases if needle is None or needle in c.name.lower()]
    results: list[CaseResult] = []
    for case in chosen:
        try:
            results.append(run_case(case, suite, loaded.ruleset))
        except SuiteError as exc:
            return SuiteResult(name, tuple(results), _problem(exc), warnings)
    return SuiteResult(name, tuple(results), None, warnings, len(suite.cases) - len(chosen))


def expand_paths(paths: Iterable[str | Path]) -> list[Path]:
    """Suite files named directly, plus the ``*.yaml``/``*.yml`` files below named directories
    whose top level is a mapping (rules files kept next to their suites are left out)."""
    out: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            found = sorted(p for p in path.rglob("*") if p.suffix in SUITE_SUFFIXES and p.is_file())
            out.extend(p for p in found if looks_like_suite(p))
        else:
            out.append(path)
    return out


def run_paths(paths: Iterable[str | Path], *, select: str | None = None) -> RunReport:
    """Run every suite in ``paths`` (files or directories), sharing loaded rules between them."""
    cache = RulesCache()
    return RunReport(tuple(run_suite(p, select=select, cache=cache) for p in expand_paths(paths)))
