"""Rule test suites: the YAML format read by ``detector test``, parsed into frozen models.

A suite names rules files and lists test cases; each case feeds events to the engine and
states which rules must fire (how often, with what output and priority) and which must not.
The format is documented in ``docs/authoring.md`` ("Testing rules").
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from detector.errors import DetectorError
from detector.priority import Priority

_SUITE_KEYS = frozenset({"rules", "tests", "fixtures", "strict", "description", "rule_matching"})
_RULE_MATCHING = ("all", "first")
_CASE_KEYS = frozenset({"name", "description", "events", "expect", "not_expect", "strict"})
_EXPECT_KEYS = frozenset({"rule", "count", "output", "priority"})
_TIMESTAMP_TAG = "tag:yaml.org,2002:timestamp"


class SuiteError(DetectorError):
    """A suite that cannot be run: unreadable, malformed, or naming things that do not exist.

    ``file`` and ``line`` (1-based, 0 when unknown) say where.
    """

    def __init__(self, message: str, file: str | Path, line: int = 0) -> None:
        super().__init__(message)
        self.message = message
        self.file = str(file)
        self.line = line

    @property
    def where(self) -> str:
        return f"{self.file}:{self.line}" if self.line else self.file

    def __str__(self) -> str:
        return f"{self.where}: {self.message}"


@dataclass(frozen=True, slots=True)
class ExpectedAlert:
    """A rule that must fire.  ``count`` None means "at least once"; ``output`` is a substring
    the alert's output must contain (only alerts containing it are counted)."""

    rule: str
    count: int | None = None
    output: str | None = None
    priority: Priority | None = None
    line: int = 0

    def describe(self) -> str:
        times = "at least 1 alert" if self.count is None else _plural(self.count, "alert")
        text = f"{times}"
        if self.output is not None:
            text += f" with output containing {self.output!r}"
        return text


@dataclass(frozen=True, slots=True)
class EventSource:
    """One item of a case's ``events``: an event written inline, or a file of events."""

    line: int
    inline: Any = None
    file: Path | None = None


@dataclass(frozen=True, slots=True)
class Case:
    name: str
    line: int
    events: tuple[EventSource, ...]
    expect: tuple[ExpectedAlert, ...] = ()
    not_expect: tuple[str, ...] = ()
    strict: bool = False
    description: str = ""


@dataclass(frozen=True, slots=True)
class Suite:
    """A parsed suite.  ``rule_matching`` is Falco's setting of that name for the engine the
    cases run on: ``all`` (the default here) reports every rule that matches an event,
    ``first`` only the first in load order, as Falco does by default."""

    path: Path
    rules: tuple[Path, ...]
    cases: tuple[Case, ...]
    description: str = ""
    rule_matching: str = "all"

    @property
    def rule_names(self) -> frozenset[str]:
        """Every rule name the cases refer to."""
        names: set[str] = set()
        for case in self.cases:
            names.update(e.rule for e in case.expect)
            names.update(case.not_expect)
        return frozenset(names)


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


# --- YAML with line numbers -----------------------------------------------------------------


class _SuiteLoader(yaml.SafeLoader):
    """Safe YAML that remembers where each mapping started and keeps timestamps as text
    (an audit event's ``stageTimestamp`` must reach the engine as the string it was)."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self.mapping_lines: dict[int, int] = {}


_SuiteLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != _TIMESTAMP_TAG]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def _construct_mapping(loader: _SuiteLoader, node: yaml.MappingNode) -> Any:
    data: dict[Any, Any] = {}
    loader.mapping_lines[id(data)] = node.start_mark.line + 1
    yield data
    data.update(loader.construct_mapping(node))


_SuiteLoader.add_constructor("tag:yaml.org,2002:map", _construct_mapping)


def _read_yaml(path: Path) -> tuple[Any, dict[int, int]]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SuiteError("suite file not found", path) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise SuiteError(f"cannot read suite: {exc}", path) from None
    loader = _SuiteLoader(text)
    try:
        data = loader.get_single_data()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else 0
        problem = exc.problem or exc.context or "invalid YAML"
        raise SuiteError(f"YAML error: {problem}", path, line) from None
    except yaml.YAMLError as exc:
        raise SuiteError(f"YAML error: {exc}", path) from None
    finally:
        loader.dispose()
    return data, loader.mapping_lines


# --- parsing ----------------------------------------------------------------------------------


class _Parser:
    def __init__(self, path: Path, lines: dict[int, int]) -> None:
        self.path = path
        self.base = path.parent
        self.lines = lines

    def line_of(self, value: Any, default: int = 0) -> int:
        return self.lines.get(id(value), default) if isinstance(value, dict) else default

    def fail(self, message: str, line: int = 0) -> SuiteError:
        return SuiteError(message, self.path, line)

    def check_keys(self, value: Mapping[Any, Any], allowed: frozenset[str], what: str, line: int) -> None:
        unknown = sorted(str(k) for k in value if k not in allowed)
        if unknown:
            raise self.fail(
                f"unknown key {unknown[0]!r} in {what} (expected one of: {', '.join(sorted(allowed))})", line
            )

    def suite(self, data: Any) -> Suite:
        if not isinstance(data, dict):
            raise self.fail("a suite must be a YAML mapping with 'rules' and 'tests'", 1)
        top = self.line_of(data, 1)
        self.check_keys(data, _SUITE_KEYS, "suite", top)
        strict = self.boolean(data.get("strict", False), "strict", top)
        rules = self.rules(data.get("rules"), top)
        tests = data.get("tests")
        if not isinstance(tests, list) or not tests:
            raise self.fail("'tests' must be a non-empty list of test cases", top)
        cases: list[Case] = []
        seen: dict[str, int] = {}
        for index, raw in enumerate(tests, 1):
            case = self.case(raw, index, strict, top)
            if case.name in seen:
                raise self.fail(f"duplicate test name {case.name!r} (first at line {seen[case.name]})", case.line)
            seen[case.name] = case.line
            cases.append(case)
        description = self.text(data.get("description", ""), "description", top)
        matching = data.get("rule_matching", "all")
        if matching not in _RULE_MATCHING:
            raise self.fail(f"'rule_matching' must be one of: {', '.join(_RULE_MATCHING)}", top)
        return Suite(self.path, rules, tuple(cases), description, matching)

    def rules(self, value: Any, line: int) -> tuple[Path, ...]:
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not value or not all(isinstance(v, str) and v for v in value):
            raise self.fail("'rules' must be a rules file path or a non-empty list of them", line)
        paths: list[Path] = []
        for item in value:
            path = self.base / item
            if not path.is_file():
                raise self.fail(f"rules file not found: {item} (looked for {path})", line)
            paths.append(path)
        return tuple(paths)

    def case(self, raw: Any, index: int, default_strict: bool, parent_line: int) -> Case:
        if not isinstance(raw, dict):
            raise self.fail(f"test case #{index} must be a mapping", parent_line)
        line = self.line_of(raw, parent_line)
        self.check_keys(raw, _CASE_KEYS, f"test case #{index}", line)
        name = raw.get("name")
        if name is not None and not isinstance(name, str):
            # YAML reads unquoted no/yes/on/1.0 as other types.
            raise self.fail(f"test case #{index}: 'name' must be a string, got {name!r} (quote it)", line)
        if not name or not name.strip():
            raise self.fail(f"test case #{index} needs a 'name'", line)
        events_raw = raw.get("events")
        if not isinstance(events_raw, list) or not events_raw:
            raise self.fail(f"test {name!r}: 'events' must be a non-empty list", line)
        events = tuple(self.event(item, name, line) for item in events_raw)
        expect_raw = raw.get("expect", [])
        if expect_raw is None:
            expect_raw = []
        if not isinstance(expect_raw, list):
            raise self.fail(f"test {name!r}: 'expect' must be a list", line)
        expect = tuple(self.expected(item, name, line) for item in expect_raw)
        not_expect_raw = raw.get("not_expect", [])
        if not_expect_raw is None:
            not_expect_raw = []
        if not isinstance(not_expect_raw, list) or not all(isinstance(r, str) and r for r in not_expect_raw):
            raise self.fail(f"test {name!r}: 'not_expect' must be a list of rule names", line)
        clash = sorted({e.rule for e in expect} & set(not_expect_raw))
        if clash:
            raise self.fail(f"test {name!r}: rule {clash[0]!r} is both expected and not expected", line)
        strict = self.boolean(raw.get("strict", default_strict), f"test {name!r}: strict", line)
        if not expect and not not_expect_raw and not strict:
            raise self.fail(f"test {name!r} checks nothing: give 'expect', 'not_expect' or 'strict: true'", line)
        description = self.text(raw.get("description", ""), f"test {name!r}: description", line)
        return Case(name, line, events, expect, tuple(not_expect_raw), strict, description)

    def event(self, item: Any, case: str, case_line: int) -> EventSource:
        if not isinstance(item, dict):
            raise self.fail(f"test {case!r}: each event must be a mapping (an event, or {{file: PATH}})", case_line)
        line = self.line_of(item, case_line)
        if set(item) == {"file"}:
            file = item["file"]
            if not isinstance(file, str) or not file:
                raise self.fail(f"test {case!r}: 'file' must be a path", line)
            path = self.base / file
            if not path.is_file():
                raise self.fail(f"test {case!r}: events file not found: {file} (looked for {path})", line)
            return EventSource(line, file=path)
        problem = _json_problem(item)
        if problem:
            raise self.fail(f"test {case!r}: event is not JSON data: {problem}", line)
        return EventSource(line, inline=item)

    def expected(self, item: Any, case: str, case_line: int) -> ExpectedAlert:
        if isinstance(item, str) and item:
            return ExpectedAlert(item, line=case_line)
        if not isinstance(item, dict):
            raise self.fail(f"test {case!r}: each 'expect' item must be a rule name or a mapping", case_line)
        line = self.line_of(item, case_line)
        self.check_keys(item, _EXPECT_KEYS, f"an 'expect' item of test {case!r}", line)
        rule = item.get("rule")
        if not isinstance(rule, str) or not rule:
            raise self.fail(f"test {case!r}: 'expect' item needs a 'rule'", line)
        count = item.get("count")
        if count is not None and (type(count) is not int or count < 0):
            raise self.fail(f"test {case!r}: 'count' of {rule!r} must be a whole number >= 0", line)
        output = item.get("output")
        if output is not None and (not isinstance(output, str) or not output):
            raise self.fail(f"test {case!r}: 'output' of {rule!r} must be a non-empty string", line)
        priority_raw = item.get("priority")
        priority: Priority | None = None
        if priority_raw is not None:
            if not isinstance(priority_raw, str):
                raise self.fail(f"test {case!r}: 'priority' of {rule!r} must be a priority name", line)
            try:
                priority = Priority.parse(priority_raw)
            except ValueError as exc:
                raise self.fail(f"test {case!r}: {exc}", line) from None
        return ExpectedAlert(rule, count, output, priority, line)

    def boolean(self, value: Any, what: str, line: int) -> bool:
        if not isinstance(value, bool):
            raise self.fail(f"{what} must be true or false", line)
        return value

    def text(self, value: Any, what: str, line: int) -> str:
        if not isinstance(value, str):
            raise self.fail(f"{what} must be a string", line)
        return value


_MAX_EVENT_DEPTH = 128
_MAX_EVENT_NODES = 1_000_000


def _json_problem(value: Any) -> str | None:
    """Why ``value`` is not plain JSON data (string keys; str/int/float/bool/null leaves), or
    is too deep or too large to be one (YAML aliases can make cycles and exponential trees)."""
    budget = [_MAX_EVENT_NODES]

    def walk(item: Any, path: str, depth: int) -> str | None:
        budget[0] -= 1
        if budget[0] < 0:
            return "it is too large"
        if depth > _MAX_EVENT_DEPTH:
            return f"it is nested deeper than {_MAX_EVENT_DEPTH} levels at {path}"
        if isinstance(item, dict):
            for key, sub in item.items():
                if not isinstance(key, str):
                    return f"key {key!r} at {path or 'top level'} is not a string"
                problem = walk(sub, f"{path}/{key}", depth + 1)
                if problem:
                    return problem
            return None
        if isinstance(item, list):
            for i, sub in enumerate(item):
                problem = walk(sub, f"{path}/{i}", depth + 1)
                if problem:
                    return problem
            return None
        if item is None or isinstance(item, str | int | float | bool):
            return None
        return f"value at {path} has YAML type {type(item).__name__}"

    return walk(value, "", 0)


def load_suite(path: str | Path) -> Suite:
    """Read and validate one suite file; raise :class:`SuiteError` with where it went wrong."""
    suite_path = Path(path)
    data, lines = _read_yaml(suite_path)
    return _Parser(suite_path, lines).suite(data)


def looks_like_suite(path: Path) -> bool:
    """Whether a YAML file found in a directory should be run as a suite: its top level is a
    mapping (rules files are sequences).  Files that do not parse count, so their error shows."""
    try:
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=_SuiteLoader)
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return True
    return isinstance(data, dict)
