"""Test doubles for the sidecar's unit tests: a tiny rules loader and engine.

Rules are YAML items ``{rule, condition, output, priority, source}`` whose condition is
``field = value`` clauses joined by `` and ``; a condition that does not parse is a load error.
Only the service's own unit tests use these; the integration tests run the real stages.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson
import yaml

from detector.priority import Priority
from detector.service.internal import iso8601_ns, local_clock_ns
from detector.service.service import Dependencies


@dataclass(frozen=True)
class FakeRule:
    name: str
    clauses: tuple[tuple[str, str], ...]
    output: str
    priority: Priority
    source: str
    tags: tuple[str, ...] = ()


@dataclass(frozen=True)
class FakeResult:
    ruleset: list[FakeRule]
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class FakeAlert:
    rule: str
    priority: Priority
    source: str
    time_ns: int
    output: str
    output_fields: dict[str, Any]
    hostname: str = "test-host"
    tags: tuple[str, ...] = ()

    def to_json(self) -> bytes:
        return orjson.dumps(
            {
                "hostname": self.hostname,
                "output": f"{local_clock_ns(self.time_ns)}: {self.priority.title} {self.output}",
                "output_fields": self.output_fields,
                "priority": self.priority.title,
                "rule": self.rule,
                "source": self.source,
                "tags": list(self.tags),
                "time": iso8601_ns(self.time_ns),
            }
        )

    def to_text(self) -> str:
        return f"{local_clock_ns(self.time_ns)}: {self.priority.title} {self.output}"


def fake_load_rules(*paths: str) -> FakeResult:
    rules: list[FakeRule] = []
    errors: list[str] = []
    for path in paths:
        try:
            with open(path, encoding="utf-8") as handle:
                items = yaml.safe_load(handle) or []
        except (OSError, yaml.YAMLError) as exc:
            errors.append(f"{path}: {exc}")
            continue
        for item in items:
            clauses = []
            for clause in str(item.get("condition", "")).split(" and "):
                name, sep, value = clause.partition("=")
                if not sep or not name.strip() or not value.strip():
                    errors.append(f"{path}: rule {item.get('rule')}: cannot parse condition {clause!r}")
                    break
                clauses.append((name.strip(), value.strip()))
            rules.append(
                FakeRule(
                    str(item["rule"]),
                    tuple(clauses),
                    str(item.get("output", "")),
                    Priority.parse(str(item.get("priority", "warning"))),
                    str(item.get("source", "syscall")),
                    tuple(item.get("tags", ())),
                )
            )
    return FakeResult(rules, errors)


class FakeEngine:
    def __init__(self, rules: Sequence[FakeRule], min_priority: Priority) -> None:
        self.rules = [r for r in rules if r.priority.at_least(min_priority)]

    def process(self, event: Mapping[str, Any], source: str = "syscall") -> list[FakeAlert]:
        found = []
        for rule in self.rules:
            if rule.source != source:
                continue
            if all(str(event.get(k)) == v for k, v in rule.clauses):
                fields = dict(event) if source == "syscall" else {k: event.get(k) for k, _ in rule.clauses}
                found.append(
                    FakeAlert(rule.name, rule.priority, source, 1_700_000_000_123_456_789, rule.output, fields,
                              tags=rule.tags)
                )
        return found


def fake_recognise(value: Any, *, on_item_rejected: Any = None) -> list[tuple[str, Any]]:
    if not isinstance(value, dict):
        if isinstance(value, list):
            out: list[tuple[str, Any]] = []
            for item in value:
                out.extend(fake_recognise(item))
            return out
        raise ValueError("expected a JSON object")
    if value.get("kind") == "Event":
        return [("k8s_audit", value)]
    if value.get("kind") == "EventList":
        return [("k8s_audit", item) for item in value.get("items", [])]
    if "rule" in value and "priority" in value:
        return [(str(value.get("source", "syscall")), value.get("output_fields") or {})]
    return [("syscall", value)]


def fake_dependencies() -> Dependencies:
    return Dependencies(
        loader=fake_load_rules,
        engine_factory=lambda ruleset, config: FakeEngine(ruleset, config.priority),
        recognise=fake_recognise,
    )
