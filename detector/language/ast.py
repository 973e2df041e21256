"""The condition AST.

Node kinds follow libsinsp's filter AST (and, or, not, identifier, value, list,
unary check, binary check, field, field transformer, transformer list) so that
every pass Falco runs over its AST has a direct counterpart here.

Nodes are frozen and slotted; their ``span`` is excluded from equality so two
parses of differently laid-out text compare equal, exactly like libsinsp's
position-blind ``is_equal``.  Immutability lets parsed macros be shared between
rules without copying.  Equality and hashing walk the tree with an explicit
stack, so trees as deep as Falco's nesting limit allows never hit Python's
recursion limit.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any, TypeAlias


@dataclass(frozen=True, slots=True)
class Span:
    """Where a node came from: 0-based offsets, 1-based line and column."""

    start: int
    end: int
    line: int
    column: int


@dataclass(frozen=True, slots=True, eq=False)
class And:
    children: tuple[Expr, ...]
    span: Span | None = field(default=None, compare=False, repr=False, kw_only=True)


@dataclass(frozen=True, slots=True, eq=False)
class Or:
    children: tuple[Expr, ...]
    span: Span | None = field(default=None, compare=False, repr=False, kw_only=True)


@dataclass(frozen=True, slots=True, eq=False)
class Not:
    child: Expr
    span: Span | None = field(default=None, compare=False, repr=False, kw_only=True)


@dataclass(frozen=True, slots=True, eq=False)
class MacroRef:
    """A bare identifier in boolean position: a reference to a macro."""

    name: str
    span: Span | None = field(default=None, compare=False, repr=False, kw_only=True)


@dataclass(frozen=True, slots=True, eq=False)
class FieldRef:
    """A field such as ``proc.name`` or ``proc.aname[2]``.

    ``arg`` is the unescaped argument text; ``None`` means no brackets at all,
    which differs from an empty argument (``test.str[""]``).
    """

    name: str
    arg: str | None = None
    span: Span | None = field(default=None, compare=False, repr=False, kw_only=True)


@dataclass(frozen=True, slots=True, eq=False)
class Value:
    """A literal: a bare or (already unescaped) quoted string, or a number's text.

    After a list operator or a modifier a bare identifier is also a ``Value``
    (an unexpanded list name), as in libsinsp.
    """

    text: str
    span: Span | None = field(default=None, compare=False, repr=False, kw_only=True)


@dataclass(frozen=True, slots=True, eq=False)
class ListValue:
    """A parenthesised list literal ``(a, "b c", 3)`` on the right of an operator."""

    items: tuple[str, ...]
    span: Span | None = field(default=None, compare=False, repr=False, kw_only=True)


@dataclass(frozen=True, slots=True, eq=False)
class TransformerList:
    """A parenthesised list used only as a transformer argument: ``join(",", (a.b, "x"))``."""

    items: tuple[Operand | Value, ...]
    span: Span | None = field(default=None, compare=False, repr=False, kw_only=True)


@dataclass(frozen=True, slots=True, eq=False)
class Transform:
    """A field transformer: ``tolower(proc.name)``, ``val(proc.pname)``, ``getopt(proc.args, "n:")[n]``.

    ``name`` is one of tolower, toupper, b64, basename, len, join, concat,
    getopt, val.  ``arg`` is the optional ``[arg]`` written after the closing
    parenthesis.
    """

    name: str
    args: tuple[Operand | Value | TransformerList, ...]
    arg: str | None = None
    span: Span | None = field(default=None, compare=False, repr=False, kw_only=True)


@dataclass(frozen=True, slots=True, eq=False)
class UnaryCheck:
    """``<operand> exists``."""

    left: Operand
    op: str
    span: Span | None = field(default=None, compare=False, repr=False, kw_only=True)


@dataclass(frozen=True, slots=True, eq=False)
class BinaryCheck:
    """``<operand> <op> [<modifier>] <rhs>``.

    ``op`` is the operator as written (``=`` and ``==`` are kept apart so the
    printer can reproduce them); ``modifier`` is ``oneof``/``anyof``/``allof``
    or ``None``.
    """

    left: Operand
    op: str
    right: Value | ListValue | Transform
    modifier: str | None = None
    span: Span | None = field(default=None, compare=False, repr=False, kw_only=True)


Operand: TypeAlias = FieldRef | Transform
Expr: TypeAlias = And | Or | Not | MacroRef | UnaryCheck | BinaryCheck
Node: TypeAlias = Expr | Operand | Value | ListValue | TransformerList

TRANSFORMERS: frozenset[str] = frozenset(
    {"tolower", "toupper", "b64", "basename", "len", "join", "concat", "getopt", "val"}
)
MODIFIERS: frozenset[str] = frozenset({"oneof", "anyof", "allof"})
STRING_OPERATORS: tuple[str, ...] = (
    "==", "=", "!=", "contains", "icontains", "bcontains", "startswith", "bstartswith",
    "endswith", "glob", "iglob", "regex",
)
NUMERIC_OPERATORS: tuple[str, ...] = ("<=", "<", ">=", ">")
LIST_OPERATORS: tuple[str, ...] = ("in", "intersects", "pmatch")
UNARY_OPERATORS: tuple[str, ...] = ("exists",)


_NODE_CLASSES: tuple[type, ...] = (
    And, Or, Not, MacroRef, FieldRef, Value, ListValue, TransformerList, Transform, UnaryCheck, BinaryCheck,
)
#: The fields that make a node what it is (``span`` excluded), per class.
_STRUCTURE: dict[type, tuple[str, ...]] = {
    cls: tuple(f.name for f in fields(cls) if f.compare) for cls in _NODE_CLASSES
}


def _structural_eq(self: Any, other: Any) -> bool:
    if self is other:
        return True
    if type(other) is not type(self):
        return NotImplemented
    pending: list[tuple[Any, Any]] = [(self, other)]
    while pending:
        a, b = pending.pop()
        if a is b:
            continue
        if type(a) is not type(b):
            return False
        names = _STRUCTURE.get(type(a))
        if names is None:
            if isinstance(a, tuple):
                if len(a) != len(b):
                    return False
                pending.extend(zip(a, b, strict=True))
            elif a != b:
                return False
            continue
        pending.extend((getattr(a, n), getattr(b, n)) for n in names)
    return True


def _structural_hash(self: Any) -> int:
    parts: list[Any] = []
    pending: list[Any] = [self]
    while pending:
        node = pending.pop()
        names = _STRUCTURE.get(type(node))
        if names is None:
            if isinstance(node, tuple):
                parts.append(len(node))
                pending.extend(reversed(node))
            else:
                parts.append(node)
            continue
        parts.append(type(node).__name__)
        pending.extend(getattr(node, n) for n in reversed(names))
    return hash(tuple(parts))


for _cls in _NODE_CLASSES:
    _cls.__eq__ = _structural_eq  # type: ignore[method-assign,assignment]
    _cls.__hash__ = _structural_hash  # type: ignore[method-assign,assignment]
del _cls
