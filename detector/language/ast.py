"""The condition AST.

Node kinds follow libsinsp's filter AST (and, or, not, identifier, value, list,
unary check, binary check, field, field transformer, transformer list) so that
every pass Falco runs over its AST has a direct counterpart here.

Nodes are frozen and slotted; their ``span`` is excluded from equality so two
parses of differently laid-out text compare equal, exactly like libsinsp's
position-blind ``is_equal``.  Immutability lets parsed macros be shared between
rules without copying.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TypeAlias


@dataclass(frozen=True, slots=True)
class Span:
    """Where a node came from: 0-based offsets, 1-based line and column."""

    start: int
    end: int
    line: int
    column: int


@dataclass(frozen=True, slots=True)
class And:
    children: tuple[Expr, ...]
    span: Span | None = field(default=None, compare=False, repr=False, kw_only=True)


@dataclass(frozen=True, slots=True)
class Or:
    children: tuple[Expr, ...]
    span: Span | None = field(default=None, compare=False, repr=False, kw_only=True)


@dataclass(frozen=True, slots=True)
class Not:
    child: Expr
    span: Span | None = field(default=None, compare=False, repr=False, kw_only=True)


@dataclass(frozen=True, slots=True)
class MacroRef:
    """A bare identifier in boolean position: a reference to a macro."""

    name: str
    span: Span | None = field(default=None, compare=False, repr=False, kw_only=True)


@dataclass(frozen=True, slots=True)
class FieldRef:
    """A field such as ``proc.name`` or ``proc.aname[2]``.

    ``arg`` is the unescaped argument text; ``None`` means no brackets at all,
    which differs from an empty argument (``test.str[""]``).
    """

    name: str
    arg: str | None = None
    span: Span | None = field(default=None, compare=False, repr=False, kw_only=True)


@dataclass(frozen=True, slots=True)
class Value:
    """A literal: a bare or (already unescaped) quoted string, or a number's text.

    After a list operator or a modifier a bare identifier is also a ``Value``
    (an unexpanded list name), as in libsinsp.
    """

    text: str
    span: Span | None = field(default=None, compare=False, repr=False, kw_only=True)


@dataclass(frozen=True, slots=True)
class ListValue:
    """A parenthesised list literal ``(a, "b c", 3)`` on the right of an operator."""

    items: tuple[str, ...]
    span: Span | None = field(default=None, compare=False, repr=False, kw_only=True)


@dataclass(frozen=True, slots=True)
class TransformerList:
    """A parenthesised list used only as a transformer argument: ``join(",", (a.b, "x"))``."""

    items: tuple[Operand | Value, ...]
    span: Span | None = field(default=None, compare=False, repr=False, kw_only=True)


@dataclass(frozen=True, slots=True)
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


@dataclass(frozen=True, slots=True)
class UnaryCheck:
    """``<operand> exists``."""

    left: Operand
    op: str
    span: Span | None = field(default=None, compare=False, repr=False, kw_only=True)


@dataclass(frozen=True, slots=True)
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
