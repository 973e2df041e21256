"""The lean LALR driver builds exactly what Lark builds, spans and depth included, or defers to it."""

from __future__ import annotations

import json
import random
from typing import Any

import pytest

from detector.errors import ConditionSyntaxError
from detector.language import parser
from detector.language.lalr import run
from tests.ast_support import with_spans
from tests.shared import shared_dir

# Conditions chosen for the lexer's corners: blanks of every kind (\x08 starts a bare
# string where one may stand), newlines (line and column counting), escapes, keywords
# as values, modifiers, transformers, field arguments, depth, and plain errors.
CONDITIONS = [
    "proc.name = bash",
    "proc.name in (sh, 'b c', \"d\\\"e\", f)",
    "not proc.name in (a) and (fd.name startswith /etc or fd.name contains \"x y\")",
    "evt.type=execve and\tproc.pname\n=\r\nsshd",
    "a.b = 1 and\n  (c.d in (x,\ny)\n   or e.f exists)",
    "proc.name =\x08x",
    "proc.name in (\x08a, b)",
    "proc.name in ( \x08a , b )",
    "proc.aname[2] = bash and proc.aname[\"a b\"] exists",
    "tolower(proc.name) = bash and len(proc.args) > 3",
    "proc.name = val(proc.pname) and join(\",\", (proc.name, \"x\")) = a,b",
    "getopt(proc.args, \"nt:\")[t] = 1",
    "proc.name = oneof (a, b) and proc.name startswith anyof x",
    "proc.name = oneof and x",
    "not(a) and(b) or(c)",
    "not not not a",
    "evt.num > 0x1F and evt.num >= -12 and evt.num < 1.5e+3",
    "proc.name = 'it\\'s' and proc.name = \"\\x41\"",
    "macro_one or macro_two and not macro_three",
    "(((((a.b = 1)))))",
    "",
    "   ",
    "proc.name = 'unterminated",
    "proc.name = \"bad \\q escape\"",
    "proc.name in (a, b",
    "and a",
    "proc.name == ",
    "(" * 300 + "a" + ")" * 300,
    "a and(" * 200 + "b" + ")" * 200,
]


def _outcome(parse: Any, text: str, max_depth: int) -> Any:
    try:
        return "ok", with_spans(parse(text, max_depth))
    except ConditionSyntaxError as exc:
        return "error", exc.message, exc.offset, exc.expected


def _shared_conditions() -> list[str]:
    base = shared_dir()
    if base is None:
        return []
    path = base / "conformance" / "parser_cases.json"
    if not path.exists():
        return []
    return [c["condition"] for c in json.loads(path.read_text()) if c.get("condition")]


def _mutations(texts: list[str], count: int) -> list[str]:
    rnd = random.Random(7)
    pieces = list("()[],=<>!'\" \t\n\x08\\abnotrdx.019_-") + ["and", "or", "not", " in ", "not(", "exists",
                                                            "val(", "tolower(", "oneof", "\\\""]
    out = []
    for _ in range(count):
        text = rnd.choice(texts)
        at = rnd.randrange(len(text) + 1)
        if rnd.random() < 0.5:
            out.append(text[:at] + rnd.choice(pieces) + text[at:])
        else:
            out.append(text[:at] + text[at + 1:])
    return out


def _lark(text: str, max_depth: int) -> Any:
    if not text:
        return parser.parse(text, max_depth=max_depth)
    return parser._parse_with_lark(text, max_depth)


def _public(text: str, max_depth: int) -> Any:
    return parser.parse(text, max_depth=max_depth)


@pytest.mark.parametrize("text", CONDITIONS)
@pytest.mark.parametrize("max_depth", [1000, 12])
def test_parse_matches_lark_on_corner_cases(text: str, max_depth: int) -> None:
    assert _outcome(_public, text, max_depth) == _outcome(_lark, text, max_depth)


def test_fast_path_is_taken_for_valid_conditions_and_builds_lark_s_tree() -> None:
    tables = parser._tables()
    assert tables is not None
    built = run(tables, CONDITIONS[3], 1000)
    assert built is not None
    assert with_spans(built[0]) == with_spans(parser._parse_with_lark(CONDITIONS[3], 1000))
    assert run(tables, "proc.name in (a, b", 1000) is None  # errors are Lark's to word


def test_parse_matches_lark_on_conformance_cases_and_their_mutations() -> None:
    texts = _shared_conditions()
    if not texts:
        pytest.skip("shared parser cases not found")
    for text in texts + _mutations(texts, 1500):
        assert _outcome(_public, text, 1000) == _outcome(_lark, text, 1000), text
