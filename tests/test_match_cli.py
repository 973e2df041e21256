"""``detector match``: matching events out, counts and bad lines on stderr, exit 2 on bad conditions."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from detector.cli.match import command
from detector.fields import fields_for
from tests.shared import shared_path


def _run(args: list[str], stdin: bytes | None = None) -> tuple[int, str, str]:
    runner = CliRunner()
    result = runner.invoke(command, args, input=stdin)
    return result.exit_code, result.stdout, result.stderr


def test_matches_from_stdin() -> None:
    lines = b'{"proc.name":"bash","evt.type":"execve"}\n{"proc.name":"sh"}\n\n{"proc.name":"zsh"}\n'
    code, out, err = _run(["-c", "proc.name in (bash, zsh)"], lines)
    assert code == 0
    assert [json.loads(x)["proc.name"] for x in out.splitlines()] == ["bash", "zsh"]
    assert "2 of 3 events matched" in err


def test_dash_means_stdin(tmp_path: Path) -> None:
    code, out, err = _run(["-c", "proc.name = sh", "-"], b'{"proc.name":"sh"}\n')
    assert code == 0 and json.loads(out) == {"proc.name": "sh"}


def test_bad_lines_are_skipped_with_line_numbers(tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    path.write_bytes(b'{"proc.name":"sh"}\nnot json\n[1, 2]\n{"proc.name":"sh"}\n')
    code, out, err = _run(["-c", "proc.name = sh", str(path)])
    assert code == 0
    assert len(out.splitlines()) == 2
    assert f"{path}:2: skipped: invalid JSON" in err
    assert f"{path}:3: skipped: not a JSON object" in err
    assert "2 of 2 events matched, 2 bad lines skipped" in err


def test_bad_condition_prints_a_caret_and_exits_2() -> None:
    code, out, err = _run(["-c", "proc.name = bash and fd.nope = 1"], b"{}\n")
    assert code == 2
    assert out == ""
    assert "filter_check called with nonexistent field fd.nope" in err
    assert "proc.name = bash and fd.nope = 1\n" in err
    caret_line = err.splitlines()[-1]
    assert caret_line.index("^") == len("proc.name = bash and ")


def test_syntax_errors_exit_2() -> None:
    code, _, err = _run(["-c", "proc.name = = bash"], b"{}\n")
    assert code == 2 and "^" in err


def test_gzip_files_and_several_inputs(tmp_path: Path) -> None:
    first = tmp_path / "a.jsonl.gz"
    with gzip.open(first, "wb") as fh:
        fh.write(b'{"fd.sport":80}\n{"fd.sport":443}\n')
    second = tmp_path / "b.jsonl"
    second.write_bytes(b'{"fd.cport":80}\n')
    code, out, err = _run(["-c", "fd.port = http", str(first), str(second)])
    assert code == 0
    assert [json.loads(x) for x in out.splitlines()] == [{"fd.sport": 80}, {"fd.cport": 80}]
    assert "2 of 3 events matched" in err


def test_unreadable_file_is_reported_and_others_still_read(tmp_path: Path) -> None:
    good = tmp_path / "good.jsonl"
    good.write_bytes(b'{"proc.name":"sh"}\n')
    code, out, err = _run(["-c", "proc.name = sh", str(tmp_path / "missing.jsonl"), str(good)])
    assert code == 0 and out.strip() == '{"proc.name":"sh"}'
    assert "missing.jsonl: skipped: cannot read" in err


def test_source_option() -> None:
    if "ka.verb" not in fields_for("k8s_audit"):
        pytest.skip("k8s_audit fields not available")
    event = b'{"auditID":"1","verb":"create","objectRef":{"resource":"pods"}}\n'
    code, out, err = _run(["-c", "ka.verb = create", "--source", "k8s_audit"], event)
    assert code == 0 and "1 of 1 events matched" in err
    code, _, err = _run(["-c", "ka.verb = create"], event)
    assert code == 2 and "nonexistent field ka.verb" in err


def test_real_export() -> None:
    path = shared_path("data", "events", "connect_localhost.jsonl.gz")
    with gzip.open(path, "rt") as fh:
        events = [json.loads(line) for line in fh]
    want = [e for e in events if e.get("evt.type") == "connect"]
    code, out, err = _run(["-c", "evt.type = connect", str(path)])
    assert code == 0
    assert [json.loads(x) for x in out.splitlines()] == want
    assert f"{len(want)} of {len(events)} events matched" in err
