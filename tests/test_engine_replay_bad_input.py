"""End to end: `detector replay` over one file mixing many kinds of bad lines with good ones.

Every good line must be evaluated (each one fires the catch-all rule once,
with its own marker in the output), every bad line must be reported with its
line number and counted by kind, and nothing may raise.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner

from detector.cli.main import cli

RULES = """
- rule: every event
  desc: fires once per syscall event, so the test can count evaluated events
  condition: evt.num exists and evt.type in (open, openat, execve)
  output: seen %evt.num %proc.name
  priority: NOTICE
- rule: every audit event
  desc: fires once per audit event
  condition: ka.verb exists
  output: audit %ka.auditid
  priority: NOTICE
  source: k8s_audit
"""

AUDIT = {
    "kind": "Event", "apiVersion": "audit.k8s.io/v1", "auditID": "good-audit", "verb": "get",
    "stage": "ResponseComplete", "stageTimestamp": "2024-01-01T00:00:00.000000Z",
    "requestReceivedTimestamp": "2024-01-01T00:00:00.000000Z", "user": {"username": "u"},
}


def good(n: int) -> bytes:
    return json.dumps({"evt.num": n, "evt.type": "openat", "evt.time": 1700000000000000000 + n,
                       "proc.name": f"good{n}"}).encode()


BAD: list[tuple[bytes, str]] = [
    (b'{"evt.num": 1, "evt.type": "openat"', "invalid_json"),
    (b'{"a":1}{"b":2}', "invalid_json"),
    (b"null", "not_object"),
    (b"12345", "not_object"),
    (b"[]", "empty_array"),
    (b"{}", "empty_object"),
    (b'\xef\xbb\xbf{"evt.num":1}', "bom"),
    (b'{"proc.name":"\xff\xfe"}', "invalid_utf8"),
    (b'{"proc.name":"\\ud800"}', "invalid_unicode"),
    (b'{"proc.name":"a\x00b"}', "nul_byte"),
    (b'{"evt.num":1e400}', "number_out_of_range"),
    (b'{"a":' + b"[" * 300 + b"]" * 300 + b"}", "too_deep"),
    (b'{"source":"syscall","evt.num":1,"source":"k8s_audit"}', "duplicate_source"),
    (b'{"source":"nope","evt.num":1}', "unknown_source"),
    (b'{"kind":"Pod","apiVersion":"v1"}', "k8s_unrecognized"),
    (b'{"kind":"EventList","items":5}', "k8s_bad_eventlist"),
    (b'{"rule":"x","priority":"Warning","output":"y","time":"2024-01-01T00:00:00Z"}', "alert_without_output_fields"),
    (b'{"evt.num":1,"pad":"' + b"x" * 5000 + b'"}', "oversized"),
]


def test_bad_lines_are_counted_located_and_the_stream_goes_on(tmp_path: Path) -> None:
    rules = tmp_path / "rules.yaml"
    rules.write_text(RULES)
    lines: list[bytes] = []
    expected_bad: list[tuple[int, str]] = []
    good_numbers: list[int] = []
    for i, (bad, kind) in enumerate(BAD):
        good_numbers.append(i)
        lines.append(good(i))
        lines.append(bad)
        expected_bad.append((len(lines), kind))
    lines.append(json.dumps(AUDIT).encode())
    lines.append(good(999))
    good_numbers.append(999)
    lines.append(b'{"evt.num": 1000, "evt.type": "open')  # truncated last line, no newline
    expected_bad.append((len(lines), "truncated"))
    events = tmp_path / "mixed.jsonl"
    events.write_bytes(b"\n".join(lines))
    summary = tmp_path / "summary.json"
    result = CliRunner().invoke(
        cli,
        ["replay", "-r", str(rules), "-o", "rule_matching=all", "--no-progress", "--no-summary",
         "--summary-json", str(summary), str(events)],
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.stderr
    outputs = result.stdout.splitlines()
    assert [line.split(": Notice ", 1)[1] for line in outputs if "seen" in line] == [
        f"seen {n} good{n}" for n in good_numbers
    ]
    assert sum("audit good-audit" in line for line in outputs) == 1
    reported = [line for line in result.stderr.splitlines() if line.startswith("skipped ")]
    for line_no, kind in expected_bad:
        if kind == "oversized":
            continue  # the default limit is far above this line; checked below
        assert any(f"{events}:{line_no}: {kind}:" in r for r in reported), (line_no, kind, reported)
    data = json.loads(summary.read_text())
    kinds = set(data["input"]["by_kind"])
    assert {k for _, k in expected_bad if k != "oversized"} <= kinds
    assert len(kinds) >= 15
    # the "oversized" line is an ordinary event under the default limit
    assert data["events"] == len(good_numbers) + 2
    assert data["alerts"] == len(good_numbers) + 1
    assert data["input"]["by_source"] == {"syscall": len(good_numbers) + 1, "k8s_audit": 1}
    assert "Traceback" not in result.stderr


def test_oversized_lines_are_skipped_with_a_limit(tmp_path: Path) -> None:
    from detector.sources import BadLine, read_records

    events = tmp_path / "big.jsonl"
    events.write_bytes(good(1) + b"\n" + b'{"evt.num":2,"pad":"' + b"x" * 5000 + b'"}\n' + good(3) + b"\n")
    bad: list[BadLine] = []
    records = list(read_records([events], max_line_bytes=1024, on_bad=bad.append))
    assert [r.event["evt.num"] for r in records] == [1, 3]
    assert [(b.line, b.kind) for b in bad] == [(2, "oversized")]


def test_an_output_that_cannot_be_written_is_an_error(tmp_path: Path) -> None:
    rules = tmp_path / "rules.yaml"
    rules.write_text(RULES)
    events = tmp_path / "events.jsonl"
    events.write_bytes(b"\n".join(good(n) for n in range(1, 6)) + b"\n")
    runner = CliRunner()
    # A path that cannot be opened: said before anything is replayed.
    missing = tmp_path / "no" / "such" / "dir" / "alerts.txt"
    result = runner.invoke(cli, ["replay", "-r", str(rules), "--no-summary", "--output-file", str(missing), str(events)])
    assert result.exit_code == 1
    assert f"Error: cannot open {missing}: No such file or directory" in result.stderr
    # Alerts lost on the way (a full disk, a file output that cannot be opened): counted, exit 1.
    lossy = [["-o", "file_output.enabled=true", "-o", f"file_output.filename={missing}"]]
    if Path("/dev/full").exists():
        lossy.append(["--output-file", "/dev/full"])
    for extra in lossy:
        result = runner.invoke(cli, ["replay", "-r", str(rules), "--no-summary", *extra, str(events)])
        assert result.exit_code == 1, (extra, result.output)
        assert "Error: 5 alert(s) could not be written" in result.stderr
    # A summary that cannot be written: an error, not a traceback.
    result = runner.invoke(cli, ["replay", "-r", str(rules), "--no-summary", "--output-file", str(tmp_path / "a.txt"),
                                 "--summary-json", str(missing), str(events)])
    assert result.exit_code == 1
    assert f"Error: cannot write the summary to {missing}: no such directory" in result.stderr
    # All written: exit 0.
    result = runner.invoke(cli, ["replay", "-r", str(rules), "--no-summary", "--output-file",
                                 str(tmp_path / "ok.txt"), str(events)])
    assert result.exit_code == 0
    assert (tmp_path / "ok.txt").read_text().count("seen ") == 5


def test_a_closed_stdout_is_an_error_not_a_traceback(tmp_path: Path) -> None:
    rules = tmp_path / "rules.yaml"
    rules.write_text(RULES)
    events = tmp_path / "events.jsonl"
    events.write_bytes(good(1) + b"\n")
    done = subprocess.run([sys.executable, "-m", "detector", "replay", "-r", str(rules), "--no-summary", str(events)],
                          stdin=subprocess.DEVNULL, stderr=subprocess.PIPE, preexec_fn=lambda: os.close(1),
                          timeout=120, check=False)
    assert done.returncode == 1
    assert b"Error: cannot open the outputs: standard output is closed" in done.stderr
    assert b"Traceback" not in done.stderr
