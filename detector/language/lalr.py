"""A lean LALR driver over the tables Lark builds from ``grammar/condition.lark``.

Lark's interactive parser spends most of a condition's parse in generic
per-token work (token objects, line counters, lexer threads, generators).
This driver runs the same things in one loop: each parser state's contextual
scanner (the regexes of Lark's scanners), the same parse table and the same
reductions (the tree builder's methods behind Lark's child filters).  So it
accepts what Lark accepts and builds the same AST, with token positions
counted the way Lark counts them.

The tables can be described as plain data (``table_spec``), which a process
loads without importing Lark at all (``Tables.from_spec``; parser.py keeps the
description in the cache directory).

It only walks the success path.  On anything else (no token matches, a token
the table refuses, a bad escape, the depth bound) it returns ``None`` and the
caller parses again with Lark, which knows how to word the error.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Final

from detector.language.escaping import EscapeError

# Depth lower bound while streaming: the fewest libsinsp levels each still-open
# construct has cost (see detector/language/parser.py).
GROUP_PRECEDERS: Final = frozenset({"AND", "OR", "NOT", "LPAREN", "NOT_PAREN", "AND_PAREN", "OR_PAREN"})
OPENER_COST: Final = {"NOT_PAREN": 4, "AND_PAREN": 3, "OR_PAREN": 2, "TRANSFORMER_OPEN": 2, "VAL_OPEN": 1}

# Bumped whenever the layout of a ``TableSpec`` changes (cached specs of another layout are rebuilt).
SPEC_VERSION: Final = 1


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

# The tables as plain data (dicts, tuples, strings, integers: what ``marshal`` keeps), so a
# process can load them without Lark:
#   "start", "end": the start and accepting states;
#   "rules": one callback description per grammar rule (see ``_callback_spec``);
#   "actions": per state, terminal or nonterminal -> next state, or (pops, rule index, nonterminal);
#   "scanners": distinct (regex patterns, regex flags, newline kinds, ignored kinds);
#   "lexers": per state, the index of its scanner.
TableSpec = dict[str, Any]


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
    def from_lark(cls, lark: Any, *, unescaped: frozenset[str], unescape: Callable[[str], str]) -> Tables:
        """Tables from a Lark LALR parser built with ``lexer="contextual"`` and an embedded transformer.

        Raises ``LookupError``/``AttributeError``/``TypeError`` when Lark's internals are not
        what this driver was written against (the caller then keeps using Lark alone).
        """
        return cls.from_spec(table_spec(lark, unescaped), lark.options.transformer,
                             unescaped=unescaped, unescape=unescape)

    @classmethod
    def from_spec(cls, spec: TableSpec, builder: Any, *, unescaped: frozenset[str],
                  unescape: Callable[[str], str]) -> Tables:
        """Tables from ``table_spec``'s description; the reductions call ``builder``'s methods.

        Raises ``LookupError``/``AttributeError``/``TypeError``/``ValueError``/``re.error`` when
        the description is not one this version writes.
        """
        callbacks = [_make_callback(rule, builder) for rule in spec["rules"]]
        actions: list[_Actions] = []
        for row in spec["actions"]:
            out: _Actions = {}
            for symbol, act in row.items():
                if isinstance(act, int):
                    out[str(symbol)] = act
                else:
                    count, rule, origin = act
                    out[str(symbol)] = (int(count), callbacks[rule], str(origin))
            actions.append(out)
        lexer_of = [int(i) for i in spec["lexers"]]
        if len(lexer_of) != len(actions):
            raise ValueError("one lexer per parser state")
        lexers: list[_StateLexer] = []
        scanners: list[_StateLexer] = []
        for index, (patterns, flags, newline_types, ignore_types) in enumerate(spec["scanners"]):
            if not patterns or not all(isinstance(p, str) for p in patterns) or not isinstance(flags, int):
                raise TypeError("a scanner is regex patterns and flags")
            states = tuple(state for state, i in enumerate(lexer_of) if i == index)
            kinds = frozenset(newline_types), frozenset(ignore_types)
            scanners.append((_scanner_on_first_use(tuple(patterns), flags, lexers, states, *kinds), *kinds))
        lexers.extend(scanners[i] for i in lexer_of)
        return cls(actions, lexers, int(spec["start"]), int(spec["end"]), unescaped, unescape)


def _no_match(text: str, pos: int) -> None:
    return None


def _scanner_on_first_use(patterns: tuple[str, ...], flags: int, lexers: list[_StateLexer],
                          states: tuple[int, ...], newline_types: frozenset[str],
                          ignore_types: frozenset[str]) -> Matcher:
    """A stand-in that compiles a scanner when a parse first needs it (parses reach about half
    of them, and compiling them all costs more than loading the tables), then puts the compiled
    one in its place in ``lexers`` for every state that uses it."""
    def first_use(text: str, pos: int) -> Any:
        matchers: tuple[Matcher, ...]
        try:
            matchers = tuple(re.compile(pattern, flags).match for pattern in patterns)
        except (re.error, ValueError, OverflowError):
            matchers = (_no_match,)  # a damaged description: Lark parses what this state meets
        match = matchers[0] if len(matchers) == 1 else _first_match(matchers)
        entry = (match, newline_types, ignore_types)
        for state in states:
            lexers[state] = entry
        return match(text, pos)

    return first_use


def table_spec(lark: Any, unescaped: frozenset[str]) -> TableSpec:
    """The plain-data description of a Lark LALR parser's tables, lexers and reductions.

    ``unescaped`` are the token kinds whose lexer callback the driver replaces by unescaping.
    Raises ``LookupError``/``AttributeError``/``TypeError`` when Lark's internals are not what
    this driver was written against.
    """
    from lark.parsers.lalr_analysis import Shift

    frontend: Any = lark.parser
    inner: Any = frontend.parser.parser
    table = inner.parse_table
    callbacks = inner.callbacks
    builder = lark.options.transformer
    if any(isinstance(key, str) for key in callbacks):
        raise TypeError("terminal callbacks are not supported")
    count = len(table.states)
    if set(table.states) != set(range(count)) or set(frontend.lexer.lexers) != set(range(count)):
        raise LookupError("parser states are not numbered 0..n-1")
    rule_index: dict[Any, int] = {}
    rules: list[tuple[Any, ...]] = []
    for rule, callback in callbacks.items():
        rule_index[rule] = len(rules)
        rules.append(_callback_spec(rule, callback, builder))
    actions: list[dict[str, Any]] = [{} for _ in range(count)]
    for state, row in table.states.items():
        out = actions[state]
        for symbol, (action, arg) in row.items():
            if action is Shift:
                out[str(symbol)] = int(arg)
            else:
                out[str(symbol)] = (len(arg.expansion), rule_index[arg], str(arg.origin.name))
    scanners: dict[tuple[Any, ...], int] = {}
    lexers: list[int] = []
    for state in range(count):
        basic = frontend.lexer.lexers[state]
        scanner = basic.scanner  # built on first use, with the lexer's callbacks
        if set(basic.callback) - unescaped:
            raise TypeError("unexpected lexer callbacks")
        patterns = []
        flags = None
        for mre in scanner._mres:
            if not isinstance(mre, re.Pattern) or not isinstance(mre.pattern, str):
                raise TypeError("the scanner does not use Python's re on text")
            if flags is not None and mre.flags != flags:
                raise TypeError("a scanner's regexes differ in flags")
            flags = mre.flags
            patterns.append(mre.pattern)
        key = (tuple(patterns), flags, tuple(sorted(basic.newline_types)), tuple(sorted(basic.ignore_types)))
        lexers.append(scanners.setdefault(key, len(scanners)))
    return {
        "start": int(table.start_states["start"]),
        "end": int(table.end_states["start"]),
        "rules": tuple(rules),
        "actions": tuple(actions),
        "scanners": tuple(scanners),
        "lexers": tuple(lexers),
    }


class _Inlined:
    """What an inlined rule (``__conj_star_1``...) reduces to: its parent splices ``children`` in."""

    __slots__ = ("children",)

    def __init__(self, children: list[Any]) -> None:
        self.children = children


def _method_name(callback: Any, builder: Any) -> str:
    """The name of ``builder``'s method that ``callback`` is."""
    name = getattr(callback, "__name__", None)
    if getattr(callback, "__self__", None) is not builder or not isinstance(name, str) \
            or getattr(builder, name, None) != callback:
        raise TypeError(f"reduction callback {callback!r} is not a method of the tree builder")
    return name


def _callback_spec(rule: Any, callback: Any, builder: Any) -> tuple[Any, ...]:
    """How a rule's reduction is made, from what Lark made of it.

    Lark calls the builder's method for the rule, possibly behind a child filter (which
    children to keep, which inlined children to splice in, where optional children that are
    absent get ``None``).  An inlined rule (``_...``) only makes a list for its parent to
    splice, so it reduces to ``_Inlined``.  Anything else is refused with ``TypeError``.
    """
    from lark.parse_tree_builder import ChildFilterLALR, ChildFilterLALR_NoPlaceholders

    kind = type(callback)
    if str(rule.origin.name).startswith("_"):
        if isinstance(callback, functools.partial):
            return ("inline",)
        if kind is ChildFilterLALR_NoPlaceholders and isinstance(callback.node_builder, functools.partial):
            return ("inline_np", tuple((int(i), bool(splice)) for i, splice in callback.to_include))
        raise TypeError(f"unexpected reduction for inlined rule {rule}")
    if kind is ChildFilterLALR_NoPlaceholders:
        include = tuple((int(i), bool(splice)) for i, splice in callback.to_include)
        return ("filter_np", include, _method_name(callback.node_builder, builder))
    if kind is ChildFilterLALR:
        include3 = tuple((int(i), bool(splice), int(nones)) for i, splice, nones in callback.to_include)
        return ("filter", include3, int(callback.append_none), _method_name(callback.node_builder, builder))
    return ("call", _method_name(callback, builder))


def _make_callback(spec: Sequence[Any], builder: Any) -> Callable[[list[Any]], Any]:
    """The reduction callback ``_callback_spec`` describes, calling ``builder``'s methods."""
    kind = spec[0]
    if kind == "inline":
        return _Inlined
    if kind == "inline_np":
        return _splicer(tuple(spec[1]), _Inlined)
    if kind == "filter_np":
        method: Callable[[list[Any]], Any] = getattr(builder, spec[2])
        return _splicer(tuple(spec[1]), method)
    if kind == "filter":
        return _placeholder_filter(tuple(spec[1]), int(spec[2]), getattr(builder, spec[3]))
    if kind == "call":
        found: Callable[[list[Any]], Any] = getattr(builder, spec[1])
        return found
    raise ValueError(f"unknown reduction kind {kind!r}")


def _splicer(include: tuple[tuple[int, bool], ...],
             build: Callable[[list[Any]], Any]) -> Callable[[list[Any]], Any]:
    """Keep the children ``include`` lists (splicing inlined ones in), then ``build``."""
    def filtered(children: list[Any]) -> Any:
        kept: list[Any] = []
        for i, splice in include:
            if not splice:
                kept.append(children[i])
            elif kept:
                kept += children[i].children
            else:
                kept = children[i].children  # left recursion: extend the list in place, as Lark does
        return build(kept)

    return filtered


def _placeholder_filter(include: tuple[tuple[int, bool, int], ...], append_none: int,
                        build: Callable[[list[Any]], Any]) -> Callable[[list[Any]], Any]:
    """``_splicer`` with ``None`` put where absent optional children stand (Lark's placeholders)."""
    def filtered(children: list[Any]) -> Any:
        kept: list[Any] = []
        for i, splice, nones in include:
            if nones:
                kept += [None] * nones
            if not splice:
                kept.append(children[i])
            elif kept:
                kept += children[i].children
            else:
                kept = children[i].children
        if append_none:
            kept += [None] * append_none
        return build(kept)

    return filtered


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
            _reduce(act, actions, states, values)
    end = tables.end
    while True:
        act = actions[states[-1]].get("$END")
        if act is None or isinstance(act, int):
            return None
        _reduce(act, actions, states, values)
        if states[-1] == end:
            return values[-1]


def _reduce(act: _Reduce, actions: list[_Actions], states: list[int], values: list[Any]) -> None:
    """Replace the rule's ``count`` topmost values by its callback's result; go to its state."""
    count, callback, origin = act
    if count:
        children = values[-count:]
        del states[-count:]
        del values[-count:]
    else:
        children = []
    values.append(callback(children))
    states.append(actions[states[-1]][origin])  # type: ignore[arg-type]  # a goto is a state
