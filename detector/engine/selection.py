"""Rule selection as Falco's ``rules:`` setting does it.

Falco applies a list of ``enable``/``disable`` actions in order, each naming
rules by name (with ``*`` wildcards) or by tag, on top of each rule's own
``enabled`` flag.  The last action that names a rule wins.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal, Protocol


class _RuleLike(Protocol):
    @property
    def name(self) -> str: ...

    @property
    def tags(self) -> frozenset[str]: ...

    @property
    def enabled(self) -> bool: ...


@dataclass(frozen=True, slots=True)
class SelectionAction:
    """One ``enable``/``disable`` entry: by rule name pattern or by tag."""

    action: Literal["enable", "disable"]
    rule: str | None = None
    tag: str | None = None

    def applies_to(self, rule: _RuleLike) -> bool:
        if self.rule is not None and fnmatch.fnmatchcase(rule.name, self.rule):
            return True
        return self.tag is not None and self.tag in rule.tags


class SelectionError(ValueError):
    """A malformed ``rules:`` entry."""


@dataclass(frozen=True, slots=True)
class RuleSelection:
    actions: tuple[SelectionAction, ...] = ()

    def is_enabled(self, rule: _RuleLike) -> bool:
        enabled = rule.enabled
        for action in self.actions:
            if action.applies_to(rule):
                enabled = action.action == "enable"
        return enabled

    @classmethod
    def from_config(cls, entries: Sequence[object] | None) -> RuleSelection:
        """Parse falco.yaml's ``rules:`` list: ``[{disable: {rule: "*"}}, {enable: {tag: network}}]``."""
        actions: list[SelectionAction] = []
        for entry in entries or ():
            if not isinstance(entry, dict) or len(entry) != 1:
                raise SelectionError(f"each 'rules' entry must be a mapping with one key, got {entry!r}")
            (verb, target), = entry.items()
            if verb not in ("enable", "disable") or not isinstance(target, dict):
                raise SelectionError(f"'rules' entry must be 'enable' or 'disable' with a mapping, got {entry!r}")
            rule = target.get("rule")
            tag = target.get("tag")
            if rule is None and tag is None:
                raise SelectionError(f"'rules' entry {entry!r} names neither a rule nor a tag")
            actions.append(SelectionAction(verb, None if rule is None else str(rule),
                                           None if tag is None else str(tag)))
        return cls(tuple(actions))

    def extended(self, actions: Iterable[SelectionAction]) -> RuleSelection:
        return RuleSelection(self.actions + tuple(actions))
