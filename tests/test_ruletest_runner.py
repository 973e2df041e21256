"""Unit tests of the ``detector test`` runner: suite parsing, comparison, files, CLI exit codes."""

from __future__ import annotations

import gzip
import json
import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner

from detector.cli.testcmd import command
from detector.priority import Priority
from detector.ruletest import (
    ExpectedAlert,
    FiredAlert,
    SuiteError,
    compare,
    load_suite,
    render_text,
    run_paths,
    run_suite,
    to_json,
)
from detector.ruletest.suite import Case, EventSource

RULES = """\
- required_engine_version: 0.57.0

- rule: Bash in container
  desc: bash started in a container
  condition: evt.type = execve and proc.name = bash and container.id != host
  output: Bash in container (command=%proc.cmdline container=%container.id)
  priority: WARNING
  tags: [container]

- rule: Cat run
  desc: cat started anywhere
  condition: evt.type = execve and proc.name = cat
  output: Cat run (command=%proc.cmdline)
  priority: NOTICE
  tags: [process]

- rule: Pod exec
  desc: exec into a pod
  condition: ka.target.subresource = exec
  output: Exec into pod (pod=%ka.target.name user=%ka.user.name)
  priority: NOTICE
  source: k8s_audit
  tags: [k8s]
"""

BASH = {"evt.type": "execve", "evt.rawres": 0, "proc.name": "bash", "proc.cmdline": "bash -i", "container.id": "c0ffee"}
CAT = {"evt.type": "execve", "evt.rawres": 0, "proc.name": "cat", "proc.cmdline": "cat /etc/hosts", "container.id": "host"}
EXEC = {
    "kind": "Event",
    "apiVersion": "audit.k8s.io/v1",
    "level": "Request",
    "auditID": "0e5a1f9c-1111-2222-3333-444455556666",
    "stage": "ResponseStarted",
    "verb": "create",
    "user": {"username": "alice", "groups": ["system:authenticated"]},
    "objectRef": {"resource": "pods", "subresource": "exec", "namespace": "shop", "name": "web-1"},
    "requestURI": "/api/v1/namespaces/shop/pods/web-1/exec?command=sh",
    "responseStatus": {"code": 101},
    "stageTimestamp": "2024-06-10T10:00:00.000000Z",
}


def write_suite(tmp_path: Path, body: str, name: str = "suite.yaml") -> Path:
    (tmp_path / "rules.yaml").write_text(RULES)
    path = tmp_path / name
    path.write_text(textwrap.dedent(body))
    return path


def flow(event: dict[str, object]) -> str:
    return json.dumps(event)


# --- comparison (no engine involved) ------------------------------------------------------------


def alert(rule: str, output: str = "out", priority: Priority = Priority.WARNING) -> FiredAlert:
    return FiredAlert(rule, priority, "syscall", output, 0)


def case(**kw: object) -> Case:
    base: dict[str, object] = {"name": "c", "line": 1, "events": (EventSource(1, inline={}),)}
    base.update(kw)
    return Case(**base)  # type: ignore[arg-type]


def test_compare_default_count_means_at_least_one() -> None:
    c = case(expect=(ExpectedAlert("A"),))
    assert compare(c, [alert("A"), alert("A")]) == ()
    (m,) = compare(c, [])
    assert (m.kind, m.rule, m.expected, m.actual) == ("count", "A", None, 0)


def test_compare_exact_count_and_output_filter() -> None:
    c = case(expect=(ExpectedAlert("A", count=1, output="x=1"),))
    assert compare(c, [alert("A", "x=1"), alert("A", "x=2")]) == ()
    (m,) = compare(c, [alert("A", "x=2"), alert("A", "x=3")])
    assert m.kind == "count" and m.actual == 0
    assert "2 alerts of this rule in all" in m.message


def test_compare_count_zero_forbids_matching_output() -> None:
    c = case(expect=(ExpectedAlert("A", count=0, output="secret"),))
    assert compare(c, [alert("A", "public")]) == ()
    assert compare(c, [alert("A", "secret")])[0].kind == "count"


def test_compare_priority_and_not_expect() -> None:
    c = case(expect=(ExpectedAlert("A", priority=Priority.CRITICAL),), not_expect=("B",))
    kinds = [m.kind for m in compare(c, [alert("A"), alert("B"), alert("B")])]
    assert kinds == ["priority", "unexpected"]
    assert "fired 2 times" in compare(c, [alert("A", priority=Priority.CRITICAL), alert("B"), alert("B")])[0].message


def test_compare_strict_flags_unlisted_rules() -> None:
    c = case(expect=(ExpectedAlert("A"),), strict=True)
    (m,) = compare(c, [alert("A"), alert("C")])
    assert (m.kind, m.rule) == ("unlisted", "C")
    assert compare(case(expect=(ExpectedAlert("A"),)), [alert("A"), alert("C")]) == ()


# --- suite parsing --------------------------------------------------------------------------------


def test_load_suite_reads_anchors_shorthand_and_lines(tmp_path: Path) -> None:
    path = write_suite(
        tmp_path,
        """\
        rules: rules.yaml
        fixtures:
          base: &base {evt.type: execve, evt.rawres: 0}
        tests:
          - name: one
            events:
              - <<: *base
                proc.name: bash
                stageTimestamp: 2024-06-10T10:00:00Z
            expect:
              - Bash in container
              - {rule: Cat run, count: 0, priority: notice}
        """,
    )
    suite = load_suite(path)
    (only,) = suite.cases
    assert only.line == 5
    assert only.events[0].inline == {
        "evt.type": "execve",
        "evt.rawres": 0,
        "proc.name": "bash",
        "stageTimestamp": "2024-06-10T10:00:00Z",  # kept as text, not a datetime
    }
    assert only.expect[0] == ExpectedAlert("Bash in container", line=5)
    assert only.expect[1].count == 0 and only.expect[1].priority is Priority.NOTICE
    assert suite.rules == (tmp_path / "rules.yaml",)


@pytest.mark.parametrize(
    ("body", "message", "line"),
    [
        ("rules: rules.yaml\ntests: [\n", "YAML error", 3),
        ("- just a list\n", "must be a YAML mapping", 1),
        ("rules: rules.yaml\ntest: []\n", "unknown key 'test' in suite", 1),
        ("rules: missing.yaml\ntests: [{name: a, events: [{}], strict: true}]\n", "rules file not found", 1),
        ("rules: rules.yaml\ntests: []\n", "non-empty list of test cases", 1),
        (
            "rules: rules.yaml\ntests:\n  - {name: no, events: [{x: 1}], strict: true}\n",
            "'name' must be a string, got False (quote it)",
            3,
        ),
        ("rules: rules.yaml\ntests:\n  - name: a\n    events: [{x: 1}]\n", "checks nothing", 3),
        ("rules: rules.yaml\ntests:\n  - name: a\n    events: []\n    strict: true\n", "'events' must be", 3),
        (
            "rules: rules.yaml\ntests:\n  - {name: a, events: [{x: 1}], strict: true}\n"
            "  - {name: a, events: [{x: 1}], strict: true}\n",
            "duplicate test name 'a' (first at line 3)",
            4,
        ),
        (
            "rules: rules.yaml\ntests:\n  - name: a\n    events: [{x: 1}]\n    expect:\n      - {rule: R, count: -1}\n",
            "'count' of 'R' must be a whole number",
            6,
        ),
        (
            "rules: rules.yaml\ntests:\n  - name: a\n    events: [{x: 1}]\n    expect:\n      - {rule: R, priority: loud}\n",
            "Invalid priority 'loud'",
            6,
        ),
        (
            "rules: rules.yaml\ntests:\n  - name: a\n    events: [{x: 1}]\n    expect: [R]\n    not_expect: [R]\n",
            "both expected and not expected",
            3,
        ),
        (
            "rules: rules.yaml\ntests:\n  - name: a\n    events:\n      - {file: nowhere.jsonl}\n    strict: true\n",
            "events file not found: nowhere.jsonl",
            5,
        ),
        (
            "rules: rules.yaml\ntests:\n  - name: a\n    events:\n      - {1: x}\n    strict: true\n",
            "key 1 at top level is not a string",
            5,
        ),
    ],
)
def test_bad_suites_are_located(tmp_path: Path, body: str, message: str, line: int) -> None:
    (tmp_path / "rules.yaml").write_text(RULES)
    path = tmp_path / "bad.yaml"
    path.write_text(body)
    with pytest.raises(SuiteError) as info:
        load_suite(path)
    assert message in info.value.message
    assert info.value.line == line
    assert str(info.value).startswith(f"{path}:")


# --- running --------------------------------------------------------------------------------------


def test_passing_suite_mixes_sources(tmp_path: Path) -> None:
    path = write_suite(
        tmp_path,
        f"""\
        rules: rules.yaml
        tests:
          - name: bash and an exec
            events:
              - {flow(BASH)}
              - {flow(EXEC)}
            expect:
              - {{rule: Bash in container, count: 1, output: "command=bash -i", priority: WARNING}}
              - {{rule: Pod exec, count: 1, output: "pod=web-1 user=alice"}}
            not_expect: [Cat run]
            strict: true
        """,
    )
    result = run_suite(path)
    assert result.problem is None, result.problem
    (c,) = result.cases
    assert c.passed, c.mismatches
    assert [(a.rule, a.source, a.event_index) for a in c.alerts] == [
        ("Bash in container", "syscall", 0),
        ("Pod exec", "k8s_audit", 1),
    ]


def test_failing_suite_gives_diff_and_exit_1(tmp_path: Path) -> None:
    path = write_suite(
        tmp_path,
        f"""\
        rules: rules.yaml
        tests:
          - name: wrong on purpose
            events:
              - {flow(CAT)}
            expect:
              - {{rule: Bash in container, count: 1}}
              - {{rule: Cat run, priority: CRITICAL}}
          - name: a rule that must stay quiet fires
            events:
              - {flow(CAT)}
              - {flow(CAT)}
            not_expect: [Cat run]
          - name: fine
            events:
              - {flow(BASH)}
            expect: [Bash in container]
        """,
    )
    report = run_paths([path])
    assert report.exit_code == 1
    assert report.counts() == {"suites": 1, "suite_errors": 0, "cases": 3, "passed": 1, "failed": 2, "skipped": 0}
    text = render_text(report)
    assert f"FAIL {path}:3  wrong on purpose" in text
    assert "    - Bash in container: expected 1 alert, got 0" in text
    assert "    ~ Cat run: expected priority Critical, got Notice" in text
    assert "    alerts fired (1, from 1 event):" in text
    assert "[1] Notice        Cat run: Cat run (command=cat /etc/hosts)" in text
    assert f"FAIL {path}:9  a rule that must stay quiet fires" in text
    assert "    + Cat run: must not fire, fired 2 times" in text
    assert "PASS" not in text
    assert text.endswith("1 passed, 2 failed (3 cases in 1 suites)")
    assert "PASS" in render_text(report, verbose=True)


def test_unknown_rule_name_is_a_suite_error(tmp_path: Path) -> None:
    path = write_suite(
        tmp_path,
        f"""\
        rules: rules.yaml
        tests:
          - name: typo
            events: [{flow(BASH)}]
            expect: [Bash in a container]
        """,
    )
    report = run_paths([path])
    assert report.exit_code == 2
    problem = report.suites[0].problem
    assert problem is not None and problem.line == 3
    assert "unknown rule 'Bash in a container'" in problem.message


def test_rules_that_fail_to_load_are_a_suite_error(tmp_path: Path) -> None:
    path = write_suite(
        tmp_path,
        f"""\
        rules: broken.yaml
        tests:
          - name: any
            events: [{flow(BASH)}]
            strict: true
        """,
    )
    (tmp_path / "broken.yaml").write_text(
        "- rule: Broken\n  desc: d\n  condition: evt.type = execve and proc.nme = bash\n  output: o\n  priority: INFO\n"
    )
    report = run_paths([path])
    assert report.exit_code == 2
    problem = report.suites[0].problem
    assert problem is not None and "rules failed to load" in problem.message
    assert any("LOAD_ERR_COMPILE_CONDITION" in d for d in problem.details)
    assert "ERROR" in render_text(report)


def test_not_an_event_is_a_suite_error(tmp_path: Path) -> None:
    path = write_suite(
        tmp_path,
        """\
        rules: rules.yaml
        tests:
          - name: a Pod is not an audit event
            events:
              - {kind: Pod, apiVersion: v1}
            strict: true
        """,
    )
    result = run_suite(path)
    assert result.problem is not None and result.problem.line == 5
    assert "not an event the engine reads" in result.problem.message


def test_events_from_files(tmp_path: Path) -> None:
    (tmp_path / "events.jsonl").write_text(json.dumps(BASH) + "\n\n" + json.dumps(CAT) + "\n")
    with gzip.open(tmp_path / "events.data", "wt") as fh:  # gzip recognised by content
        fh.write(json.dumps(BASH) + "\n")
    (tmp_path / "exec.json").write_text(json.dumps(EXEC, indent=2))
    (tmp_path / "list.json").write_text(
        json.dumps({"kind": "EventList", "apiVersion": "audit.k8s.io/v1", "items": [EXEC, EXEC]}, indent=2)
    )
    alert_line = {"rule": "Old", "priority": "Warning", "source": "syscall", "output": "x", "output_fields": CAT}
    (tmp_path / "alerts.jsonl").write_text(json.dumps(alert_line) + "\n")
    path = write_suite(
        tmp_path,
        """\
        rules: rules.yaml
        tests:
          - name: every file kind
            events:
              - {file: events.jsonl}
              - {file: events.data}
              - {file: exec.json}
              - {file: list.json}
              - {file: alerts.jsonl}
            expect:
              - {rule: Bash in container, count: 2}
              - {rule: Cat run, count: 2}
              - {rule: Pod exec, count: 3}
            strict: true
        """,
    )
    result = run_suite(path)
    assert result.problem is None, result.problem
    assert result.cases[0].events == 7
    assert result.cases[0].passed, result.cases[0].mismatches


def test_bad_line_in_events_file_is_located(tmp_path: Path) -> None:
    (tmp_path / "events.jsonl").write_text(json.dumps(BASH) + "\n{not json\n")
    path = write_suite(
        tmp_path,
        """\
        rules: rules.yaml
        tests:
          - name: broken file
            events: [{file: events.jsonl}]
            strict: true
        """,
    )
    result = run_suite(path)
    assert result.problem is not None
    assert result.problem.file.endswith("events.jsonl") and result.problem.line == 2


def test_select_deselects_cases(tmp_path: Path) -> None:
    write_suite(
        tmp_path,
        f"""\
        rules: rules.yaml
        tests:
          - {{name: bash case, events: [{flow(BASH)}], expect: [Bash in container]}}
          - {{name: cat case, events: [{flow(CAT)}], expect: [Bash in container]}}
        """,
    )
    report = run_paths([tmp_path], select="BASH")
    assert report.exit_code == 0
    assert report.counts()["skipped"] == 1
    assert [c.name for c in report.cases] == ["bash case"]


def test_cli_exit_codes_and_json(tmp_path: Path) -> None:
    good = write_suite(
        tmp_path, f"rules: rules.yaml\ntests:\n  - {{name: ok, events: [{flow(BASH)}], expect: [Bash in container]}}\n"
    )
    failing = write_suite(
        tmp_path,
        f"rules: rules.yaml\ntests:\n  - {{name: 'no', events: [{flow(CAT)}], expect: [Bash in container]}}\n",
        name="failing.yaml",
    )
    broken = tmp_path / "broken.yaml"
    broken.write_text("rules: rules.yaml\n")
    runner = CliRunner()

    ok = runner.invoke(command, [str(good)])
    assert ok.exit_code == 0, ok.output
    assert "1 passed, 0 failed" in ok.output

    fail = runner.invoke(command, [str(good), str(failing)])
    assert fail.exit_code == 1
    assert "- Bash in container: expected at least 1 alert, got 0" in fail.output

    bad = runner.invoke(command, [str(good), str(failing), str(broken)])
    assert bad.exit_code == 2
    assert f"ERROR {broken}:1:" in bad.output

    as_json = runner.invoke(command, ["--json", str(failing)])
    assert as_json.exit_code == 1
    data = json.loads(as_json.output)
    assert data["passed"] is False and data["exit_code"] == 1
    (suite,) = data["suites"]
    assert suite["status"] == "failed"
    failure = suite["cases"][0]["failures"][0]
    assert failure == {
        "kind": "count",
        "rule": "Bash in container",
        "message": "expected at least 1 alert, got 0",
        "expected": None,
        "actual": 0,
    }
    assert suite["cases"][0]["alerts"][0]["rule"] == "Cat run"

    missing = runner.invoke(command, [str(tmp_path / "nope.yaml")])
    assert missing.exit_code == 2
    assert "suite file not found" in missing.output


def test_empty_directory_has_no_suites(tmp_path: Path) -> None:
    report = run_paths([tmp_path])
    assert report.exit_code == 2
    assert "no test suites found" in render_text(report)
    assert to_json(report)["summary"]["suites"] == 0


@pytest.mark.parametrize(("matching", "fired"), [("all", ["Bash in container", "Any exec"]), ("first", ["Bash in container"])])
def test_rule_matching_setting(tmp_path: Path, matching: str, fired: list[str]) -> None:
    (tmp_path / "more.yaml").write_text(
        "- rule: Any exec\n  desc: d\n  condition: evt.type = execve\n  output: exec %proc.name\n  priority: DEBUG\n"
    )
    path = write_suite(
        tmp_path,
        f"""\
        rules: [rules.yaml, more.yaml]
        rule_matching: {matching}
        tests:
          - {{name: one event two rules, events: [{flow(BASH)}], expect: [Bash in container]}}
        """,
    )
    result = run_suite(path)
    assert result.problem is None, result.problem
    assert [a.rule for a in result.cases[0].alerts] == fired


def test_cyclic_yaml_event_is_a_suite_error(tmp_path: Path) -> None:
    path = write_suite(
        tmp_path,
        """\
        rules: rules.yaml
        tests:
          - name: cycle
            events:
              - &loop {evt.type: execve, self: [*loop]}
            strict: true
        """,
    )
    result = run_suite(path)
    assert result.problem is not None
    assert "nested deeper than 128 levels" in result.problem.message
