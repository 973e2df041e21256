"""What the reader hands the collector: one record per rules-file item, as Falco's ``*_info``."""

from __future__ import annotations

from dataclasses import dataclass

from detector.loader.context import Context, SourcedText
from detector.loader.yamltree import YNode
from detector.priority import Priority


@dataclass(frozen=True, slots=True)
class Entry:
    """An exception ``fields``/``comps``/``values`` entry: a scalar or a (nested) list."""

    is_list: bool = False
    item: str = ""
    items: tuple[Entry, ...] = ()
    node: YNode | None = None

    @property
    def is_valid(self) -> bool:
        return bool(self.items) if self.is_list else self.item != ""

    def as_plain(self) -> str | tuple[object, ...]:
        return tuple(e.as_plain() for e in self.items) if self.is_list else self.item


@dataclass(frozen=True, slots=True)
class ExceptionInfo:
    name: str
    fields: Entry
    comps: Entry
    values: tuple[Entry, ...]
    ctx: Context


@dataclass(frozen=True, slots=True)
class EngineVersionInfo:
    version: str
    ctx: Context


@dataclass(frozen=True, slots=True)
class PluginVersionInfo:
    alternatives: tuple[tuple[str, str], ...]
    ctx: Context


@dataclass(frozen=True, slots=True)
class ListInfo:
    name: str
    items: tuple[str, ...]
    ctx: Context
    index: int = 0
    visibility: int = 0


@dataclass(frozen=True, slots=True)
class MacroInfo:
    name: str
    cond: SourcedText
    ctx: Context
    index: int = 0
    visibility: int = 0


@dataclass(frozen=True, slots=True)
class RuleInfo:
    name: str
    ctx: Context
    cond: SourcedText
    output: SourcedText
    desc: str = ""
    priority: Priority = Priority.DEBUG
    source: str = "syscall"
    enabled: bool = True
    warn_evttypes: bool = True
    skip_if_unknown_filter: bool = False
    capture: bool = False
    capture_duration: int = 0
    tags: frozenset[str] = frozenset()
    exceptions: tuple[ExceptionInfo, ...] = ()
    unknown_source: bool = False
    index: int = 0
    visibility: int = 0


@dataclass(frozen=True, slots=True)
class RuleUpdate:
    """An append or a selective replace of an existing rule (Falco's ``rule_update_info``)."""

    name: str
    ctx: Context
    cond: SourcedText | None = None
    output: SourcedText | None = None
    desc: str | None = None
    tags: frozenset[str] | None = None
    exceptions: tuple[ExceptionInfo, ...] | None = None
    priority: Priority | None = None
    enabled: bool | None = None
    warn_evttypes: bool | None = None
    skip_if_unknown_filter: bool | None = None
    capture: bool | None = None
    capture_duration: int | None = None
    source: str | None = None

    def has_any_value(self) -> bool:
        return any(v is not None for v in (
            self.cond, self.output, self.desc, self.tags, self.exceptions, self.priority,
            self.enabled, self.warn_evttypes, self.skip_if_unknown_filter, self.capture,
            self.capture_duration,
        ))


@dataclass(frozen=True, slots=True)
class EnableInfo:
    """A rule item carrying only ``enabled``: switch an existing rule on or off."""

    name: str
    enabled: bool
    ctx: Context
