"""libsinsp's own parser tests (conformance/parser_cases.json) run against our parser.

Every ``stage: parse`` case must agree on ok/error; where the corpus records
libsinsp's exact message or ``as_string`` text we must produce the same.  The
corpus cases come from libsinsp's unit tests, which run the parser with its
default depth limit of 100 (Falco raises it to 1000).
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from detector.errors import ConditionSyntaxError
from detector.language import as_string, parse
from detector.language.ast import (
    And,
    BinaryCheck,
    FieldRef,
    ListValue,
    MacroRef,
    Not,
    Or,
    Transform,
    UnaryCheck,
    Value,
)
from tests.shared import shared_dir

LIBSINSP_TEST_DEPTH = 100

# Cases whose error message we word differently from libsinsp, each with the
# reason.  Empty today: every message the corpus records is matched.
MESSAGE_ALLOW_LIST: dict[str, str] = {}


def _cases(stage: str) -> list[Any]:
    base = shared_dir()
    if base is None:
        return []
    path = base / "conformance" / "parser_cases.json"
    if not path.exists():
        return []
    cases = json.loads(path.read_text(encoding="utf-8"))
    return [
        pytest.param(case, id=f"{i}-{case['test']}") for i, case in enumerate(cases) if case["stage"] == stage
    ]


def _condition(case: dict[str, Any]) -> str:
    if case["condition"] is not None:
        text: str = case["condition"]
        return text
    # the one generated case: "'(' * 100000"
    match = re.fullmatch(r"'(.)' \* (\d+)", case["condition_expr"])
    assert match, case["condition_expr"]
    return match.group(1) * int(match.group(2))


def _variants(case: dict[str, Any]) -> list[str]:
    """libsinsp's test_accept also re-parses with blanks around and spaces turned into \\n and \\t."""
    text = _condition(case)
    if case["expect"] != "ok" or "re-parses with leading/trailing space" not in case.get("note", ""):
        return [text]
    padded = f" {text} "
    return [text, padded, padded.replace(" ", "\n"), padded.replace(" ", "\t")]


PARSE_CASES = _cases("parse")
COMPILE_CASES = _cases("compile")


def _skip_if_empty(cases: list[Any]) -> None:
    if not cases:
        pytest.skip("shared conformance corpus not found")


@pytest.mark.parametrize("case", PARSE_CASES or [None])
def test_parse_case(case: dict[str, Any] | None) -> None:
    if case is None:
        _skip_if_empty(PARSE_CASES)
        return
    for text in _variants(case):
        if case["expect"] == "ok":
            ast = parse(text, max_depth=LIBSINSP_TEST_DEPTH)
            # the canonical text reads back to the same tree
            assert parse(as_string(ast), max_depth=LIBSINSP_TEST_DEPTH) == ast
            if "as_string" in case:
                assert as_string(ast, exact=True) == case["as_string"]
        else:
            with pytest.raises(ConditionSyntaxError) as info:
                parse(text, max_depth=LIBSINSP_TEST_DEPTH)
            error = info.value
            assert 0 <= error.offset <= len(text)
            if "message" in case and case["source"] not in MESSAGE_ALLOW_LIST:
                assert error.message == case["message"]


@pytest.mark.parametrize("case", [c for c in COMPILE_CASES if c.values[0]["expect"] == "ok"] or [None])
def test_compile_ok_case_parses(case: dict[str, Any] | None) -> None:
    """Conditions libsinsp compiles must at least parse."""
    if case is None:
        _skip_if_empty(COMPILE_CASES)
        return
    parse(_condition(case))


def test_message_agreement_count() -> None:
    """Every recorded parse-error message matches, apart from the allow-list."""
    _skip_if_empty(PARSE_CASES)
    with_message = [p.values[0] for p in PARSE_CASES if "message" in p.values[0]]
    matched = 0
    for case in with_message:
        try:
            parse(_condition(case), max_depth=LIBSINSP_TEST_DEPTH)
        except ConditionSyntaxError as error:
            matched += error.message == case["message"]
    assert with_message
    assert matched == len(with_message) - len(MESSAGE_ALLOW_LIST)


# --------------------------------------------------------------------------
# The ASTs libsinsp's tests assert, written out.


def _f(name: str, arg: str | None = None) -> FieldRef:
    return FieldRef(name, arg)


def test_ast_all_node_types() -> None:
    expected = Or(
        (
            And(
                (
                    UnaryCheck(_f("evt.name"), "exists"),
                    BinaryCheck(_f("evt.type"), "in", ListValue(("a", "b"))),
                )
            ),
            BinaryCheck(_f("proc.name"), "=", Value("cat")),
        )
    )
    assert parse("evt.name exists and evt.type in (a, b) or proc.name=cat") == expected


def test_ast_transformers() -> None:
    expected = Or(
        (
            And(
                (
                    UnaryCheck(Transform("b64", (_f("evt.name"),)), "exists"),
                    BinaryCheck(
                        Transform("tolower", (Transform("toupper", (_f("evt.type"),)),)),
                        "in",
                        Transform("val", (_f("some.field"),)),
                    ),
                )
            ),
            BinaryCheck(_f("proc.name"), "=", Transform("b64", (Transform("tolower", (_f("some.field"),)),))),
        )
    )
    text = "b64(evt.name) exists and tolower(toupper(evt.type)) in val(some.field) or proc.name=b64(tolower(some.field))"
    assert parse(text) == expected


def test_ast_multi_negation() -> None:
    assert parse("not not not not not(not not(not not_macro))") == Not(Not(MacroRef("not_macro")))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "proc.name == oneof (cat, nginx)",
            BinaryCheck(_f("proc.name"), "==", ListValue(("cat", "nginx")), "oneof"),
        ),
        (
            "proc.name != anyof (cat, nginx)",
            BinaryCheck(_f("proc.name"), "!=", ListValue(("cat", "nginx")), "anyof"),
        ),
        ("proc.name = allof (cat)", BinaryCheck(_f("proc.name"), "=", ListValue(("cat",)), "allof")),
        ("proc.name == oneof ()", BinaryCheck(_f("proc.name"), "==", ListValue(()), "oneof")),
        ("proc.name == oneof my_list", BinaryCheck(_f("proc.name"), "==", Value("my_list"), "oneof")),
        (
            "proc.name == anyof and fd.name exists",
            And((BinaryCheck(_f("proc.name"), "==", Value("anyof")), UnaryCheck(_f("fd.name"), "exists"))),
        ),
        ("proc.name == oneof oneof", BinaryCheck(_f("proc.name"), "==", Value("oneof"), "oneof")),
        ("(proc.name == oneof)", BinaryCheck(_f("proc.name"), "==", Value("oneof"))),
    ],
)
def test_ast_modifiers(text: str, expected: object) -> None:
    assert parse(text) == expected
