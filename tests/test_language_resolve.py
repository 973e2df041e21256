"""List text substitution and macro expansion (Falco's resolve_list and filter_macro_resolver)."""

from __future__ import annotations

import pytest

from detector.errors import ConditionCompileError, MacroError
from detector.language import as_string, expand_macros, macro_refs, parse, resolve_lists, substitute_lists
from detector.language.ast import And, Expr, MacroRef, Not, Or

LISTS = {
    "shell_binaries": ["bash", "sh"],
    "empty": [],
    "spaced": ["a b", '"c d"', "'e f'"],
    "x": ["1"],
}


# --------------------------------------------------------------------------
# Lists: the exact text Falco builds (blanks around the name are consumed and
# one blank is put on each side of the items).


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("proc.name in (shell_binaries)", "proc.name in ( bash, sh )"),
        ("proc.name in (a, shell_binaries)", "proc.name in (a, bash, sh )"),
        ("proc.name = shell_binaries", "proc.name = bash, sh "),
        ("shell_binaries", "bash, sh "),
        # items holding a blank are quoted, unless already quoted
        ("proc.name in (spaced)", 'proc.name in ( "a b", "c d", \'e f\' )'),
        # every delimited occurrence, including the one right after a substitution
        ("a.b in (x,x, x)", "a.b in ( 1 , 1 , 1 )"),
        ("x=x", "1 = 1 "),
        # names inside longer words are left alone
        (
            "proc.name in (shell_binaries_2, xshell_binaries)",
            "proc.name in (shell_binaries_2, xshell_binaries)",
        ),
        ("proc.name in (shell_binaries.x)", "proc.name in (shell_binaries.x)"),
    ],
)
def test_list_substitution_text(text: str, expected: str) -> None:
    assert substitute_lists(text, LISTS) == expected


@pytest.mark.parametrize(
    ("text", "items"),
    [
        ("proc.name in (a, empty)", ("a",)),
        ("proc.name in (empty, a)", ("a",)),
        ("proc.name in (a, empty, b)", ("a", "b")),
        ("proc.name in (empty)", ()),
    ],
)
def test_empty_list_takes_one_comma(text: str, items: tuple[str, ...]) -> None:
    ast = parse(substitute_lists(text, LISTS))
    assert as_string(ast) == f"proc.name in ({', '.join(items)})"


def test_lists_apply_in_order_and_report_use() -> None:
    # a list substituted earlier can bring in the name of a later one
    lists = {"outer": ["inner", "z"], "inner": ["y"], "unused": ["q"]}
    text, used = resolve_lists("a.b in (outer)", lists)
    assert as_string(parse(text)) == "a.b in (y, z)"
    assert used == frozenset({"outer", "inner"})


def test_list_substitution_feeds_the_parser() -> None:
    text = substitute_lists("evt.type = open and proc.name in (shell_binaries)", LISTS)
    assert as_string(parse(text)) == "(evt.type = open and proc.name in (bash, sh))"


# --------------------------------------------------------------------------
# Macros


def _macros(**bodies: str) -> dict[str, Expr]:
    return {name: parse(body) for name, body in bodies.items()}


def test_expansion_replaces_references_recursively() -> None:
    macros = _macros(
        spawned="evt.type = execve and evt.dir = <",
        shell="proc.name in (bash, sh)",
        shell_spawn="spawned and shell",
    )
    expanded = expand_macros(parse("shell_spawn and not user.name = root"), macros)
    assert as_string(expanded) == (
        "(((evt.type = execve and evt.dir = <) and proc.name in (bash, sh)) and not user.name = root)"
    )
    assert macro_refs(expanded) == frozenset()


def test_expansion_keeps_unrelated_trees_and_shares_bodies() -> None:
    macros = _macros(m="a.b = 1")
    ast = parse("m or (m and c.d exists)")
    expanded = expand_macros(ast, macros)
    assert isinstance(expanded, Or)
    first, second = expanded.children
    assert isinstance(second, And)
    assert first is second.children[0]  # one expansion, shared
    assert expand_macros(parse("c.d exists"), macros) == parse("c.d exists")


def test_macro_refs_are_direct_references_only() -> None:
    assert macro_refs(parse("a and not (b or c.d = e) and a")) == frozenset({"a", "b"})
    assert macro_refs(parse("c.d in (a, b)")) == frozenset()


def test_undefined_macro() -> None:
    text = "a.b = 1 and missing"
    with pytest.raises(MacroError) as info:
        expand_macros(parse(text), {}, text=text)
    error = info.value
    assert error.message == "Undefined macro 'missing' used in filter."
    assert error.macro == "missing"
    assert error.span is not None and text[error.span.start : error.span.end] == "missing"
    assert error.offset == text.index("missing")
    assert isinstance(error, ConditionCompileError)


def test_undefined_macro_inside_a_macro() -> None:
    macros = _macros(outer="inner or x.y = 1")
    with pytest.raises(MacroError, match=r"^Undefined macro 'inner' used in filter\.$"):
        expand_macros(parse("outer"), macros)


def test_reference_loop() -> None:
    macros = _macros(a="b and x.y = 1", b="not a")
    with pytest.raises(MacroError) as info:
        expand_macros(parse("z.z exists or a"), macros)
    assert info.value.message == "reference loop in macro 'a'"
    assert info.value.macro == "a"


def test_self_reference_is_a_loop() -> None:
    with pytest.raises(MacroError, match=r"^reference loop in macro 'a'$"):
        expand_macros(parse("a"), _macros(a="a or x.y = 1"))


def test_loop_outranks_an_earlier_undefined_macro() -> None:
    # Falco reports resolver errors (loops) before unknown macros
    macros = _macros(a="b", b="a")
    with pytest.raises(MacroError, match="reference loop"):
        expand_macros(parse("missing and a"), macros)


def test_doubling_chain_is_refused_without_being_built() -> None:
    macros: dict[str, Expr] = {"m0": parse("x.y = 1")}
    for i in range(1, 41):
        macros[f"m{i}"] = parse(f"m{i - 1} and m{i - 1}")
    with pytest.raises(MacroError) as info:
        expand_macros(parse("m40"), macros)
    assert "limit of 1000000" in info.value.message
    assert info.value.macro.startswith("m")


def test_node_limit_is_adjustable() -> None:
    macros: dict[str, Expr] = {"m0": parse("x.y = 1")}
    for i in range(1, 6):
        macros[f"m{i}"] = parse(f"m{i - 1} and m{i - 1}")
    expanded = expand_macros(parse("m5"), macros, max_nodes=63)  # 32 checks and 31 ands
    assert as_string(expanded).count("x.y = 1") == 32
    with pytest.raises(MacroError, match="limit of 62"):
        expand_macros(parse("m5"), macros, max_nodes=62)


def test_long_macro_chains_need_no_recursion() -> None:
    macros: dict[str, Expr] = {"m0": parse("x.y = 1")}
    for i in range(1, 5000):
        macros[f"m{i}"] = parse(f"not m{i - 1}")
    expanded = expand_macros(parse("m4999"), macros)
    depth = 0
    node: Expr = expanded
    while isinstance(node, Not):
        depth += 1
        node = node.child
    assert depth == 4999
    assert as_string(expanded).count("not ") == 4999


def test_expansion_does_not_touch_values_named_like_macros() -> None:
    macros = _macros(bash="x.y = 1")
    ast = parse("proc.name in (bash) and proc.name = bash and a.b in bash")
    assert expand_macros(ast, macros) == ast


def test_macro_body_that_is_a_single_reference() -> None:
    macros = _macros(a="b", b="c", c="x.y exists")
    assert expand_macros(parse("not a"), macros) == Not(parse("x.y exists"))
    assert expand_macros(MacroRef("a"), macros) == parse("x.y exists")
