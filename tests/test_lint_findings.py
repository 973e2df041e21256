"""Lint on a fixture holding one instance of every finding: codes, severities, places, overlap with
the loader's own (Falco's) warnings, and ``detector validate --lint``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from detector.cli.validate import command as validate
from detector.lint import Finding, lint
from detector.lint.checks import suggest_regex
from detector.loader import load_rules
from detector.loader.model import LoadResult

DATA = Path(__file__).parent / "data" / "lint"
FILES = (str(DATA / "problems.yaml"), str(DATA / "local.yaml"))

# (code, severity, item kind, item name, file, line, column): checked by hand against the fixture.
EXPECTED = [
    ("LINT_DUPLICATE_LIST", "info", "list", "shells", "local.yaml", 2, 3),
    ("LINT_DUPLICATE_MACRO", "warning", "macro", "spawned", "local.yaml", 5, 3),
    ("LINT_DUPLICATE_RULE", "warning", "rule", "Redefined", "local.yaml", 8, 3),
    ("LINT_REGEX_SIMPLE", "warning", "rule", "Shell", "local.yaml", 15, 22),  # in the appended condition
    ("LINT_UNUSED_LIST", "warning", "list", "orphan_list", "problems.yaml", 8, 3),
    ("LINT_UNUSED_LIST", "warning", "list", "only_in_unused_macro", "problems.yaml", 11, 3),
    ("LINT_UNUSED_MACRO", "warning", "macro", "orphan_macro", "problems.yaml", 20, 3),
    ("LINT_UNUSED_MACRO", "warning", "macro", "chained_orphan", "problems.yaml", 23, 3),
    ("LINT_UNUSED_MACRO", "warning", "macro", "orphan_two", "problems.yaml", 26, 3),
    ("LINT_UNUSED_MACRO", "warning", "macro", "typo_macro", "problems.yaml", 29, 3),
    ("LINT_TYPE_MISMATCH", "error", "macro", "typo_macro", "problems.yaml", 31, 5),
    ("LINT_UNKNOWN_EVTTYPE", "error", "macro", "typo_macro", "problems.yaml", 31, 23),
    ("LINT_TYPE_MISMATCH", "error", "macro", "typo_macro", "problems.yaml", 32, 8),
    ("LINT_UNKNOWN_FIELD", "error", "macro", "typo_macro", "problems.yaml", 32, 35),
    ("LINT_EMPTY_NAMED_LIST", "info", "rule", "Shell", "problems.yaml", 36, 62),
    ("LINT_NEVER_FIRES", "error", "rule", "Contradiction", "problems.yaml", 40, 3),
    ("LINT_NEVER_FIRES", "error", "rule", "Empty literal", "problems.yaml", 46, 3),
    ("LINT_EMPTY_LIST", "warning", "rule", "Empty literal", "problems.yaml", 48, 26),
    ("LINT_REGEX_SIMPLE", "warning", "rule", "Regex", "problems.yaml", 54, 26),
    ("LINT_VALUE_OUT_OF_RANGE", "error", "rule", "Port", "problems.yaml", 60, 37),
    ("LINT_NEVER_FIRES", "error", "rule", "Typechar", "problems.yaml", 64, 3),
    ("LINT_VALUE_NOT_IN_DOMAIN", "error", "rule", "Typechar", "problems.yaml", 66, 37),
    ("LINT_NO_EVTTYPE", "warning", "rule", "No types", "problems.yaml", 70, 3),
    ("LINT_NO_EVTTYPE", "info", "rule", "No types, knowingly", "problems.yaml", 76, 3),
    ("LINT_NEVER_FIRES", "error", "rule", "Never types", "problems.yaml", 89, 3),
]


@pytest.fixture(scope="module")
def loaded() -> LoadResult:
    result = load_rules(*FILES)
    assert result.ok
    return result


@pytest.fixture(scope="module")
def findings(loaded: LoadResult) -> list[Finding]:
    return lint(loaded)


def key(f: Finding) -> tuple[str, str, str, str, str, int, int]:
    return (f.code, f.severity, f.item_kind, f.item_name, Path(f.file).name, f.line, f.column)


def test_every_finding_and_where_it_is(findings: list[Finding]) -> None:
    assert sorted(map(key, findings)) == sorted(EXPECTED)


def test_messages_say_why(findings: list[Finding]) -> None:
    text = {(f.code, f.item_name): f.message for f in findings}
    assert text["LINT_NEVER_FIRES", "Contradiction"].endswith(
        "no value of proc.name satisfies proc.name = bash and proc.name = sh")
    assert text["LINT_UNUSED_MACRO", "chained_orphan"].endswith("only unused macro orphan_two refers to it")
    assert text["LINT_UNUSED_LIST", "only_in_unused_macro"].endswith(
        "only unused items refer to it (macro orphan_macro)")
    assert "70000 is outside the range of fd.sport (PORT: 0 to 65535)" in text["LINT_VALUE_OUT_OF_RANGE", "Port"]
    assert text["LINT_REGEX_SIMPLE", "Regex"] == (
        "regex 'bash.*' is a full match that 'proc.name startswith bash' does, without a regex engine")
    assert text["LINT_EMPTY_NAMED_LIST", "Shell"] == (
        "container.image.repository in (empty_images) is never true while this list is empty")
    assert "differently from" in text["LINT_DUPLICATE_MACRO", "spawned"]


def test_snippets_point_at_the_check(findings: list[Finding]) -> None:
    port = next(f for f in findings if f.code == "LINT_VALUE_OUT_OF_RANGE")
    line, caret = port.snippet.splitlines()
    assert line[caret.index("^"):].startswith("fd.sport = 70000")
    assert port.describe().splitlines()[0] == f"In rule 'Port': ({port.file}:60:37)"
    assert port.describe().splitlines()[-1].startswith(
        "LINT_VALUE_OUT_OF_RANGE (Number out of the field's range, error): 70000 is outside")


def test_lint_covers_the_loaders_unused_and_evttype_warnings(loaded: LoadResult, findings: list[Finding]) -> None:
    # Falco's unused warnings count any reference; lint's count only what a rule reaches, so it
    # reports everything Falco does and more (a macro used only by an unused macro).
    falco = {(w.code, w.item_name) for w in loaded.warnings}
    assert falco == {("LOAD_COMPILE_CONDITION", "Regex"), ("LOAD_COMPILE_CONDITION", "Shell"),
                     ("LOAD_NO_EVTTYPE", "No types"),
                     ("LOAD_UNUSED_MACRO", "orphan_macro"), ("LOAD_UNUSED_MACRO", "orphan_two"),
                     ("LOAD_UNUSED_MACRO", "typo_macro"), ("LOAD_UNUSED_LIST", "orphan_list")}
    ours = {(f.code.replace("LINT_", "LOAD_"), f.item_name) for f in findings}
    assert {w for w in falco if w[0] != "LOAD_COMPILE_CONDITION"} <= ours
    assert {("LINT_REGEX_SIMPLE", "Regex"), ("LINT_REGEX_SIMPLE", "Shell")} <= {(f.code, f.item_name) for f in findings}
    assert ("LOAD_UNUSED_MACRO", "chained_orphan") in ours - falco


def test_lint_of_a_bare_ruleset_and_of_text(loaded: LoadResult, findings: list[Finding]) -> None:
    assert sorted(map(key, lint(loaded.ruleset))) == sorted(map(key, findings))
    text = "- macro: m\n  condition: proc.name = x\n"
    from_text = lint(load_rules(text), texts={"rules.yaml": text})
    assert [(f.code, f.file, f.line, f.column) for f in from_text] == [("LINT_UNUSED_MACRO", "rules.yaml", 1, 3)]


def test_clean_rules_have_no_findings() -> None:
    text = ("- macro: spawned\n  condition: evt.type = execve\n"
            "- rule: r\n  desc: d\n  condition: spawned and proc.name = bash\n  output: x\n  priority: INFO\n")
    assert lint(load_rules(text)) == []


@pytest.mark.parametrize(("pattern", "better"), [
    ("bash", "= bash"), ("^bash$", "= bash"), ("bash.*", "startswith bash"), (".*bash", "endswith bash"),
    (".*bash.*", "contains bash"), (".+bash", None), ("ba[sz]h", None), ("a|b", None),
])
def test_regex_suggestions(pattern: str, better: str | None) -> None:
    assert suggest_regex(pattern) == better


def run_validate(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(validate, list(args))
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    return result.exit_code, result.output


def test_validate_lint_text_json_and_strict() -> None:
    code, out = run_validate("--lint", *FILES)
    assert code == 0
    assert "\nLint: 25 findings:\n" in out
    assert "LINT_NEVER_FIRES (Rule can never fire, error): Rule 'Contradiction' can never fire" in out
    code, _ = run_validate("--lint", "--strict", *FILES)
    assert code == 1
    code, out = run_validate("--lint", "--json", *FILES)
    doc = json.loads(out)
    assert len(doc["lint_findings"]) == 25 and doc["lint_findings"][0]["code"] == "LINT_DUPLICATE_LIST"
    assert set(doc) == {"falco_load_results", "lint_findings"}


def test_validate_without_lint_is_unchanged() -> None:
    code, out = run_validate(*FILES)
    assert "Lint" not in out
    code, out = run_validate("--json", *FILES)
    assert set(json.loads(out)) == {"falco_load_results"}


def test_validate_lint_skips_rules_that_do_not_load(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("- rule: r\n  condition: evt.type = \n")
    code, out = run_validate("--lint", str(bad))
    assert code == 1 and "Lint: skipped, the rules do not load" in out


def test_strict_ignores_info_findings(tmp_path: Path) -> None:
    f = tmp_path / "ok.yaml"
    f.write_text("- list: known\n  items: []\n- rule: r\n  desc: d\n  condition: evt.type = open and "
                 "not proc.name in (known)\n  output: x\n  priority: INFO\n")
    code, out = run_validate("--lint", "--strict", str(f))
    assert code == 0 and "LINT_EMPTY_NAMED_LIST" in out
