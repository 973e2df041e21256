"""Printer and parser agree: generated ASTs survive text, and no text makes the parser crash."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from detector.errors import ConditionSyntaxError
from detector.language import as_string, parse
from detector.language.ast import (
    LIST_OPERATORS,
    NUMERIC_OPERATORS,
    STRING_OPERATORS,
    And,
    BinaryCheck,
    Expr,
    FieldRef,
    ListValue,
    MacroRef,
    Not,
    Or,
    Transform,
    TransformerList,
    UnaryCheck,
    Value,
)

# ---------------------------------------------------------------------------
# ASTs the parser can build.  Values are arbitrary text wherever the language
# can quote them; numbers and identifiers only where the grammar wants those.

_LETTERS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
identifiers = st.builds(
    str.__add__, st.sampled_from(_LETTERS), st.text(_LETTERS + "0123456789_", max_size=6)
) | st.sampled_from(["and", "or", "not", "oneof", "val", "b64", "exists", "in"])
field_names = st.lists(identifiers, min_size=2, max_size=3).map(".".join)
numbers = st.from_regex(
    r"0[xX][0-9a-fA-F]{1,6}|[+\-]?[0-9]{1,6}(\.[0-9]{0,3})?([eE][+\-][0-9]{1,2})?", fullmatch=True
)
texts = st.text(max_size=12) | st.sampled_from(
    ["", "a b", "x\\", "'\"", "oneof", "and", "(", "tolower(x)", "a,b"]
)
args = st.none() | texts

fields = st.builds(FieldRef, field_names, args)
transformer_names = st.sampled_from(
    ["tolower", "toupper", "b64", "basename", "len", "join", "concat", "getopt"]
)


def _transformers(inner: st.SearchStrategy[FieldRef | Transform]) -> st.SearchStrategy[Transform]:
    literal = st.builds(Value, numbers | texts)
    tlist = st.builds(TransformerList, st.lists(inner | literal, max_size=3).map(tuple))
    arg = inner | literal | tlist
    return st.builds(Transform, transformer_names, st.lists(arg, min_size=1, max_size=3).map(tuple), args)


operands = st.recursive(fields, _transformers, max_leaves=4)
transformers = _transformers(operands)
val = st.builds(lambda f, a: Transform("val", (f,), a), fields, args)
rhs_transformers = transformers | val
list_literals = st.builds(ListValue, st.lists(texts, max_size=4).map(tuple))


@st.composite
def checks(draw: st.DrawFn) -> Expr:
    left = draw(operands)
    kind = draw(st.sampled_from(["unary", "num", "str", "modifier", "list"]))
    if kind == "unary":
        return UnaryCheck(left, "exists")
    if kind == "num":
        op = draw(st.sampled_from(NUMERIC_OPERATORS))
        return BinaryCheck(left, op, draw(st.builds(Value, numbers) | rhs_transformers))
    op = draw(st.sampled_from(STRING_OPERATORS))
    if kind == "str":
        return BinaryCheck(left, op, draw(st.builds(Value, texts) | rhs_transformers))
    if kind == "modifier":
        # after a modifier, and/or/not would read as the next boolean operator
        list_names = identifiers.filter(lambda n: n not in ("and", "or", "not"))
        right = draw(list_literals | st.builds(Value, list_names))
        return BinaryCheck(left, op, right, draw(st.sampled_from(["oneof", "anyof", "allof"])))
    op = draw(st.sampled_from(LIST_OPERATORS))
    return BinaryCheck(left, op, draw(list_literals | rhs_transformers | st.builds(Value, identifiers)))


leaves = checks() | st.builds(MacroRef, identifiers)


def _boolean(inner: st.SearchStrategy[Expr]) -> st.SearchStrategy[Expr]:
    many = st.lists(inner, min_size=2, max_size=4).map(tuple)
    return st.builds(And, many) | st.builds(Or, many) | st.builds(Not, inner)


expressions = st.recursive(leaves, _boolean, max_leaves=8)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(expressions)
def test_generated_ast_round_trips(ast: Expr) -> None:
    text = as_string(ast)
    assert parse(text) == ast, text


def _names_macro_not(ast: Expr) -> bool:
    """A macro called `not` is always printed as `(not)`, needed or not."""
    stack: list[Expr] = [ast]
    while stack:
        node = stack.pop()
        if isinstance(node, MacroRef) and node.name == "not":
            return True
        if isinstance(node, And | Or):
            stack.extend(node.children)
        elif isinstance(node, Not):
            stack.append(node.child)
    return False


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(expressions)
def test_exact_text_matches_canonical_when_reparseable(ast: Expr) -> None:
    """libsinsp's verbatim text only differs from ours where it would not read back."""
    exact = as_string(ast, exact=True)
    if exact != as_string(ast) and not _names_macro_not(ast):
        try:
            reparsed = parse(exact)
        except ConditionSyntaxError:
            return
        assert reparsed != ast


# ---------------------------------------------------------------------------
# Fuzz: any text either parses or fails with a located ConditionSyntaxError.

fragments = st.sampled_from(
    [
        "a",
        "b.c",
        "proc.name",
        "evt.arg[0]",
        " ",
        "\t",
        "\n",
        "\b",
        "\x0b",
        "(",
        ")",
        ",",
        "=",
        "==",
        "!=",
        "<",
        ">=",
        "and",
        "or",
        "not",
        "not(",
        "and(",
        "or(",
        "in",
        "exists",
        "contains",
        "startswith ",
        "oneof",
        "anyof ",
        "b64(",
        "val(",
        "join(",
        "getopt(",
        "[",
        "]",
        "'",
        '"',
        "\\",
        "x",
        "1",
        "0x1f",
        "-2.5e+3",
        "\\x4",
        "\\x41",
        "\\'",
        '\\"',
        "é",
        "\x00",
        "pmatch",
        "intersects",
        "glob ",
    ]
)
fuzz_texts = st.lists(fragments, max_size=30).map("".join) | st.text(max_size=60)


@settings(max_examples=600, deadline=None)
@given(fuzz_texts)
def test_random_text_only_raises_syntax_errors(text: str) -> None:
    try:
        ast = parse(text)
    except ConditionSyntaxError as error:
        assert error.message
        assert 0 <= error.offset <= len(text)
        assert error.snippet.endswith("^")
        return
    assert parse(as_string(ast)) == ast


# ---------------------------------------------------------------------------
# Depth: libsinsp counts its parsing calls; a parenthesised group costs five.


def test_deepest_accepted_nesting_round_trips() -> None:
    assert as_string(parse("(" * 199 + "a" + ")" * 199)) == "a"
    # a check needs four more levels than a macro reference
    assert as_string(parse("(" * 198 + "a.b = 1" + ")" * 198)) == "a.b = 1"
    with pytest.raises(ConditionSyntaxError, match="exceeded max depth limit of 1000"):
        parse("(" * 199 + "a.b = 1" + ")" * 199)


def test_one_group_deeper_is_rejected() -> None:
    text = "(" * 200 + "a" + ")" * 200
    with pytest.raises(ConditionSyntaxError, match="exceeded max depth limit of 1000"):
        parse(text)


def test_deep_boolean_nesting_prints_without_recursion() -> None:
    text = "a and (" * 198 + "b" + ")" * 198
    ast = parse(text)
    printed = as_string(ast)
    assert printed.count("(") == 198
    assert as_string(parse(printed)) == printed


def test_deep_transformer_nesting() -> None:
    depth = 497  # each transformer level costs libsinsp two calls
    ast = parse("b64(" * depth + "x.y" + ")" * depth + " exists")
    assert as_string(ast).count("b64(") == depth
    with pytest.raises(ConditionSyntaxError, match="exceeded max depth limit"):
        parse("b64(" * (depth + 1) + "x.y" + ")" * (depth + 1) + " exists")


def test_unclosed_flood_fails_on_depth() -> None:
    with pytest.raises(ConditionSyntaxError, match="exceeded max depth limit of 1000"):
        parse("(" * 100_000)
    with pytest.raises(ConditionSyntaxError, match="exceeded max depth limit of 1000"):
        parse("not(" * 100_000)


def test_custom_depth_limit() -> None:
    text = "(" * 10 + "a" + ")" * 10
    assert parse(text, max_depth=55) == MacroRef("a")
    with pytest.raises(ConditionSyntaxError, match="exceeded max depth limit of 54"):
        parse(text, max_depth=54)
