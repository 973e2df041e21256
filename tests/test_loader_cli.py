"""``detector validate``: Falco-style reports, JSON, exit status, --strict and --all."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from detector.cli.validate import command

BROKEN = Path(__file__).parent / "data" / "broken_rules"
GOOD = "- rule: r\n  desc: d\n  condition: evt.type = open\n  output: x %proc.name\n  priority: INFO\n"


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(command, list(args))
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    return result.exit_code, result.output


def test_valid_file_exits_zero(tmp_path: Path) -> None:
    f = tmp_path / "ok.yaml"
    f.write_text(GOOD)
    code, out = run(str(f))
    assert code == 0
    assert out.strip() == f"{f}: Ok"


def test_invalid_file_prints_falco_verbose_error_and_exits_one() -> None:
    code, out = run(str(BROKEN / "bad_priority.yaml"))
    assert code == 1
    assert out.startswith(f"{BROKEN / 'bad_priority.yaml'}: Invalid\n1 Errors:\n")
    assert "    rule 'bad priority': (" in out
    assert "LOAD_ERR_YAML_VALIDATE (Error validating internal structure of YAML file): Invalid priority" in out
    assert "  priority: SEVERE\n            ^" in out


def test_warnings_pass_unless_strict(tmp_path: Path) -> None:
    f = tmp_path / "warn.yaml"
    f.write_text(GOOD + "- list: unused\n  items: [a]\n")
    code, out = run(str(f))
    assert code == 0
    assert "Ok, with warnings" in out and "LOAD_UNUSED_LIST" in out
    code, _ = run("--strict", str(f))
    assert code == 1


def test_json_output_has_falco_shape() -> None:
    code, out = run("--json", str(BROKEN / "undefined_macro.yaml"))
    assert code == 1
    doc = json.loads(out)
    (res,) = doc["falco_load_results"]
    assert res["successful"] is False
    (err,) = res["errors"]
    assert err["code"] == "LOAD_ERR_VALIDATE"
    assert err["message"] == "Undefined macro 'foo' used in filter."
    assert (err["line"], err["column"], err["item_type"], err["item_name"]) == (
        3, 34, "rule", "uses undefined macro")
    assert [loc["item_type"] for loc in err["context"]["locations"]] == [
        "rules content", "rule", "rule condition", "condition expression"]


def test_all_reports_every_problem() -> None:
    code, out = run("--all", "--json", str(BROKEN / "two_errors.yaml"))
    assert code == 1
    assert len(json.loads(out)["falco_load_results"][0]["errors"]) == 3


def test_later_file_extends_earlier_and_directories_expand(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text(GOOD.replace("evt.type = open", "evt.type = open and shell"))
    (tmp_path / "b.yaml").write_text("- macro: shell\n  condition: proc.name = bash\n")
    (tmp_path / "notes.txt").write_text("not rules")
    code, out = run(str(tmp_path))
    # a.yaml is compiled before b.yaml defines the macro, exactly as Falco would
    assert code == 1
    assert "Undefined macro 'shell' used in filter." in out
    assert f"{tmp_path / 'b.yaml'}: Ok" in out
    assert "notes.txt" not in out


def test_mapping_file_gets_a_hint(tmp_path: Path) -> None:
    f = tmp_path / "falco.yaml"
    f.write_text("rules_files:\n  - /etc/falco/falco_rules.yaml\n")
    code, out = run(str(f))
    assert code == 1
    assert "Hint:" in out
