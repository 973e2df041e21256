"""Settings of a rules loader: event sources, engine-added output text, and safety limits."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final

DEFAULT_SOURCES: Final = frozenset({"syscall", "k8s_audit"})


@dataclass(frozen=True, slots=True)
class ExtraOutput:
    """Text appended to the output of matching rules (Falco's ``append_output`` format entries).

    Empty ``source``/``rule`` match every rule; a rule must carry all ``tags``.
    """

    format: str
    source: str = ""
    tags: frozenset[str] = frozenset()
    rule: str = ""

    def applies(self, rule: str, source: str, tags: frozenset[str]) -> bool:
        return ((not self.source or self.source == source) and self.tags <= tags
                and (not self.rule or self.rule == rule))


@dataclass(frozen=True, slots=True)
class ExtraOutputField:
    """A named extra field added to matching rules' ``output_fields`` (``append_output`` fields)."""

    key: str
    format: str
    source: str = ""
    tags: frozenset[str] = frozenset()
    rule: str = ""
    raw: bool = False

    def applies(self, rule: str, source: str, tags: frozenset[str]) -> bool:
        return ((not self.source or self.source == source) and self.tags <= tags
                and (not self.rule or self.rule == rule))


@dataclass(frozen=True, slots=True)
class LoaderOptions:
    """How rules are loaded.

    ``sources`` are the event sources this engine has (rules of others are skipped
    with a warning); the limits bound what a hostile rules file can cost.
    """

    sources: frozenset[str] = DEFAULT_SOURCES
    all_errors: bool = False
    extra_outputs: tuple[ExtraOutput, ...] = ()
    extra_output_fields: tuple[ExtraOutputField, ...] = field(default=())
    max_file_bytes: int = 32 * 1024 * 1024
    max_yaml_depth: int = 200
    max_macro_nodes: int = 50_000
