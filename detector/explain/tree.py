"""What an explanation is made of: one evaluated node per sub-expression, and the verdict.

The tree mirrors the condition as written: macros stay nodes (with their body as the one
child), and a rule's exceptions are their own nodes, so a reader can follow "why" down the
same structure they wrote.  Every node records whether it was evaluated at all: Falco stops
an ``and`` at its first false child and an ``or`` at its first true one, and the explanation
shows the rest as not evaluated rather than inventing results for them.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any, Literal

NodeKind = Literal["and", "or", "not", "macro", "check", "condition", "exception"]


class Outcome(enum.Enum):
    """A node's result.  ``ABSENT`` is false because a field had no value (Falco compares
    nothing with an absent value, ``!=`` included); ``SKIPPED`` was never evaluated."""

    TRUE = "true"
    FALSE = "false"
    ABSENT = "absent"
    SKIPPED = "not evaluated"

    @property
    def value_bool(self) -> bool | None:
        if self is Outcome.SKIPPED:
            return None
        return self is Outcome.TRUE

    @staticmethod
    def of(value: bool) -> Outcome:
        return Outcome.TRUE if value else Outcome.FALSE


@dataclass(frozen=True, slots=True)
class FieldValue:
    """A field a check read, and the typed value it had (``None``: absent)."""

    field: str
    value: Any

    @property
    def absent(self) -> bool:
        return self.value is None


@dataclass(frozen=True, slots=True)
class Step:
    """One node of the evaluation tree.

    ``text`` is a check in condition syntax, a macro's or exception's name, the rule's
    condition as written (``condition``) or the operator (``and``/``or``/``not``); ``label``
    is the same for people (long lists shortened to their list name or first items).
    ``decisive`` marks the nodes whose result decided their parent's (the path to follow to
    answer "why").  ``fields`` is set on checks only.
    """

    kind: NodeKind
    text: str
    outcome: Outcome
    children: tuple[Step, ...] = ()
    fields: tuple[FieldValue, ...] = ()
    name: str | None = None
    decisive: bool = False
    label: str = ""

    @property
    def evaluated(self) -> bool:
        return self.outcome is not Outcome.SKIPPED

    def walk(self) -> list[Step]:
        """This node and every node below it, depth first, in written order."""
        out: list[Step] = []
        stack: list[Step] = [self]
        while stack:
            node = stack.pop()
            out.append(node)
            stack.extend(reversed(node.children))
        return out


@dataclass(frozen=True, slots=True)
class Reason:
    """A check (or exception) that decided the result, as the verdict names it."""

    kind: Literal["check", "exception", "source", "disabled"]
    text: str
    outcome: Outcome
    fields: tuple[FieldValue, ...] = ()
    name: str | None = None


@dataclass(frozen=True, slots=True)
class Explanation:
    """The evaluation of one target (a rule or a condition) on one event.

    ``result`` is what the condition (with exceptions) evaluates to, which the engine's
    compiled condition agrees with; ``fired`` also needs the rule enabled and the event of
    the rule's source.  ``tree`` is ``None`` when the event was not evaluated at all (an event
    of another source).  ``verdict`` is the one-line answer.
    """

    result: bool
    fired: bool
    verdict: str
    reasons: tuple[Reason, ...]
    tree: Step | None
    source: str
