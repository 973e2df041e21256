"""AST -> condition text, in libsinsp's ``ast::as_string`` form.

``as_string(node)`` writes what libsinsp writes (``(a and b)``, ``x.y in (a, b)``,
``proc.name == oneof (cat, nginx)``, ``getopt(proc.args,nt:)[t] = value``) except
where that text would not parse back to the same AST; there it quotes
minimally, so ``parse(as_string(ast)) == ast`` holds for every AST the parser
builds.  The exceptions are a string argument of a transformer (libsinsp
leaves ``nt:`` bare, which its own parser rejects), an empty value or field
argument, values holding characters a bare string cannot hold, a value ending
in a backslash, a negation of a negation and a macro named ``not``.
``as_string(node, exact=True)`` gives libsinsp's text verbatim, for comparing
with Falco's output.

The printer keeps an explicit stack, so nesting depth is no concern.
"""

from __future__ import annotations

import re
from collections.abc import Container, MutableMapping
from typing import Final

from detector.language.ast import (
    LIST_OPERATORS,
    NUMERIC_OPERATORS,
    And,
    BinaryCheck,
    FieldRef,
    ListValue,
    MacroRef,
    Node,
    Not,
    Or,
    Transform,
    TransformerList,
    UnaryCheck,
    Value,
)
from detector.language.escaping import escape_str, needs_quotes, quote

# What the parser reads as one bare token in each position (grammar/condition.lark).
_BARESTR: Final = re.compile(r"[^()\"'\t\n\x0b\x0c\r =,]+")
_ARG_BARE: Final = re.compile(r"[^\]\[\"'\t\n\x0b\x0c\r ]+")
_NUMBER: Final = re.compile(r"0[xX][0-9a-fA-F]+|[+\-]?[0-9]+\.?[0-9]*(?:[eE][+\-][0-9]+)?")

# How a Value is read back, by where it stands.
_STR, _NUM, _IDENT, _TARG = "str", "num", "ident", "targ"

_Part = str | tuple[Node, str]


def _requote(value: str) -> str:
    """Quoted so that the parser reads ``value`` back.

    libsinsp's scanner closes a string at any quote not preceded by a
    backslash, so an escaped backslash cannot end the string; the legacy
    ``\\ `` escape (backslash-blank, read as one backslash) can.
    """
    text = quote(value)
    if value.endswith("\\"):
        text = text[:-3] + '\\ "'
    return text


def _value_text(value: str, where: str, exact: bool) -> str:
    if where in (_NUM, _IDENT):
        return value
    if exact:
        return escape_str(value)
    if where == _TARG:
        return value if _NUMBER.fullmatch(value) else _requote(value)
    if needs_quotes(value) or not _BARESTR.fullmatch(value):
        return _requote(value)
    return value


def _arg_text(arg: str | None, exact: bool) -> str:
    if arg is None:
        return ""
    if exact:
        return f"[{escape_str(arg)}]" if arg else ""
    if needs_quotes(arg) or not _ARG_BARE.fullmatch(arg):
        return f"[{_requote(arg)}]"
    return f"[{arg}]"


def _rhs_context(node: BinaryCheck) -> str:
    if node.modifier is not None or node.op in LIST_OPERATORS:
        return _IDENT
    if node.op in NUMERIC_OPERATORS:
        return _NUM
    return _STR


def _joined(items: tuple[Node, ...], separator: str, where: str) -> list[_Part]:
    parts: list[_Part] = []
    for i, item in enumerate(items):
        if i:
            parts.append(separator)
        parts.append((item, where))
    return parts


def _parts(node: Node, where: str, exact: bool) -> list[_Part]:
    """The pieces of ``node``'s text: literal strings and child nodes still to write."""
    if isinstance(node, And | Or):
        word = " and " if isinstance(node, And) else " or "
        return ["(", *_joined(node.children, word, _STR), ")"]
    if isinstance(node, Not):
        if not exact and isinstance(node.child, Not):
            # `not not x` would read back as x
            return ["not (", (node.child, _STR), ")"]
        return ["not ", (node.child, _STR)]
    if isinstance(node, MacroRef):
        return ["(not)" if node.name == "not" and not exact else node.name]
    if isinstance(node, UnaryCheck):
        return [(node.left, _STR), f" {node.op}"]
    if isinstance(node, BinaryCheck):
        middle = f" {node.op} {node.modifier} " if node.modifier else f" {node.op} "
        return [(node.left, _STR), middle, (node.right, _rhs_context(node))]
    if isinstance(node, FieldRef):
        return [node.name + _arg_text(node.arg, exact)]
    if isinstance(node, Transform):
        return [f"{node.name}(", *_joined(node.args, ",", _TARG), ")" + _arg_text(node.arg, exact)]
    if isinstance(node, TransformerList):
        return ["(", *_joined(node.items, ",", _TARG), ")"]
    if isinstance(node, ListValue):
        return ["(" + ", ".join(_value_text(v, _STR, exact) for v in node.items) + ")"]
    if isinstance(node, Value):
        return [_value_text(node.text, where, exact)]
    raise TypeError(f"not a condition AST node: {type(node).__name__}")


def _check_text(node: BinaryCheck | UnaryCheck, exact: bool) -> str | None:
    """A check on a plain field written in one go (most checks), or ``None`` for the general way."""
    left = node.left
    if not isinstance(left, FieldRef):
        return None
    head = left.name + _arg_text(left.arg, exact)
    if isinstance(node, UnaryCheck):
        return f"{head} {node.op}"
    right = node.right
    middle = f" {node.op} {node.modifier} " if node.modifier else f" {node.op} "
    if isinstance(right, ListValue):
        return head + middle + "(" + ", ".join(_value_text(v, _STR, exact) for v in right.items) + ")"
    if isinstance(right, Value):
        return head + middle + _value_text(right.text, _rhs_context(node), exact)
    return None


class _Remember:
    """Stack entry: the text written since ``start`` is subtree ``key``'s, to keep in the memo."""

    __slots__ = ("key", "start")

    def __init__(self, key: int, start: int) -> None:
        self.key = key
        self.start = start


def as_string(node: Node, *, exact: bool = False, shared: Container[int] = (),
              memo: MutableMapping[int, str] | None = None) -> str:
    """The condition text of ``node`` (see the module docstring for ``exact``).

    ``shared`` names, by ``id``, and/or/not subtrees that recur in other conditions
    (expanded macro bodies): their text goes into ``memo`` the first time one is
    written and is reused after.  The caller keeps those subtrees alive while
    ``memo`` holds their ids, and uses one memo per ``exact``.
    """
    out: list[str] = []
    stack: list[_Part | _Remember] = [(node, _STR)]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            out.append(item)
            continue
        if isinstance(item, _Remember):
            text = "".join(out[item.start:])
            del out[item.start:]
            out.append(text)
            if memo is not None:
                memo[item.key] = text
            continue
        current, where = item
        if memo is not None and isinstance(current, (And, Or, Not)):
            key = id(current)
            known = memo.get(key)
            if known is not None:
                out.append(known)
                continue
            if key in shared:
                stack.append(_Remember(key, len(out)))
        # the boolean skeleton and plain checks directly; the rest through _parts
        if isinstance(current, (And, Or)) and current.children:
            children = current.children
            word = " and " if isinstance(current, And) else " or "
            stack.append(")")
            for child in reversed(children[1:]):
                stack.append((child, _STR))
                stack.append(word)
            stack.append((children[0], _STR))
            out.append("(")
            continue
        if isinstance(current, (BinaryCheck, UnaryCheck)):
            check = _check_text(current, exact)
            if check is not None:
                out.append(check)
                continue
        stack.extend(reversed(_parts(current, where, exact)))
    return "".join(out)
