"""Evaluating a target on one event into a tree of ``Step``s.

Boolean structure (``and``/``or``/``not``, macros, exceptions) is walked here with Falco's
short-circuits; every leaf check is evaluated by the reference interpreter the target holds
(``Interpreter.expr``), so the results are the engine's, absent-field semantics included.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from detector.codegen.check import deep_recursion, expr_depth
from detector.explain.target import Target
from detector.explain.tree import FieldValue, NodeKind, Outcome, Step
from detector.language import as_string
from detector.language.ast import (
    And,
    BinaryCheck,
    Expr,
    FieldRef,
    ListValue,
    MacroRef,
    Node,
    Not,
    Or,
    Transform,
    TransformerList,
    UnaryCheck,
)

# Past this many items a list literal is shown by its first few items.
_SHOWN_ITEMS = 6


@dataclass(slots=True)
class _Node:
    """A ``Step`` under construction (decisive flags are set after the whole walk)."""

    kind: NodeKind
    text: str
    outcome: Outcome
    children: list[_Node] = field(default_factory=list)
    fields: tuple[FieldValue, ...] = ()
    name: str | None = None
    label: str = ""
    decisive: bool = False

    def freeze(self) -> Step:
        return Step(self.kind, self.text, self.outcome, tuple(c.freeze() for c in self.children),
                    self.fields, self.name, self.decisive, self.label or self.text)


def _field_refs(node: Node) -> list[FieldRef]:
    found: list[FieldRef] = []
    stack: list[Node] = [node]
    while stack:
        cur = stack.pop()
        if isinstance(cur, FieldRef):
            found.append(cur)
        elif isinstance(cur, Transform):
            stack.extend(reversed(cur.args))
        elif isinstance(cur, TransformerList):
            stack.extend(reversed(cur.items))
    return found


class Evaluator:
    """Explains one target on events, one event per ``explain`` call."""

    def __init__(self, target: Target) -> None:
        self.target = target
        self.interp = target.interpreter
        self.depth = expr_depth(target.interpreter.root)

    # labels -----------------------------------------------------------------------------

    def check_label(self, node: UnaryCheck | BinaryCheck) -> str:
        if isinstance(node, UnaryCheck) or not isinstance(node.right, ListValue):
            return as_string(node)
        items = node.right.items
        left = as_string(node.left)
        middle = f" {node.op} {node.modifier} " if node.modifier else f" {node.op} "
        name = self.target.list_names.get(items)
        if name is not None:
            return f"{left}{middle}({name})"
        if len(items) > _SHOWN_ITEMS:
            shown = as_string(ListValue(items[:_SHOWN_ITEMS - 1]))[:-1]
            return f"{left}{middle}{shown}, ... {len(items) - _SHOWN_ITEMS + 1} more)"
        return as_string(node)

    # evaluation -------------------------------------------------------------------------

    def explain(self, event: Mapping[str, Any]) -> Step:
        """The evaluated tree of the whole target (condition and exceptions) on ``event``."""
        self.interp.event = event
        with deep_recursion(self.depth + 50):
            root = self._root()
        _mark(root)
        return root.freeze()

    def _root(self) -> _Node:
        target = self.target
        if not target.exceptions:
            return self.node(target.condition, True)
        cond = self.node(target.condition, True)
        condition = _Node("condition", target.text, cond.outcome, [cond], label="condition")
        parts = [condition]
        going = cond.outcome is Outcome.TRUE
        for part in target.exceptions:
            inner = self.node(part.expr, going)
            exc = _Node("exception", part.name, inner.outcome, [inner], name=part.name,
                        label=f"exception {part.name}")
            outcome = _negate(inner.outcome)
            parts.append(_Node("not", "not", outcome, [exc]))
            going = going and outcome is Outcome.TRUE
        return _Node("and", "and", _combine_and(parts), parts)

    def node(self, expr: Expr, evaluate: bool) -> _Node:
        if isinstance(expr, And | Or):
            is_and = isinstance(expr, And)
            children: list[_Node] = []
            going = evaluate
            for child in expr.children:
                built = self.node(child, going)
                children.append(built)
                if going and built.outcome.value_bool is not is_and:
                    going = False  # Falco's short-circuit: the rest is never looked at
            outcome = Outcome.SKIPPED if not evaluate else (
                _combine_and(children) if is_and else _combine_or(children))
            word: NodeKind = "and" if is_and else "or"
            return _Node(word, word, outcome, children)
        if isinstance(expr, Not):
            inner = self.node(expr.child, evaluate)
            return _Node("not", "not", _negate(inner.outcome) if evaluate else Outcome.SKIPPED, [inner])
        if isinstance(expr, MacroRef):
            body = self.target.macros.get(expr.name)
            if body is None:  # cannot happen for a compiled target; be plain about it anyway
                raise KeyError(f"macro {expr.name} has no body")
            expanded = self.node(body, evaluate)
            return _Node("macro", expr.name, expanded.outcome, [expanded], name=expr.name)
        return self.check(expr, evaluate)

    def check(self, node: UnaryCheck | BinaryCheck, evaluate: bool) -> _Node:
        text = as_string(node)
        label = self.check_label(node)
        if not evaluate:
            return _Node("check", text, Outcome.SKIPPED, label=label)
        interp = self.interp
        values = [FieldValue(as_string(ref), interp.bind(ref).extract(interp.event))
                  for ref in _field_refs(node.left)]
        absent = interp.operand(node.left)[0] is None
        if isinstance(node.left, Transform):
            values.append(FieldValue(as_string(node.left), interp.operand(node.left)[0]))
        if isinstance(node, BinaryCheck) and isinstance(node.right, Transform):
            values.extend(FieldValue(as_string(ref), interp.bind(ref).extract(interp.event))
                          for ref in _field_refs(node.right))
            absent = absent or interp.operand(node.right)[0] is None
        result = interp.expr(node)
        outcome = Outcome.ABSENT if (not result and absent) else Outcome.of(result)
        return _Node("check", text, outcome, fields=_unique(values), label=label)


def _unique(values: list[FieldValue]) -> tuple[FieldValue, ...]:
    seen: set[str] = set()
    out: list[FieldValue] = []
    for v in values:
        if v.field not in seen:
            seen.add(v.field)
            out.append(v)
    return tuple(out)


def _negate(outcome: Outcome) -> Outcome:
    if outcome is Outcome.SKIPPED:
        return outcome
    return Outcome.FALSE if outcome is Outcome.TRUE else Outcome.TRUE


def _combine_and(children: list[_Node]) -> Outcome:
    if any(c.outcome in (Outcome.FALSE, Outcome.ABSENT) for c in children):
        return Outcome.FALSE
    return Outcome.TRUE


def _combine_or(children: list[_Node]) -> Outcome:
    return Outcome.TRUE if any(c.outcome is Outcome.TRUE for c in children) else Outcome.FALSE


def _mark(root: _Node) -> None:
    """Flag the nodes whose results decided their parents', from the root down."""
    stack = [root]
    while stack:
        node = stack.pop()
        node.decisive = True
        kids = node.children
        if node.kind == "and" and node.outcome is Outcome.FALSE:
            chosen = [next(c for c in kids if c.outcome in (Outcome.FALSE, Outcome.ABSENT))]
        elif node.kind == "or" and node.outcome is Outcome.TRUE:
            chosen = [next(c for c in kids if c.outcome is Outcome.TRUE)]
        elif node.outcome is Outcome.SKIPPED:
            chosen = []
        else:
            chosen = kids
        stack.extend(chosen)
