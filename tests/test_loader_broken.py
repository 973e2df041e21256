"""Broken rules files: each gives Falco's code and message at the right place, never a traceback."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from detector.loader import LoaderOptions, RulesLoader, codes, load_rules

DATA = Path(__file__).parent / "data" / "broken_rules"
EXPECTED: dict[str, dict[str, Any]] = json.loads((DATA / "expected.json").read_text())


def test_every_broken_file_has_an_expectation() -> None:
    files = {p.name for p in DATA.glob("*.yaml")}
    assert files == set(EXPECTED)
    assert len(files) >= 30


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_broken_file(name: str) -> None:
    want = EXPECTED[name]
    result = RulesLoader().load_file(DATA / name, name=name)
    assert result.errors, f"{name} loaded without errors"
    first = result.errors[0]
    assert len(result.errors) == 1, "a file stops at its first error"
    assert first.code == want["code"]
    if "message" in want:
        assert first.message == want["message"]
    else:
        assert want["message_contains"] in first.message
    assert (first.file, first.line, first.column) == (name, want["line"], want["column"])
    assert (first.item_kind, first.item_name) == (want["item_kind"], want["item_name"])
    assert first.is_error
    if first.code != codes.LOAD_ERR_FILE_READ:
        # the snippet is the file line of the position, with a caret under the column
        line_text = (DATA / name).read_text().splitlines()[first.line - 1]
        shown, caret = first.snippet.split("\n")
        assert caret.index("^") == first.column - 1 or shown.startswith("...")
        assert shown == line_text or shown.startswith("...")


def test_all_errors_reports_every_broken_item() -> None:
    result = load_rules(DATA / "two_errors.yaml", all_errors=True)
    assert [(e.code, e.message, e.line) for e in result.errors] == [
        (codes.LOAD_ERR_YAML_VALIDATE, "Value is not a sequence", 2),
        (codes.LOAD_ERR_YAML_VALIDATE, "Item has no mapping for key 'condition'", 3),
        (codes.LOAD_ERR_YAML_VALIDATE, "Invalid priority", 8),
    ]


def test_all_errors_reports_every_rule_that_fails_to_compile() -> None:
    text = (
        "- rule: a\n  desc: d\n  condition: evt.type = open and nosuch\n  output: x\n  priority: INFO\n"
        "- rule: b\n  desc: d\n  condition: evt.type = open and proc.nobody = 1\n  output: x\n  priority: INFO\n"
        "- rule: c\n  desc: d\n  condition: evt.type = open\n  output: x\n  priority: INFO\n"
    )
    stop = load_rules(text)
    assert [e.item_name for e in stop.errors] == ["a"]
    every = load_rules(text, all_errors=True)
    assert [(e.item_name, e.code) for e in every.errors] == [
        ("a", codes.LOAD_ERR_VALIDATE), ("b", codes.LOAD_ERR_COMPILE_CONDITION)]
    assert [r.name for r in every.ruleset.rules] == ["c"]


def test_loading_stops_at_the_first_failing_file(tmp_path: Path) -> None:
    good = tmp_path / "b.yaml"
    good.write_text("- list: fine\n  items: [a]\n")
    result = load_rules(DATA / "bad_priority.yaml", good)
    assert [f.name for f in result.files] == [str(DATA / "bad_priority.yaml")]
    everything = load_rules(DATA / "bad_priority.yaml", good, all_errors=True)
    assert len(everything.files) == 2


def test_huge_file_is_refused_before_reading(tmp_path: Path) -> None:
    big = tmp_path / "huge.yaml"
    big.write_text("- list: big\n  items: [" + ", ".join(["item"] * 5000) + "]\n")
    result = RulesLoader(options=LoaderOptions(max_file_bytes=10_000)).load_file(big)
    (err,) = result.errors
    assert err.code == codes.LOAD_ERR_FILE_READ
    assert "too large" in err.message


def test_missing_file_is_a_read_error(tmp_path: Path) -> None:
    (err,) = RulesLoader().load_file(tmp_path / "nope.yaml").errors
    assert err.code == codes.LOAD_ERR_FILE_READ
    assert "No such file" in err.message


def test_deep_condition_nesting_is_a_clean_error() -> None:
    cond = "(" * 5000 + "evt.type = open" + ")" * 5000
    result = load_rules(f"- rule: deep\n  desc: d\n  condition: {cond}\n  output: x\n  priority: INFO\n")
    (err,) = result.errors
    assert err.code == codes.LOAD_ERR_COMPILE_CONDITION
    assert "depth" in err.message


def test_condition_error_in_an_appended_part_points_at_the_append() -> None:
    text = (
        "- rule: r\n  desc: d\n  condition: evt.type = open\n  output: x\n  priority: INFO\n"
        "- rule: r\n  condition: and proc.nobody = x\n  override:\n    condition: append\n"
    )
    (err,) = load_rules(text).errors
    assert err.message == "filter_check called with nonexistent field proc.nobody"
    assert (err.line, err.column) == (7, 18)


def test_condition_error_through_a_list_points_at_the_text_as_written() -> None:
    text = (
        "- list: shells\n  items: [sh, bash]\n"
        "- rule: r\n  desc: d\n  condition: proc.name in (shells) and evt.type = = open\n"
        "  output: x\n  priority: INFO\n"
    )
    (err,) = load_rules(text).errors
    assert err.code == codes.LOAD_ERR_COMPILE_CONDITION
    assert err.line == 5
    assert err.snippet.split("\n")[0][err.column - 1:].startswith("= open")
