"""The engine: events in, alerts out.

Rules are grouped by source and, within a source, indexed by event type
(`EventTypeIndex`).  For each event type seen, the rules of that type are
compiled together into one function (``detector.codegen.bucket``) that returns
the set of matching rules as a bit mask, with the type's own checks folded
away and shared conditions evaluated once.  Falco's ``rule_matching`` decides
what happens when more than one rule matches an event: ``first`` (Falco's
default) emits the first matching rule in load order, ``all`` emits every
match.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import tzinfo
from typing import Any, Literal

from detector.engine.buckets import Bucket, BucketCache
from detector.engine.index import EventTypeIndex
from detector.engine.prefilter import LinePrefilter
from detector.engine.selection import RuleSelection
from detector.loader.model import CompiledRule, Ruleset
from detector.outputs.alert import Alert, default_hostname
from detector.outputs.format import OutputFormat
from detector.priority import Priority

RuleMatching = Literal["first", "all"]


@dataclass(frozen=True, slots=True)
class EngineOptions:
    """Engine settings named as in falco.yaml."""

    priority: Priority = Priority.DEBUG
    rule_matching: RuleMatching = "first"
    selection: RuleSelection = field(default_factory=RuleSelection)
    hostname: str | None = None
    time_format_iso_8601: bool = False
    tz: tzinfo | None = None


@dataclass(frozen=True, slots=True)
class _ActiveRule:
    rule: CompiledRule
    matches: Callable[[Any], bool]
    output: OutputFormat
    tags: tuple[str, ...]

    @property
    def evttypes(self) -> frozenset[str] | None:
        return self.rule.evttypes

    @property
    def checked(self) -> Any:
        return self.rule.compiled.checked


class Engine:
    """Evaluates events against the enabled rules of a ruleset.

    ``process(event, source)`` returns the alerts for one event.  The engine
    holds no per-event state, so one instance may serve a whole stream.
    """

    def __init__(self, ruleset: Ruleset, options: EngineOptions | None = None, **settings: Any) -> None:
        if options is None:
            options = EngineOptions(**settings)
        elif settings:
            raise TypeError("pass either options or keyword settings, not both")
        self._ruleset = ruleset
        self._options = options
        self._hostname = options.hostname if options.hostname is not None else default_hostname()
        active: dict[str, list[_ActiveRule]] = {}
        for rule in ruleset.rules:
            if not rule.priority.at_least(options.priority):
                continue
            if not options.selection.is_enabled(rule):
                continue
            output = OutputFormat.compile(rule.output, rule.source)
            active.setdefault(rule.source, []).append(
                _ActiveRule(rule, rule.compiled.matches, output, tuple(sorted(rule.tags)))
            )
        self._indexes: dict[str, EventTypeIndex[_ActiveRule]] = {
            source: EventTypeIndex(rules) for source, rules in active.items()
        }
        self._first = options.rule_matching == "first"
        self._buckets: dict[str, BucketCache[_ActiveRule]] = {
            source: BucketCache(source, index) for source, index in self._indexes.items()
        }
        syscall = self._buckets.get("syscall")
        # The syscall buckets built so far, looked up directly on the hot path (a dict lookup in C;
        # ``BucketCache.get`` builds the missing ones).
        self._syscall_built: Mapping[str | None, Bucket[_ActiveRule]] = {} if syscall is None else syscall.built

    @property
    def ruleset(self) -> Ruleset:
        return self._ruleset

    @property
    def options(self) -> EngineOptions:
        return self._options

    def enabled_rules(self, source: str | None = None) -> tuple[CompiledRule, ...]:
        """The rules this engine evaluates, in load order."""
        found: list[CompiledRule] = []
        for src, index in self._indexes.items():
            if source is None or src == source:
                found.extend(active.rule for active in index.rules)
        return tuple(found)

    def matching_rules(self, event: Mapping[str, Any], source: str = "syscall") -> list[CompiledRule]:
        """The rules that match ``event``, honouring ``rule_matching``, without rendering alerts."""
        found = self._match(event, source)
        return [active.rule for active in found] if found else []

    def bucket(self, source: str, evttype: str | None) -> Bucket[_ActiveRule] | None:
        """The compiled rules of one event type (``None``: events without a type), or ``None``
        when the source has no enabled rule or the bucket cache is full."""
        cache = self._buckets.get(source)
        if cache is None:
            return None
        return cache.get(evttype)

    def line_prefilter(self) -> LinePrefilter:
        """A prefilter for ``read_records(..., prefilter=...)``: drops syscall lines no enabled
        rule can match before they are decoded in full (``detector.engine.prefilter``)."""
        cache = self._buckets.get("syscall")
        if cache is None:
            cache = BucketCache("syscall", EventTypeIndex([]))
        return LinePrefilter(cache)

    @property
    def cache_stats(self) -> dict[str, Any]:
        """Sizes and limits of the engine's caches, per source."""
        return {source: cache.stats() for source, cache in sorted(self._buckets.items())}

    def _match(self, event: Mapping[str, Any], source: str, matched: int | None = None) -> list[_ActiveRule]:
        if source == "syscall":
            evttype = event.get("evt.type")
            key = evttype if evttype.__class__ is str else None
            bucket = self._syscall_built.get(key)
        else:
            key = bucket = None
        if bucket is None:
            cache = self._buckets.get(source)
            if cache is None:
                return []
            bucket = cache.get(key)
            if bucket is None:
                return self._match_each(cache.index.for_type(key), event)
        mask = bucket.evaluate(event) if matched is None else matched
        if not mask:
            return []
        rules = bucket.rules
        if self._first:
            return [rules[(mask & -mask).bit_length() - 1]]
        return [rules[i] for i in range(mask.bit_length()) if mask >> i & 1]

    def _match_each(self, candidates: Iterable[_ActiveRule], event: Mapping[str, Any]) -> list[_ActiveRule]:
        """Rule by rule, for types past the bucket cache's limit."""
        matched: list[_ActiveRule] = []
        for active in candidates:
            if active.matches(event):
                matched.append(active)
                if self._first:
                    break
        return matched

    def candidates(self, event: Mapping[str, Any], source: str = "syscall") -> tuple[_ActiveRule, ...]:
        """The enabled rules of ``source`` that ``event``'s type can match, in load order."""
        cache = self._buckets.get(source)
        if cache is None:
            return ()
        evttype = event.get("evt.type") if source == "syscall" else None
        return cache.index.for_type(evttype if evttype.__class__ is str else None)

    def alerts_for(self, matched: Sequence[_ActiveRule], event: Mapping[str, Any], source: str) -> list[Alert]:
        """Alerts for rules found to match ``event`` (as ``process`` renders them)."""
        if not matched:
            return []
        now = time.time_ns()
        return [self._alert(active, event, source, now) for active in matched]

    def process(self, event: Mapping[str, Any], source: str = "syscall", matched: int | None = None) -> list[Alert]:
        """Alerts for one event of ``source``, in rule load order.  ``matched``: the mask of the
        type's rules known to match (``Record.matched``, from the line prefilter), else ``None``."""
        found = self._match(event, source, matched)
        if not found:
            return []
        now = time.time_ns()
        return [self._alert(active, event, source, now) for active in found]

    def _alert(self, active: _ActiveRule, event: Mapping[str, Any], source: str, now: int) -> Alert:
        rule = active.rule
        return Alert.from_event(
            rule=rule.name,
            priority=rule.priority,
            source=source,
            output=active.output,
            event=event,
            tags=active.tags,
            hostname=self._hostname,
            default_time_ns=now,
            iso8601=self._options.time_format_iso_8601,
            tz=self._options.tz,
        )

    def process_many(self, events: Iterable[tuple[str, Mapping[str, Any]]]) -> list[Alert]:
        """Convenience for tests and small inputs: ``(source, event)`` pairs in, alerts out."""
        alerts: list[Alert] = []
        for source, event in events:
            alerts.extend(self.process(event, source))
        return alerts
