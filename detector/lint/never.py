"""Rules that can never fire: conditions false for every event, found without any event.

Event-type sets come from ``detector.codegen`` (an empty set means no event type can
satisfy the condition).  Beyond that a three-valued walk of the compiled condition uses the
per-check facts of ``checks.static_truth`` and one relational fact: inside one ``and``, equality
checks on the same single-valued field that no value satisfies together (``proc.name = a and
proc.name in (b, c)``, ``x = a and x != a``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from detector.codegen.check import deep_recursion, expr_depth
from detector.fields.registry import FieldSource
from detector.fields.types import LiteralError, parse_literal
from detector.language import as_string
from detector.language.ast import (
    And,
    BinaryCheck,
    Expr,
    FieldRef,
    ListValue,
    MacroRef,
    Not,
    Or,
    UnaryCheck,
    Value,
)
from detector.lint.checks import bind, static_truth


@dataclass(frozen=True, slots=True)
class Verdict:
    """``truth`` of a sub-expression on every event (``None``: depends) and why."""

    truth: bool | None
    why: str = ""


_UNKNOWN = Verdict(None)


def _flatten_and(node: And) -> list[Expr]:
    out: list[Expr] = []
    stack: list[Expr] = [node]
    while stack:
        cur = stack.pop()
        if isinstance(cur, And):
            stack.extend(reversed(cur.children))
        else:
            out.append(cur)
    return out


def _values(check: BinaryCheck, source: FieldSource) -> tuple[str, frozenset[Any]] | None:
    """``(field, values)`` of an equality check on a single-valued field, else ``None``."""
    if not isinstance(check.left, FieldRef) or check.modifier is not None:
        return None
    texts: tuple[str, ...]
    if check.op in ("=", "==", "!=") and isinstance(check.right, Value):
        texts = (check.right.text,)
    elif check.op == "in" and isinstance(check.right, ListValue):
        texts = check.right.items
    else:
        return None
    bound = bind(check, source)
    if bound is None or bound.multi is not None or bound.is_list:
        return None
    try:
        parsed = frozenset(parse_literal(bound.type, t) for t in texts)
    except (LiteralError, TypeError):
        return None
    return as_string(check.left), parsed


def _contradiction(children: list[Expr], source: FieldSource) -> str | None:
    allowed: dict[str, tuple[frozenset[Any], list[str]]] = {}
    banned: dict[str, set[Any]] = {}
    for child in children:
        if not isinstance(child, BinaryCheck):
            continue
        found = _values(child, source)
        if found is None:
            continue
        field, values = found
        if child.op == "!=":
            banned.setdefault(field, set()).update(values)
            continue
        if field in allowed:
            prev, texts = allowed[field]
            allowed[field] = (prev & values, texts + [as_string(child)])
        else:
            allowed[field] = (values, [as_string(child)])
    for field, (values, texts) in allowed.items():
        left = values - banned.get(field, set())
        if not left:
            also = f" and {field} != ..." if values and field in banned else ""
            return f"no value of {field} satisfies {' and '.join(texts)}{also}"
    return None


class _Walker:
    def __init__(self, source: FieldSource, labels: Mapping[str, str]) -> None:
        self.source = source
        self.labels = labels

    def text(self, node: Expr) -> str:
        text = as_string(node)
        return self.labels.get(text, text)

    def visit(self, node: Expr) -> Verdict:
        if isinstance(node, And):
            children = _flatten_and(node)
            unknown = False
            for child in children:
                verdict = self.visit(child)
                if verdict.truth is False:
                    return verdict
                unknown = unknown or verdict.truth is None
            clash = _contradiction(children, self.source)
            if clash is not None:
                return Verdict(False, clash)
            return _UNKNOWN if unknown else Verdict(True)
        if isinstance(node, Or):
            verdicts = [self.visit(c) for c in node.children]
            if any(v.truth is True for v in verdicts):
                return Verdict(True)
            if all(v.truth is False for v in verdicts):
                return Verdict(False, "every alternative is never true: " + "; ".join(v.why for v in verdicts))
            return _UNKNOWN
        if isinstance(node, Not):
            inner = self.visit(node.child)
            if inner.truth is None:
                return _UNKNOWN
            if inner.truth is False:
                return Verdict(True)
            return Verdict(False, f"{self.text(node)} is never true")
        if isinstance(node, MacroRef):
            return _UNKNOWN
        assert isinstance(node, UnaryCheck | BinaryCheck)
        truth = static_truth(node, self.source)
        if truth is False:
            return Verdict(False, f"{self.text(node)} is never true")
        return _UNKNOWN if truth is None else Verdict(truth)


def never_true(expr: Expr, source: FieldSource, labels: Mapping[str, str] | None = None) -> str | None:
    """Why ``expr`` (macros expanded) is false on every event, or ``None`` if it may be true.

    ``labels`` maps a check's canonical text to how it was written (``x in (my_list)`` for the
    ``x in ()`` an empty list became), for the message.
    """
    with deep_recursion(expr_depth(expr) + 50):
        verdict = _Walker(source, labels or {}).visit(expr)
    if verdict.truth is not False:
        return None
    return verdict.why or "the condition is never true"
