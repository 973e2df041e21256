"""A lean LALR driver over the tables Lark builds from ``grammar/condition.lark``.

Lark's interactive parser spends most of a condition's parse in generic
per-token work (token objects, line counters, lexer threads, generators).
This driver runs the same things in one loop: each parser state's contextual
scanner (Lark's own compiled regexes), the same parse table and the same
reduction callbacks.  So it accepts what Lark accepts and builds the same
AST, with token positions counted the way Lark counts them.

It only walks the success path.  On anything else (no token matches, a token
the table refuses, a bad escape, the depth bound) it returns ``None`` and the
caller parses again with Lark, which knows how to word the error.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final

from lark import Lark
from lark.parse_tree_builder import ChildFilterLALR_NoPlaceholders
from lark.parsers.lalr_analysis import Shift

from detector.language.escaping import EscapeError

# Depth lower bound while streaming: the fewest libsinsp levels each still-open
# construct has cost (see detector/language/parser.py).
GROUP_PRECEDERS: Final = frozenset({"AND", "OR", "NOT", "LPAREN", "NOT_PAREN", "AND_PAREN", "OR_PAREN"})
OPENER_COST: Final = {"NOT_PAREN": 4, "AND_PAREN": 3, "OR_PAREN": 2, "TRANSFORMER_OPEN": 2, "VAL_OPEN": 1}


class LexToken:
    """A token with the attributes the reduction callbacks read from Lark's ``Token``."""

    __slots__ = ("type", "value", "start_pos", "end_pos", "line", "column")

    def __init__(self, type_: str, value: str, start_pos: int, end_pos: int, line: int, column: int) -> None:
        self.type = type_
        self.value = value
        self.start_pos = start_pos
        self.end_pos = end_pos
        self.line = line
        self.column = column

    def __repr__(self) -> str:
        return f"LexToken({self.type!r}, {self.value!r}, {self.start_pos})"


# A reduction: how many stack entries it pops, its callback and the nonterminal it makes.
_Reduce = tuple[int, Callable[[list[Any]], Any], str]
# Per parser state: terminal -> next state (shift) or a reduction; nonterminal -> goto state.
_Actions = dict[str, "int | _Reduce"]
Matcher = Callable[[str, int], Any]


# Per parser state: its scanner's ``match``, the token kinds that may span lines, the
# kinds that are skipped.
_StateLexer = tuple[Matcher, frozenset[str], frozenset[str]]

# How a token kind moves the streaming depth bound: an opener's cost, or _CLOSE.
_CLOSE: Final = -1
_DEPTH_KINDS: Final = {**OPENER_COST, "LPAREN": 0, "RPAREN": _CLOSE}


def _first_match(matchers: tuple[Matcher, ...]) -> Matcher:
    """One ``match`` for a scanner Python had to split into several regexes (Lark's group limit)."""
    def match(text: str, pos: int) -> Any:
        for matcher in matchers:
            m = matcher(text, pos)
            if m is not None:
                return m
        return None
    return match


@dataclass(frozen=True, slots=True)
class Tables:
    actions: list[_Actions]
    lexers: list[_StateLexer]
    start: int
    end: int
    unescaped: frozenset[str]
    unescape: Callable[[str], str]

    @classmethod
    def from_lark(cls, lark: Lark, *, unescaped: frozenset[str], unescape: Callable[[str], str]) -> Tables:
        """Tables from a Lark LALR parser built with ``lexer="contextual"`` and an embedded transformer.

        Raises ``LookupError``/``AttributeError``/``TypeError`` when Lark's internals are not
        what this driver was written against (the caller then keeps using Lark alone).
        """
        frontend: Any = lark.parser
        inner: Any = frontend.parser.parser
        table = inner.parse_table
        callbacks = inner.callbacks
        if any(isinstance(key, str) for key in callbacks):
            raise TypeError("terminal callbacks are not supported")
        count = len(table.states)
        if set(table.states) != set(range(count)) or set(frontend.lexer.lexers) != set(range(count)):
            raise LookupError("parser states are not numbered 0..n-1")
        reductions = {rule: _inline_callback(rule, callback) for rule, callback in callbacks.items()}
        actions: list[_Actions] = [{} for _ in range(count)]
        for state, row in table.states.items():
            out = actions[state]
            for symbol, (action, arg) in row.items():
                if action is Shift:
                    out[symbol] = int(arg)
                else:
                    out[symbol] = (len(arg.expansion), reductions[arg], str(arg.origin.name))
        lexers: list[_StateLexer] = []
        for state in range(count):
            basic = frontend.lexer.lexers[state]
            scanner = basic.scanner  # built on first use, with the lexer's callbacks
            if set(basic.callback) - unescaped:
                raise TypeError("unexpected lexer callbacks")
            matchers = tuple(mre.match for mre in scanner._mres)
            match = matchers[0] if len(matchers) == 1 else _first_match(matchers)
            lexers.append((match, frozenset(basic.newline_types), frozenset(basic.ignore_types)))
        return cls(actions, lexers, int(table.start_states["start"]), int(table.end_states["start"]),
                   unescaped, unescape)


class _Inlined:
    """What an inlined rule (``__conj_star_1``...) reduces to: its parent splices ``children`` in."""

    __slots__ = ("children",)

    def __init__(self, children: list[Any]) -> None:
        self.children = children


def _inline_callback(rule: Any, callback: Callable[[list[Any]], Any]) -> Callable[[list[Any]], Any]:
    """For an inlined rule, a lighter equivalent of the Tree Lark builds only to be spliced.

    Lark gives such a rule either its default tree builder (all children kept) or a
    child filter in front of it (``to_include``: which children to keep, and whether a
    child is itself inlined and spliced).  Anything else is kept as it is.
    """
    if not str(rule.origin.name).startswith("_"):
        return callback
    if isinstance(callback, functools.partial):
        return _Inlined
    if isinstance(callback, ChildFilterLALR_NoPlaceholders) and isinstance(callback.node_builder,
                                                                          functools.partial):
        include: tuple[tuple[int, bool], ...] = tuple(callback.to_include)

        def filtered(children: list[Any]) -> Any:
            kept: list[Any] = []
            for i, splice in include:
                if not splice:
                    kept.append(children[i])
                elif kept:
                    kept += children[i].children
                else:
                    kept = children[i].children  # left recursion: extend the list in place, as Lark does
            return _Inlined(kept)

        return filtered
    return callback


# What a filtered token (``_COMMA``) leaves on the value stack: the callbacks drop it by position.
_DROPPED: Final = LexToken("_", "", 0, 0, 1, 1)


def run(tables: Tables, text: str, max_depth: int) -> Any | None:
    """The start rule's callback result for ``text``, or ``None`` when Lark must decide."""
    actions = tables.actions
    lexers = tables.lexers
    unescaped = tables.unescaped
    depth_kinds = _DEPTH_KINDS
    states: list[int] = [tables.start]
    values: list[Any] = []
    pos = 0
    size = len(text)
    line = 1
    line_start = 0
    open_costs: list[int] = []
    bound = 0
    last_type: str | None = None
    while pos < size:
        match, newline_types, ignore_types = lexers[states[-1]]
        m = match(text, pos)
        if m is None:
            return None
        kind: str = m.lastgroup
        start = pos
        pos = m.end()
        if kind in newline_types:
            value: str = text[start:pos]
            newlines = value.count("\n")
            if newlines:
                token_line, column = line, start - line_start + 1
                line += newlines
                line_start = start + value.rindex("\n") + 1
                if kind in ignore_types:
                    continue
            else:
                if kind in ignore_types:
                    continue
                token_line, column = line, start - line_start + 1
        else:
            if kind in ignore_types:
                continue
            token_line, column = line, start - line_start + 1
        # the depth bound (parser.parse keeps the same count to word the error)
        cost = depth_kinds.get(kind)
        if cost is not None:
            if cost == _CLOSE:
                if open_costs:
                    bound -= open_costs.pop()
            else:
                if kind == "LPAREN" and (last_type is None or last_type in GROUP_PRECEDERS):
                    cost = 5
                open_costs.append(cost)
                bound += cost
                if bound >= max_depth:
                    return None
        last_type = kind
        if kind[0] == "_":
            token = _DROPPED
        else:
            value = text[start:pos]
            if kind in unescaped:
                try:
                    value = tables.unescape(value)
                except EscapeError:
                    return None
            token = LexToken(kind, value, start, pos, token_line, column)
        while True:
            act = actions[states[-1]].get(kind)
            if act is None:
                return None
            if isinstance(act, int):
                states.append(act)
                values.append(token)
                break
            count, callback, origin = act
            if count:
                children = values[-count:]
                del states[-count:]
                del values[-count:]
            else:
                children = []
            values.append(callback(children))
            states.append(actions[states[-1]][origin])  # type: ignore[arg-type]
    end = tables.end
    while True:
        act = actions[states[-1]].get("$END")
        if act is None or isinstance(act, int):
            return None
        count, callback, origin = act
        if count:
            children = values[-count:]
            del states[-count:]
            del values[-count:]
        else:
            children = []
        values.append(callback(children))
        states.append(actions[states[-1]][origin])  # type: ignore[arg-type]
        if states[-1] == end:
            return values[-1]
