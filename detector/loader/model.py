"""What loading rules produces: compiled rules, lists and macros, and Falco-style diagnostics."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from detector.codegen import CompiledCondition
from detector.language.ast import Expr
from detector.loader import codes
from detector.priority import Priority


@dataclass(frozen=True, slots=True)
class Location:
    """One step of where a diagnostic happened, outermost first (Falco's context locations).

    ``line`` and ``column`` are 1-based; ``offset`` is a 0-based character offset.
    """

    item_type: str
    item_name: str
    file: str
    offset: int
    line: int
    column: int

    def to_json(self) -> dict[str, Any]:
        return {
            "item_type": self.item_type,
            "item_name": self.item_name,
            "position": {"name": self.file, "line": self.line, "column": self.column,
                         "offset": self.offset},
        }


@dataclass(frozen=True, slots=True)
class Diagnostic:
    """An error or warning with Falco's code and message, and where it happened.

    ``file``/``line``/``column`` is the most precise position known (inside a
    condition when the problem is there); ``item_kind``/``item_name`` is the
    rules-file item it belongs to (``rule``/``macro``/``list``/``exception``...).
    """

    code: str
    message: str
    file: str
    line: int
    column: int
    item_kind: str
    item_name: str
    snippet: str
    is_error: bool
    locations: tuple[Location, ...] = ()

    @property
    def title(self) -> str:
        return codes.title(self.code)

    @property
    def where(self) -> str:
        return f"{self.file}:{self.line}:{self.column}"

    def describe(self) -> str:
        """Falco's verbose text for one error or warning (``as_verbose_string``)."""
        lines = []
        for i, loc in enumerate(self.locations):
            name = f" '{loc.item_name}'" if loc.item_name else ""
            lines.append(f"{'In ' if i == 0 else '    '}{loc.item_type}{name}: "
                         f"({loc.file}:{loc.line}:{loc.column})")
        lines.append("------")
        lines.append(self.snippet)
        lines.append("------")
        lines.append(f"{self.code} ({self.title}): {self.message}")
        return "\n".join(lines)

    def to_json(self) -> dict[str, Any]:
        """Falco's JSON shape for one error or warning, plus flat position fields."""
        return {
            "code": self.code,
            "codedesc": self.title,
            "message": self.message,
            "context": {
                "locations": [loc.to_json() for loc in self.locations],
                "snippet": self.snippet + "\n",
            },
            "file": self.file,
            "line": self.line,
            "column": self.column,
            "item_type": self.item_kind,
            "item_name": self.item_name,
        }


@dataclass(frozen=True, slots=True)
class CompiledList:
    """A list after list-in-list expansion.  ``items`` are the raw item texts."""

    name: str
    items: tuple[str, ...]
    used: bool
    file: str
    line: int


@dataclass(frozen=True, slots=True)
class CompiledMacro:
    """A macro: its condition text (appends joined), its AST as written (``parsed``, lists
    substituted) and with macros expanded (``expr``)."""

    name: str
    condition: str
    expr: Expr
    used: bool
    file: str
    line: int
    parsed: Expr | None = None


@dataclass(frozen=True, slots=True)
class RuleException:
    """One ``exceptions`` entry as collected (after appends): fields, comps, values."""

    name: str
    fields: str | tuple[Any, ...]
    comps: str | tuple[Any, ...]
    values: tuple[Any, ...]


@dataclass(frozen=True, slots=True)
class CompiledRule:
    """A rule ready for the engine.

    ``condition`` is the text as written (appends joined with a space);
    ``condition_compiled`` is libsinsp's ``as_string`` of ``expr``, the AST after
    exceptions, list substitution and macro expansion; ``output`` is the output
    format after engine extras and ``%container.info`` removal.
    """

    name: str
    desc: str
    condition: str
    condition_compiled: str
    expr: Expr
    compiled: CompiledCondition
    output: str
    priority: Priority
    source: str
    tags: frozenset[str]
    enabled: bool
    evttypes: frozenset[str] | None
    file: str
    line: int
    skip_if_unknown_filter: bool = False
    warn_evttypes: bool = True
    capture: bool = False
    capture_duration: int = 0
    exceptions: tuple[RuleException, ...] = ()
    exception_fields: frozenset[str] = frozenset()
    extra_output_fields: tuple[tuple[str, str], ...] = ()
    id: int = 0

    def matches(self, event: Any) -> bool:
        return self.compiled.matches(event)


@dataclass(frozen=True, slots=True)
class PluginRequirement:
    """One ``required_plugin_versions`` entry: acceptable (name, version) alternatives."""

    alternatives: tuple[tuple[str, str], ...]


@dataclass(frozen=True, slots=True)
class Ruleset:
    """Rules in load order, with the lists and macros they were built from."""

    rules: tuple[CompiledRule, ...] = ()
    lists: tuple[CompiledList, ...] = ()
    macros: tuple[CompiledMacro, ...] = ()
    required_engine_version: str | None = None
    required_plugin_versions: tuple[PluginRequirement, ...] = ()

    def __iter__(self) -> Iterator[CompiledRule]:
        return iter(self.rules)

    def __len__(self) -> int:
        return len(self.rules)

    def rule(self, name: str) -> CompiledRule | None:
        for r in self.rules:
            if r.name == name:
                return r
        return None

    def macro(self, name: str) -> CompiledMacro | None:
        for m in self.macros:
            if m.name == name:
                return m
        return None

    def list(self, name: str) -> CompiledList | None:
        for lst in self.lists:
            if lst.name == name:
                return lst
        return None

    def for_source(self, source: str) -> tuple[CompiledRule, ...]:
        return tuple(r for r in self.rules if r.source == source)

    @property
    def sources(self) -> frozenset[str]:
        return frozenset(r.source for r in self.rules)


@dataclass(frozen=True, slots=True)
class FileResult:
    """The result of loading one rules content, as Falco reports it per file."""

    name: str
    errors: tuple[Diagnostic, ...] = ()
    warnings: tuple[Diagnostic, ...] = ()
    schema_validation: str = "none"

    @property
    def successful(self) -> bool:
        return not self.errors

    def summary(self) -> str:
        """Falco's ``<name>: Ok`` / ``Ok, with warnings`` / ``Invalid`` line."""
        if self.errors:
            return f"{self.name}: Invalid"
        return f"{self.name}: Ok, with warnings" if self.warnings else f"{self.name}: Ok"

    def describe(self) -> str:
        """Falco's verbose result text (``as_string(true)``)."""
        parts = [self.summary()]
        if self.errors:
            parts.append(f"{len(self.errors)} Errors:")
            parts.extend(d.describe() for d in self.errors)
        if self.warnings:
            if self.errors:
                parts.append("")
            parts.append(f"{len(self.warnings)} Warnings:")
            parts.extend(d.describe() for d in self.warnings)
        return "\n".join(parts)

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "successful": self.successful,
            "errors": [d.to_json() for d in self.errors],
            "warnings": [d.to_json() for d in self.warnings],
            "schema_validation": self.schema_validation,
        }


@dataclass(frozen=True, slots=True)
class LoadResult:
    """A ruleset and every diagnostic of loading it.

    ``errors``/``warnings`` gather every file's diagnostics (a warning repeated by
    the recompilation after each file is kept once); ``files`` keeps Falco's
    per-file results.  When there are errors the ruleset holds what did compile.
    """

    ruleset: Ruleset
    errors: tuple[Diagnostic, ...] = ()
    warnings: tuple[Diagnostic, ...] = ()
    files: tuple[FileResult, ...] = field(default=())

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def diagnostics(self) -> tuple[Diagnostic, ...]:
        return self.errors + self.warnings
