"""``detector explain``: inputs, event selection, errors, text, colour and JSON output."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from detector.cli.explain import command

ROOT = Path(__file__).resolve().parent.parent
RULES = str(ROOT / "rules")
EXEC = {"evt.type": "execve", "evt.rawres": 0, "container.id": "3ad7b26ded6d", "proc.name": "nsenter",
        "proc.pname": "bash", "proc.tty": 34816}
AUDIT = {"kind": "Event", "apiVersion": "audit.k8s.io/v1", "auditID": "7f1c", "verb": "create", "stage": "ResponseComplete",
         "stageTimestamp": "2024-05-01T10:00:00.000000Z", "objectRef": {"resource": "pods", "namespace": "shop"},
         "user": {"username": "alice"}}


def run(*args: str, stdin: str | None = None) -> tuple[int, str, str]:
    result = CliRunner().invoke(command, list(args), input=stdin)
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    return result.exit_code, result.stdout, result.stderr


def write_lines(path: Path, *events: object) -> Path:
    path.write_text("".join(json.dumps(e) + "\n" for e in events))
    return path


def test_rule_on_an_inline_event() -> None:
    code, out, _ = run("--rule", "Namespace Tool Run in Container", "-r", RULES, "-e", json.dumps(EXEC))
    assert code == 0
    lines = out.splitlines()
    assert lines[0].startswith("rule: Namespace Tool Run in Container  (")
    assert "event --event #1  (syscall, evt.type=execve)" in lines
    assert 'true    └─ proc.name in (namespace_programs)  [proc.name="nsenter"]' in lines
    assert lines[-1] == "verdict: fired"
    assert "\x1b[" not in out  # plain when not a terminal


def test_color_can_be_forced() -> None:
    code, out, _ = run("--color", "-c", "proc.name = nsenter", "-e", json.dumps(EXEC))
    assert code == 0 and "\x1b[" in out


def test_files_and_line_selection(tmp_path: Path) -> None:
    events = write_lines(tmp_path / "e.jsonl", EXEC, {**EXEC, "proc.name": "ls"}, {**EXEC, "proc.name": "unshare"})
    code, out, _ = run("--rule", "Namespace Tool Run in Container", "-r", RULES, str(events), "--line", "2",
                       "--line", "3")
    assert code == 0
    assert f"event {events}:1" not in out
    assert f"event {events}:2  (syscall, evt.type=execve)" in out
    assert f"event {events}:3  (syscall, evt.type=execve)" in out
    assert 'verdict: did not fire because proc.name in (namespace_programs) is false (proc.name="ls")' in out
    assert out.rstrip().endswith("2 events: 1 fired, 1 did not fire")


def test_gzip_and_a_bad_line_are_handled(tmp_path: Path) -> None:
    path = tmp_path / "events.gz"
    path.write_bytes(gzip.compress(b'{"evt.type": "open", "proc.name": "cat"}\nnot json\n'))
    code, out, err = run("-c", "proc.name = cat", str(path))
    assert code == 0
    assert "verdict: matched" in out
    assert f"{path}:2: invalid_json:" in err and "skipped" in err


def test_pretty_printed_audit_event_file_and_source_inference(tmp_path: Path) -> None:
    path = tmp_path / "audit.json"
    path.write_text(json.dumps(AUDIT, indent=2))
    code, out, _ = run("-c", "ka.verb = create and ka.target.resource = pods", str(path))
    assert code == 0
    assert "(source k8s_audit)" in out.splitlines()[0]
    assert f"event {path}#1  (k8s_audit)" in out and "verdict: matched" in out


def test_audit_rule_skips_syscall_events() -> None:
    code, out, _ = run("--rule", "Pod Exec or Attach", "-r", RULES, "-e", json.dumps(EXEC))
    assert code == 0
    assert "verdict: did not fire: the event is of source syscall, the rule is for k8s_audit" in out


def test_json_output_is_one_document(tmp_path: Path) -> None:
    code, out, _ = run("--json", "--rule", "Namespace Tool Run in Container", "-r", RULES,
                       "-e", json.dumps(EXEC), "-e", json.dumps({**EXEC, "container.id": None}))
    assert code == 0
    doc = json.loads(out)
    assert doc["schema"] == "detector-explain/1"
    assert [e["fired"] for e in doc["events"]] == [True, False]
    assert doc["events"][1]["reasons"][0]["outcome"] == "absent"
    assert doc["summary"] == {"events": 2, "matched": 1, "fired": 1}


def test_stdin_is_read_with_dash() -> None:
    code, out, _ = run("-c", "proc.name = nsenter", "-", stdin=json.dumps(EXEC) + "\n")
    assert code == 0 and "verdict: matched" in out


@pytest.mark.parametrize(("args", "message"), [
    (["-e", "{}"], "give exactly one of -c/--condition and --rule"),
    (["-c", "proc.name = x", "--rule", "r", "-e", "{}"], "give exactly one"),
    (["--rule", "r", "-e", "{}"], "--rule needs the rules files"),
    (["-c", "proc.name = x"], "give events"),
])
def test_usage_errors(args: list[str], message: str) -> None:
    code, _, err = run(*args)
    assert code == 2 and message in err


def test_bad_inputs_exit_2_with_a_located_message(tmp_path: Path) -> None:
    code, _, err = run("-c", "proc.name = ", "-e", json.dumps(EXEC))
    assert code == 2 and "error:" in err and "^" in err
    code, _, err = run("--rule", "Namespace Tool Run", "-r", RULES, "-e", json.dumps(EXEC))
    assert code == 2 and "no rule named 'Namespace Tool Run'" in err and "did you mean" in err
    code, _, err = run("-c", "proc.name = x", "-e", "[1")
    assert code == 2 and "--event #1: not an event" in err
    events = write_lines(tmp_path / "e.jsonl", EXEC)
    code, _, err = run("-c", "proc.name = x", str(events), "--line", "7")
    assert code == 2 and "no events to explain on line 7" in err
    broken = tmp_path / "broken.yaml"
    broken.write_text("- rule: x\n  condition: evt.type = \n")
    code, _, err = run("--rule", "x", "-r", str(broken), "-e", json.dumps(EXEC))
    assert code == 2 and "the rules do not load" in err
    code, _, err = run("-c", "proc.name = x", str(tmp_path / "missing.jsonl"))
    assert code == 2 and "cannot open" in err
