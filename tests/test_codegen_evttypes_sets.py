"""Event-type sets computed with complemented sets equal plain set algebra over every type."""

from __future__ import annotations

import random

from detector.codegen.evttypes import ALL, evttype_names
from detector.language import parse
from detector.language.ast import And, BinaryCheck, Expr, ListValue, Not, Or, UnaryCheck

LEAVES = [
    "evt.type = open", "evt.type != close", "evt.type in (open, openat, bogus)", "evt.type in (execve, close)",
    "proc.name = x", "evt.type exists", "evt.num = 0", "evt.num > 0", "evt.type = oneof (open, read)",
    "evt.type != execve", "syscall.type = connect", "fd.name startswith /etc", "evt.type in (bogus)",
]


def _reference(node: Expr, negated: bool = False) -> frozenset[str]:
    """The same rules with whole sets: and intersects, or unites, not inverts typed checks."""
    if isinstance(node, And | Or):
        intersect = isinstance(node, And) != negated
        result = ALL if intersect else frozenset()
        for child in node.children:
            codes = _reference(child, negated)
            result = result & codes if intersect else result | codes
        return result
    if isinstance(node, Not):
        return _reference(node.child, not negated)
    codes, typed = _leaf(node)
    return ALL - codes if negated and typed else codes


def _leaf(node: Expr) -> tuple[frozenset[str], bool]:
    if isinstance(node, UnaryCheck):
        return ALL, node.left.name in ("evt.type", "syscall.type")  # type: ignore[union-attr]
    assert isinstance(node, BinaryCheck)
    name = node.left.name  # type: ignore[union-attr]
    if name == "evt.num":
        value = node.right.text  # type: ignore[union-attr]
        return (frozenset(), True) if node.op == "=" and value == "0" else (ALL, True)
    if name not in ("evt.type", "syscall.type") or node.op not in ("=", "!=", "in"):
        return ALL, False
    items = node.right.items if isinstance(node.right, ListValue) else (node.right.text,)  # type: ignore[union-attr]
    codes = frozenset(items) & ALL
    return (ALL - codes if node.op == "!=" else codes), True


def _condition(rnd: random.Random, depth: int = 0) -> str:
    roll = rnd.random()
    if depth > 4 or roll < 0.3:
        return rnd.choice(LEAVES)
    if roll < 0.45:
        return f"not ({_condition(rnd, depth + 1)})"
    word = rnd.choice([" and ", " or "])
    return "(" + word.join(_condition(rnd, depth + 1) for _ in range(rnd.randrange(2, 4))) + ")"


def test_complemented_sets_agree_with_whole_sets() -> None:
    rnd = random.Random(5)
    for _ in range(3000):
        expr = parse(_condition(rnd))
        assert evttype_names(expr) == _reference(expr), expr
