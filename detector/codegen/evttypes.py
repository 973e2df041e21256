"""Event-type sets: which ``evt.type`` values a condition can possibly match (libsinsp ``ppm_codes``).

``and`` intersects, ``or`` unites, ``not`` is pushed to the leaves (De Morgan).
A leaf ``evt.type``/``syscall.type`` check with ``=``, ``==``, ``!=`` or ``in``
gives the names on its right (``!=`` inverted); ``evt.type exists`` gives every
type; any other check is neutral (every type, and stays so under ``not``).
Checks on ``evt.num`` that can never be true (``evt.num = 0``, ``< 1``...) give
no type, and ones that are always true (``!= 0``, ``> 0``...) every type.

Sets are of names, within ``EVENT_TYPE_NAMES`` (the event table's names and
the syscall names generic events report).  ``evttypes`` returns ``None`` for
"every type".
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from detector.codegen.check import deep_recursion, expr_depth, offset_of
from detector.errors import ConditionCompileError
from detector.fields.events import EVENT_TYPE_NAMES
from detector.language.ast import (
    And,
    BinaryCheck,
    Expr,
    FieldRef,
    ListValue,
    Node,
    Not,
    Or,
    Transform,
    UnaryCheck,
)

ALL: frozenset[str] = EVENT_TYPE_NAMES
NONE: frozenset[str] = frozenset()
_TYPE_FIELDS = frozenset({"evt.type", "syscall.type"})
_TYPE_OPS = frozenset({"=", "==", "!=", "in"})
_NUM_OPS = frozenset({"=", "==", "!=", "<", "<=", ">", ">=", "in"})


# A set of names kept as (complemented, names): ``ALL - names`` when complemented.  Every
# set here is within ALL, so the algebra stays exact while negations and neutral checks
# never build the full set of several hundred names.
_Names = tuple[bool, frozenset[str]]


@dataclass(frozen=True, slots=True)
class _Leaf:
    names: _Names
    has_codes: bool  # whether negation inverts it (neutral checks stay "every type")


# The leaves that do not depend on the check's values (shared: a leaf is immutable).
_EVERY: Final[_Names] = (True, NONE)
_NEUTRAL: Final = _Leaf(_EVERY, False)
_EVERY_TYPE: Final = _Leaf(_EVERY, True)
_NO_TYPE: Final = _Leaf((False, NONE), True)


def _intersect(a: _Names, b: _Names) -> _Names:
    if a[0]:
        return (True, a[1] | b[1]) if b[0] else (False, b[1] - a[1])
    return (False, a[1] - b[1]) if b[0] else (False, a[1] & b[1])


def _unite(a: _Names, b: _Names) -> _Names:
    if a[0]:
        return (True, a[1] & b[1]) if b[0] else (True, a[1] - b[1])
    return (True, b[1] - a[1]) if b[0] else (False, a[1] | b[1])


def _is_type_field(node: Node) -> bool:
    return isinstance(node, FieldRef) and node.name in _TYPE_FIELDS and node.arg is None


def _transforms_type_field(node: Node) -> bool:
    while isinstance(node, Transform):
        if not node.args:
            return False
        node = node.args[0]
    return _is_type_field(node)


def _decimal(text: str) -> int | None:
    return int(text) if text.isascii() and text.isdigit() else None


def _evt_num_leaf(node: BinaryCheck) -> _Leaf | None:
    """``evt.num`` checks whose truth never depends on the event (event numbers start at 1)."""
    if not (isinstance(node.left, FieldRef) and node.left.name == "evt.num" and node.left.arg is None):
        return None
    if node.op not in _NUM_OPS or node.modifier is not None or isinstance(node.right, Transform):
        return None
    if isinstance(node.right, ListValue):
        if node.op == "in" and all(_decimal(t) == 0 for t in node.right.items):
            return _NO_TYPE
        return None
    value = _decimal(node.right.text)
    if value is None:
        return None
    op = node.op
    never = (op in ("=", "==", "<=", "in") and value == 0) or (op == "<" and value <= 1)
    always = (op in ("!=", ">") and value == 0) or (op == ">=" and value <= 1)
    if never:
        return _NO_TYPE
    if always:
        return _EVERY_TYPE
    return None


class _Visitor:
    def __init__(self, text: str) -> None:
        self.text = text

    def error(self, message: str, node: Node) -> ConditionCompileError:
        return ConditionCompileError(message, self.text, offset_of(node))

    def visit(self, node: Expr, negated: bool) -> _Names:
        if isinstance(node, And | Or):
            intersect = isinstance(node, And) != negated
            combine = _intersect if intersect else _unite
            result: _Names = _EVERY if intersect else (False, NONE)
            for child in node.children:
                result = combine(result, self.visit(child, negated))
            return result
        if isinstance(node, Not):
            return self.visit(node.child, not negated)
        leaf = self.leaf(node)
        if negated and leaf.has_codes:
            return (not leaf.names[0], leaf.names[1])
        return leaf.names

    def leaf(self, node: Expr) -> _Leaf:
        if isinstance(node, UnaryCheck):
            if isinstance(node.left, Transform) and _transforms_type_field(node.left):
                raise self.error("event code search does not support evt.type checks with transformers", node)
            return _EVERY_TYPE if _is_type_field(node.left) and node.op == "exists" else _NEUTRAL
        if not isinstance(node, BinaryCheck):
            return _NEUTRAL
        num = _evt_num_leaf(node)
        if num is not None:
            return num
        if node.op not in _TYPE_OPS:
            return _NEUTRAL
        if isinstance(node.left, Transform):
            if _transforms_type_field(node.left):
                raise self.error("event code search does not support evt.type checks with transformers", node)
            return _NEUTRAL
        if not _is_type_field(node.left):
            return _NEUTRAL
        if isinstance(node.right, Transform):
            raise self.error(
                "right-hand field comparisons on evt.type/syscall.type checks are not supported "
                "by event code search",
                node,
            )
        names = node.right.items if isinstance(node.right, ListValue) else (node.right.text,)
        if node.modifier not in (None, "anyof", "oneof") or (node.modifier and node.op == "!="):
            # Only "any/one of these names" pins the type down; be neutral about the rest.
            return _NEUTRAL
        return _Leaf((node.op == "!=", frozenset(names) & ALL), True)


def evttype_names(expr: Expr, text: str = "") -> frozenset[str]:
    """The set of event-type names ``expr`` can match, within ``EVENT_TYPE_NAMES``."""
    with deep_recursion(expr_depth(expr)):
        complemented, names = _Visitor(text).visit(expr, False)
    if not complemented:
        return names
    return ALL - names if names else ALL


def evttypes(expr: Expr, text: str = "") -> frozenset[str] | None:
    """The event types ``expr`` can match, or ``None`` when it can match every type."""
    names = evttype_names(expr, text)
    return None if names == ALL else names
