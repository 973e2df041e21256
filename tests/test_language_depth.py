"""Trees as deep as Falco's nesting limit allows work everywhere: parse, print, compare, hash, compile."""

from __future__ import annotations

import pytest

import detector
from detector.errors import ConditionSyntaxError
from detector.language import as_string, parse


def _chain(depth: int, field: str = "a.b") -> str:
    return f"{field}=1" + f" and({field}=1" * depth + ")" * depth


def test_deepest_accepted_chain_compares_hashes_prints_and_compiles() -> None:
    depth = 330  # each `and(` costs 3 of libsinsp's 1000 levels
    text = _chain(depth)
    first, second = parse(text), parse(text.replace("=", " = "))
    assert first == second
    assert hash(first) == hash(second)
    # the printed form spends more levels per group ("(" costs 5), so round-trip a shallower chain
    shallow = parse(_chain(150))
    assert parse(as_string(shallow)) == shallow
    condition = detector.compile_condition(_chain(depth, "proc.pid"))
    assert condition.matches({"proc.pid": 1})
    assert not condition.matches({"proc.pid": 2})


def test_beyond_the_limit_is_a_clean_error() -> None:
    with pytest.raises(ConditionSyntaxError, match="exceeded max depth limit of 1000"):
        parse(_chain(400))


def test_structural_equality_ignores_spans_only() -> None:
    assert parse("proc.name in (a, b)") == parse("proc.name in (a,b)")
    assert parse("proc.name in (a, b)") != parse("proc.name in (b, a)")
    assert parse("not a") != parse("a")
    assert len({parse("x.y = 1"), parse("x.y=1"), parse("x.y = 2")}) == 2
