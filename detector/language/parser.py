"""Condition text -> AST, with libsinsp's acceptance rules, depth limit and messages.

The syntax lives in ``grammar/condition.lark``; this module builds AST nodes
while Lark's LALR parser reduces (an embedded transformer, so nothing here
recurses however deep the input nests) and turns every Lark failure into a
:class:`~detector.errors.ConditionSyntaxError`.

Depth follows libsinsp exactly: its recursive-descent parser counts the nested
calls of its parsing functions and gives up when the count reaches the limit
(Falco sets 1000).  Each reduction below reports how many of those calls the
construct needed, so the total is the depth libsinsp would have reached.  A
parenthesised group costs five levels, so 199 nested parentheses parse and 200
do not, as in Falco.  Unclosed openers are also counted while tokens stream in,
which stops pathological input (``'(' * 100000``) early.
"""

from __future__ import annotations

import functools
import marshal
import sys
import zlib
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from detector.errors import ConditionSyntaxError
from detector.language.ast import (
    And,
    BinaryCheck,
    Expr,
    FieldRef,
    ListValue,
    MacroRef,
    Node,
    Not,
    Operand,
    Or,
    Span,
    Transform,
    TransformerList,
    UnaryCheck,
    Value,
)
from detector.language.cachefile import parser_cache_file, read_keyed, tables_cache_file, write_keyed
from detector.language.escaping import EscapeError, unescape
from detector.language.frozen import constructor
from detector.language.lalr import GROUP_PRECEDERS, OPENER_COST, SPEC_VERSION, Tables, run, table_spec

if TYPE_CHECKING:
    # Lark is imported only to build the parser (when the tables are not cached) and to word
    # errors: a valid condition is parsed by the lean driver alone.
    from lark import Lark, Token
    from lark.exceptions import UnexpectedInput

GRAMMAR_PATH: Final = Path(__file__).resolve().parents[2] / "grammar" / "condition.lark"
FALCO_MAX_DEPTH: Final = 1000

# A built node and the number of libsinsp parse levels it took.
_Built = tuple[Any, int]


class _TokenError(Exception):
    """A token lexed but is not acceptable (bad escape); carries its offset."""

    def __init__(self, message: str, offset: int) -> None:
        super().__init__(message)
        self.message = message
        self.offset = offset


class _DepthError(Exception):
    def __init__(self, offset: int) -> None:
        super().__init__(offset)
        self.offset = offset


# --------------------------------------------------------------------------
# Lexer callbacks: quoted strings are unescaped (and their escapes checked) as
# soon as they are lexed, like libsinsp's scanner does.


def _unescape_token(token: Token) -> Token:
    try:
        value = unescape(token.value)
    except EscapeError as exc:
        raise _TokenError(str(exc), token.start_pos or 0) from None
    return token.update(value=value)


# The nodes built on every parse, made without the frozen dataclasses' slow __init__.
_new_span: Final = constructor(Span)
_new_value: Final = constructor(Value)
_new_field: Final = constructor(FieldRef)
_new_list: Final = constructor(ListValue)
_new_unary: Final = constructor(UnaryCheck)
_new_binary: Final = constructor(BinaryCheck)
_new_macro_ref: Final = constructor(MacroRef)
_new_not: Final = constructor(Not)
_new_and: Final = constructor(And)
_new_or: Final = constructor(Or)


def _span(first: Token | Span, end: int | None) -> Span:
    if isinstance(first, Span):
        return _new_span(first.start, end or first.start, first.line, first.column)
    start = first.start_pos or 0
    return _new_span(start, end or start, first.line or 1, first.column or 1)


def _end(node: Node) -> int:
    span = node.span
    return span.end if span is not None else 0


def _start(node: Node) -> Span:
    span = node.span
    return span if span is not None else Span(0, 0, 1, 1)


def _value(token: Token) -> Value:
    return _new_value(str(token.value), _span(token, token.end_pos or 0))


class _Builder:
    """Reduction callbacks: each returns ``(node, levels)``.

    ``levels`` is how many nested libsinsp parse calls the construct took,
    counted from the function that parses it (see the module docstring).
    """

    # ---- fields and transformers -------------------------------------------------

    def field_arg(self, c: list[Any]) -> tuple[str, int]:
        return str(c[1].value), c[2].end_pos

    def field(self, c: list[Any]) -> _Built:
        name: Token = c[0]
        arg = c[1]
        end = arg[1] if arg is not None else name.end_pos
        node = _new_field(str(name.value), arg[0] if arg is not None else None, _span(name, end))
        return node, 1

    def transformer(self, c: list[Any]) -> _Built:
        opener: Token = c[0]
        arg = c[-1]
        close: Token = c[-2]
        args = c[1:-2]
        end = arg[1] if arg is not None else close.end_pos
        node = Transform(
            str(opener.value)[:-1],
            tuple(a[0] for a in args),
            arg[0] if arg is not None else None,
            span=_span(opener, end),
        )
        return node, 1 + max(a[1] for a in args)

    def val_transformer(self, c: list[Any]) -> _Built:
        opener: Token = c[0]
        arg = c[3]
        end = arg[1] if arg is not None else c[2].end_pos
        node = Transform("val", (c[1][0],), arg[0] if arg is not None else None, span=_span(opener, end))
        return node, 1

    def rhs_transformer(self, c: list[Any]) -> _Built:
        built: _Built = c[0]
        return built

    def targ(self, c: list[Any]) -> _Built:
        item = c[0]
        if not isinstance(item, tuple):
            return _value(item), 1
        return item[0], 1 + item[1]

    def tlarg(self, c: list[Any]) -> _Built:
        item = c[0]
        if not isinstance(item, tuple):
            return _value(item), 0
        built: _Built = item
        return built

    def tlist(self, c: list[Any]) -> _Built:
        items = [x for x in c[1:-1] if x is not None]
        node = TransformerList(tuple(x[0] for x in items), span=_span(c[0], c[-1].end_pos))
        return node, max((x[1] for x in items), default=0)

    # ---- right-hand sides --------------------------------------------------------

    def list_literal(self, c: list[Any]) -> _Built:
        values = tuple(str(t.value) for t in c[1:-1] if t is not None)
        return _new_list(values, _span(c[0], c[-1].end_pos)), 0

    def _scalar_rhs(self, c: list[Any]) -> _Built:
        # parse_*_value_or_transformer, then try_parse_transformer_or_val
        item = c[0]
        if not isinstance(item, tuple):
            return _value(item), 2
        return item[0], 2 + item[1]

    num_rhs = _scalar_rhs
    str_rhs = _scalar_rhs

    def list_rhs(self, c: list[Any]) -> _Built:
        item = c[0]
        if not isinstance(item, tuple):
            return _value(item), 2
        if isinstance(item[0], ListValue):
            return item[0], 2
        return item[0], 2 + item[1]

    def list_value(self, c: list[Any]) -> _Built:
        item = c[0]
        if not isinstance(item, tuple):
            return _value(item), 2
        return item[0], 2

    # ---- conditions: (op, modifier, right, levels, end) ------------------------------

    def unary_cond(self, c: list[Any]) -> tuple[str, None, None, int, int]:
        return "exists", None, None, 1, c[0].end_pos

    def _binary_cond(self, c: list[Any]) -> tuple[str, None, Any, int, int]:
        right, levels = c[1]
        return str(c[0].value), None, right, 1 + levels, _end(right)

    num_cond = _binary_cond
    str_cond = _binary_cond
    list_cond = _binary_cond

    def modifier_cond(self, c: list[Any]) -> tuple[str, str, Any, int, int]:
        right, levels = c[2]
        return str(c[0].value), str(c[1].value), right, 1 + levels, _end(right)

    # ---- checks --------------------------------------------------------------------

    @staticmethod
    def _check(left: Operand, left_levels: int, cond: tuple[Any, ...]) -> _Built:
        op, modifier, right, cond_levels, end = cond
        span = _span(_start(left), end)
        node: Expr
        if right is None:
            node = _new_unary(left, op, span)
        else:
            node = _new_binary(left, op, right, modifier, span)
        return node, 1 + max(left_levels, cond_levels)

    def field_check(self, c: list[Any]) -> _Built:
        return self._check(c[0][0], c[0][1], c[1])

    def transformer_check(self, c: list[Any]) -> _Built:
        return self._check(c[0][0], c[0][1], c[1])

    def paren_check(self, c: list[Any]) -> _Built:
        node, levels = c[1]
        return node, 2 + levels

    def macro_check(self, c: list[Any]) -> _Built:
        token: Token = c[0]
        return _new_macro_ref(str(token.value), _span(token, token.end_pos)), 1

    # ---- boolean structure -----------------------------------------------------------

    def group(self, c: list[Any]) -> _Built:
        built: _Built = c[0]
        return built

    def neg(self, c: list[Any]) -> _Built:
        node, levels = c[-1]
        negations = len(c) - 1
        if len(c) >= 2 and c[-2].type == "NOT_PAREN":
            levels += 1  # not( goes straight to parse_embedded_remainder
        if negations % 2:
            node = _new_not(node, _span(c[0], _end(node)))
        return node, 1 + levels

    @staticmethod
    def _chain(c: list[Any], make: Callable[..., Expr]) -> _Built:
        first, levels = c[0]
        if len(c) == 1:
            return first, 1 + levels
        children = [first]
        for i in range(1, len(c), 2):
            child, child_levels = c[i + 1]
            if c[i].type.endswith("_PAREN"):
                child_levels += 1  # `and(` / `or(` go straight to parse_embedded_remainder
            levels = max(levels, child_levels)
            children.append(child)
        return make(tuple(children), _span(_start(first), _end(children[-1]))), 1 + levels

    def conj(self, c: list[Any]) -> _Built:
        return self._chain(c, _new_and)

    def disj(self, c: list[Any]) -> _Built:
        return self._chain(c, _new_or)

    def start(self, c: list[Any]) -> _Built:
        built: _Built = c[0]
        return built


# Lark's options besides the transformer and callbacks.  Spans come from token positions in
# the callbacks: Lark's meta is not available to an embedded transformer, and propagating it
# costs time.
_LARK_SETTINGS: Final = {"parser": "lalr", "lexer": "contextual", "propagate_positions": False,
                         "maybe_placeholders": True}
# Token kinds unescaped as soon as they are lexed.
_UNESCAPED: Final = frozenset({"QUOTED", "ARG_QUOTED"})


@functools.cache
def _lark() -> Lark:
    """The parser, made once per process on first use (from the cache file when there is one)."""
    from lark import Lark, Transformer

    class LarkBuilder(_Builder, Transformer[Any, _Built]):
        """The tree builder as Lark's embedded transformer."""

    return Lark(
        GRAMMAR_PATH.read_text(encoding="utf-8"),
        **_LARK_SETTINGS,
        transformer=LarkBuilder(),
        lexer_callbacks={kind: _unescape_token for kind in sorted(_UNESCAPED)},
        cache=parser_cache_file() or False,
    )


@functools.cache
def _tables() -> Tables | None:
    """The fast driver's tables, or ``None`` if this Lark's internals differ.

    They are loaded from the cache directory when kept there for this grammar, these settings
    and this Lark (without importing Lark); else taken from Lark's parser, then kept.
    """
    builder = _Builder()
    path = tables_cache_file()
    key = _tables_key() if path is not None else None
    if path is not None and key is not None:
        data = read_keyed(path, key)
        if data is not None:
            try:
                return Tables.from_spec(marshal.loads(data), builder, unescaped=_UNESCAPED, unescape=unescape)
            except Exception:  # a damaged file, or one of another layout, is a cache miss
                pass
    try:
        spec = table_spec(_lark(), _UNESCAPED)
        tables = Tables.from_spec(spec, builder, unescaped=_UNESCAPED, unescape=unescape)
    except (LookupError, AttributeError, TypeError, ValueError):
        return None
    if path is not None and key is not None:
        write_keyed(path, key, marshal.dumps(spec))
    return tables


def _tables_key() -> str | None:
    """A fingerprint of what the cached tables depend on: their layout, Python, Lark (its
    ``__init__.py`` holds its version), the grammar and Lark's settings (a CRC and a length:
    it tells versions apart in a directory only we write to).  ``None`` if one is unreadable."""
    from importlib.util import find_spec

    lark_spec = find_spec("lark")
    if lark_spec is None or lark_spec.origin is None:
        return None
    try:
        lark_init = Path(lark_spec.origin).read_bytes()
        grammar = GRAMMAR_PATH.read_bytes()
    except OSError:
        return None
    material = b"\0".join([str(SPEC_VERSION).encode(), sys.version.encode(), lark_init, grammar,
                           repr(sorted(_LARK_SETTINGS.items())).encode(), repr(sorted(_UNESCAPED)).encode()])
    return f"v{SPEC_VERSION}-{zlib.crc32(material):08x}-{len(material)}"


def parse(text: str, *, max_depth: int = FALCO_MAX_DEPTH) -> Expr:
    """Parse a Falco condition into its AST.

    Raises :class:`ConditionSyntaxError` with libsinsp's message where
    practical, the offset of the problem and the tokens that would have been
    accepted there.
    """
    if not text:
        raise ConditionSyntaxError("filter input string is empty", text, 0)
    tables = _tables()
    if tables is not None:
        built = run(tables, text, max_depth)
        if built is not None and built[1] < max_depth:
            fast: Expr = built[0]
            return fast
    return _parse_with_lark(text, max_depth)


def _parse_with_lark(text: str, max_depth: int) -> Expr:
    """Lark's interactive parser, which also words every error."""
    from lark.exceptions import UnexpectedInput, UnexpectedToken

    interactive = _lark().parse_interactive(text)
    open_costs: list[int] = []
    bound = 0
    deepest_bound = deepest = 0  # where the most nested opener was, for the depth error
    last: Token | None = None
    previous: Token | None = None
    try:
        for token in interactive.iter_parse():
            kind = token.type
            cost = -1
            if kind == "LPAREN":
                cost = 5 if last is None or last.type in GROUP_PRECEDERS else 0
            elif kind in OPENER_COST:
                cost = OPENER_COST[kind]
            elif kind == "RPAREN" and open_costs:
                bound -= open_costs.pop()
            if cost >= 0:
                open_costs.append(cost)
                bound += cost
                if bound >= max_depth:
                    raise _DepthError(token.start_pos or 0)
                if bound > deepest_bound:
                    deepest_bound, deepest = bound, token.start_pos or 0
            previous, last = last, token
        result = interactive.feed_eof(last)
    except _DepthError as exc:
        raise _depth_error(text, exc.offset, max_depth) from None
    except _TokenError as exc:
        raise ConditionSyntaxError(exc.message, text, exc.offset) from None
    except UnexpectedInput as exc:
        if isinstance(exc, UnexpectedToken) and exc.token is last:
            last = previous  # the parser refused the token the lexer just handed over
        raise _syntax_error(text, exc, interactive.parser_state, last) from None
    node, levels = result
    if levels >= max_depth:
        raise _depth_error(text, deepest, max_depth)
    expr: Expr = node
    return expr


def _depth_error(text: str, offset: int, max_depth: int) -> ConditionSyntaxError:
    return ConditionSyntaxError(f"exceeded max depth limit of {max_depth}", text, offset)


# --------------------------------------------------------------------------
# Error wording.

_TRANSFORMERS_MSG: Final = "'val', 'tolower', 'toupper', 'b64', 'basename', 'len', 'join', 'concat', 'getopt'"
_OPERATORS_MSG: Final = (
    "'exists', '<=', '<', '>=', '>', '==', '=', '!=', 'glob', 'iglob', 'contains', 'icontains', "
    "'bcontains', 'startswith', 'bstartswith', 'endswith', 'regex', 'intersects', 'in', 'pmatch'"
)

_HUMAN: Final = {
    "$END": "end of input",
    "AND": "'and'",
    "AND_PAREN": "'and('",
    "OR": "'or'",
    "OR_PAREN": "'or('",
    "NOT": "'not'",
    "NOT_PAREN": "'not('",
    "LPAREN": "'('",
    "RPAREN": "')'",
    "_COMMA": "','",
    "LBRACK": "'['",
    "RBRACK": "']'",
    "FIELDNAME": "field name",
    "TRANSFORMER_OPEN": "field transformer",
    "VAL_OPEN": "'val('",
    "IDENTIFIER": "identifier",
    "EXISTS": "'exists'",
    "NUM_OP": "numeric operator",
    "STR_OP": "string operator",
    "LIST_OP": "list operator",
    "MODIFIER": "operator modifier",
    "HEXNUM": "hex number",
    "NUMBER": "number",
    "QUOTED": "quoted string",
    "BARESTR": "bare string",
    "ARG_QUOTED": "quoted string",
    "ARG_BARE": "bare string",
}


def _accepted(parser_state: Any) -> frozenset[str]:
    """Terminals the parser would accept next, simulating reductions on a copy of the state stack."""
    conf = parser_state.parse_conf
    states = conf.states
    stack: list[Any] = parser_state.state_stack
    candidates = [t for t in states[stack[-1]] if t.isupper()]
    return frozenset(t for t in candidates if _accepts(states, conf.end_state, list(stack), t))


def _accepts(states: Any, end_state: Any, stack: list[Any], terminal: str) -> bool:
    from lark.parsers.lalr_analysis import Shift

    while True:
        action = states[stack[-1]].get(terminal)
        if action is None:
            return False
        kind, arg = action
        if kind is Shift:
            return True
        size = len(arg.expansion)
        if size:
            del stack[-size:]
        stack.append(states[stack[-1]][arg.origin.name][1])
        if terminal == "$END" and stack[-1] == end_state:
            return True


def _innermost_opener(value_stack: Sequence[Any]) -> str:
    """What the innermost unclosed parenthesis belongs to: list, tlist, transformer or group."""
    from lark import Token

    for i in range(len(value_stack) - 1, -1, -1):
        item = value_stack[i]
        if not isinstance(item, Token):
            continue
        if item.type in ("TRANSFORMER_OPEN", "VAL_OPEN"):
            return "transformer"
        if item.type in ("NOT_PAREN", "AND_PAREN", "OR_PAREN"):
            return "group"
        if item.type == "LPAREN":
            before = value_stack[i - 1] if i else None
            if isinstance(before, Token) and before.type in ("LIST_OP", "MODIFIER"):
                return "list"
            if isinstance(before, Token) and before.type in ("TRANSFORMER_OPEN", "_COMMA"):
                return "tlist"
            return "group"
    return "group"


def _message(
    text: str, pos: int, accepted: frozenset[str], value_stack: Sequence[Any], last: Token | None
) -> str:
    if "AND" in accepted or "OR" in accepted:
        for keyword in ("and", "or"):
            if text.startswith(keyword, pos):
                return f"expected blank or '(' after '{keyword}'"
        if "RPAREN" in accepted:
            return "expected a ')' token"
        previous = str(last.value).strip() if last is not None else ""
        return f"unexpected token after '{previous}', expecting 'or', 'and'"
    if "EXISTS" in accepted:
        return f"expected a valid check operator: one of {_OPERATORS_MSG}"
    if "ARG_BARE" in accepted:
        return "expected a valid field argument: a quoted string or a bare string"
    if "RBRACK" in accepted:
        return "expected a ']' token"
    if "IDENTIFIER" in accepted and "FIELDNAME" in accepted:
        return "expected a '(' token, a field check, or an identifier"
    if "VAL_OPEN" in accepted:
        if "HEXNUM" in accepted:
            return f"expected a number value or a field with a valid transformer: {_TRANSFORMERS_MSG}"
        if "BARESTR" in accepted:
            return f"expected a string value or a field with a valid transformer: {_TRANSFORMERS_MSG}"
        return f"expected a list, an identifier, or a field with a valid transformer: {_TRANSFORMERS_MSG}"
    if accepted == {"FIELDNAME"}:
        return "expected a field within 'val' transformer"
    if "FIELDNAME" in accepted:
        if "LPAREN" in accepted:
            return "expected field transformer argument: field, transformer, quoted string, number, or transformer list"
        return "expected transformer list argument: field, transformer, quoted string, or number"
    if "BARESTR" in accepted:
        return "expected a ')' token" if "RPAREN" in accepted else "expected a string value"
    if "IDENTIFIER" in accepted:
        return "expected a list or an identifier"
    if "RPAREN" in accepted:
        context = _innermost_opener(value_stack)
        if context == "transformer":
            return "expected a ')' token closing the transformer"
        if context == "tlist":
            return "expected ')'"
        return "expected a ')' token"
    return "syntax error"


def _syntax_error(
    text: str, exc: UnexpectedInput, parser_state: Any, last: Token | None
) -> ConditionSyntaxError:
    from lark.exceptions import UnexpectedToken

    where: int | None = exc.pos_in_stream
    if where is None or (isinstance(exc, UnexpectedToken) and exc.token.type == "$END"):
        where = len(text)
    pos: int = where
    accepted = _accepted(parser_state)
    message = _message(text, pos, accepted, parser_state.value_stack, last)
    expected = tuple(sorted({_HUMAN.get(t, t) for t in accepted}))
    return ConditionSyntaxError(message, text, pos, expected)
