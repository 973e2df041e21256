"""`detector replay --workers N` writes what one process writes, byte for byte and in order.

Inputs are cut into small blocks here (the block size is lowered for the test)
so that every file spans many blocks: plain files (cut by offsets), gzip files
and a file with bad lines, an over-long line and an unterminated last line
(both read and shipped by the parent).  Bad-line reports must carry the same
line numbers, and the summary must be the same except for timings and cache
sizes.
"""

from __future__ import annotations

import gzip
import io
import json
import os
import time
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from detector.cli import replay_parallel
from detector.cli.main import cli
from tests.shared import shared_dir

UPSTREAM = ("falco_rules.yaml", "falco-incubating_rules.yaml", "falco-sandbox_rules.yaml")
PROCESS_DEPENDENT = ("elapsed_seconds", "events_per_second", "caches")

SMALL_RULES = """
- rule: Shadow read
  desc: a read of /etc/shadow
  condition: evt.type in (open, openat) and fd.name = /etc/shadow
  output: shadow read by %proc.name (%evt.num)
  priority: WARNING
- rule: Any execve
  desc: every execve
  condition: evt.type = execve
  output: exec %proc.cmdline (%evt.num)
  priority: NOTICE
"""


@pytest.fixture(autouse=True)
def small_blocks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(replay_parallel, "MIN_BLOCK", 4096)
    monkeypatch.setattr(replay_parallel, "MAX_BLOCK", 16384)
    monkeypatch.setattr(replay_parallel, "_READ", 1000)


def _rules_args(tmp_path: Path) -> list[str]:
    base = shared_dir()
    if base is None:
        rules = tmp_path / "rules.yaml"
        rules.write_text(SMALL_RULES)
        return ["-r", str(rules)]
    args = []
    for name in UPSTREAM:
        args += ["-r", str(base / "falco" / "rules" / name)]
    return [*args, "--enable-rule", "*"]


def _generated(events: int) -> bytes:
    from benchmarks.generate import WorkloadSpec, write_workload

    out = io.BytesIO()
    write_workload(WorkloadSpec(events, seed=13, alert_share=0.05), out)
    return out.getvalue()


def _replay(args: list[str], inputs: list[Path], out: Path, workers: int,
            extra: list[str] | tuple[str, ...] = ()) -> tuple[Any, dict[str, Any]]:
    summary = out.with_suffix(".summary.json")
    result = CliRunner().invoke(
        cli,
        ["replay", *args, *extra, "--no-progress", "--no-summary", "--output-file", str(out),
         "--summary-json", str(summary), "--workers", str(workers), *map(str, inputs)],
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.stderr
    data = json.loads(summary.read_text())
    for key in PROCESS_DEPENDENT:
        data.pop(key, None)
    return result, data


def _same_as_one_process(tmp_path: Path, inputs: list[Path],
                         extra: list[str] | tuple[str, ...] = ()) -> tuple[bytes, dict[str, Any], list[str]]:
    args = _rules_args(tmp_path)
    one, one_summary = _replay(args, inputs, tmp_path / "one.out", 1, extra)
    for workers in (2, 3):
        many, many_summary = _replay(args, inputs, tmp_path / f"many{workers}.out", workers, extra)
        assert (tmp_path / f"many{workers}.out").read_bytes() == (tmp_path / "one.out").read_bytes()
        assert many_summary == one_summary
        assert _skipped(many.stderr) == _skipped(one.stderr)
    return (tmp_path / "one.out").read_bytes(), one_summary, _skipped(one.stderr)


def _skipped(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("skipped ")]


def test_a_generated_file_plain_and_gzip(tmp_path: Path) -> None:
    data = _generated(3000)
    plain = tmp_path / "events.jsonl"
    plain.write_bytes(data)
    packed = tmp_path / "events.jsonl.gz"
    packed.write_bytes(gzip.compress(data))
    out, summary, _ = _same_as_one_process(tmp_path, [plain, packed])
    assert summary["events"] == 6000
    assert out.count(b"\n") == summary["alerts"] > 100


def test_a_slow_worker_changes_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Workers with an odd process id take longer over every block: results come back out of
    # block order, the other workers get more blocks, and the output is still that of one process.
    real = replay_parallel.run_block

    def slow_on_odd_pids(job: Any, prefilter: Any, task: Any) -> Any:
        if os.getpid() % 2:
            time.sleep(0.02)
        return real(job, prefilter, task)

    monkeypatch.setattr(replay_parallel, "run_block", slow_on_odd_pids)
    plain = tmp_path / "events.jsonl"
    plain.write_bytes(_generated(2000))
    out, summary, _ = _same_as_one_process(tmp_path, [plain, tmp_path / "absent.jsonl", plain])
    assert summary["events"] == 4000 and summary["input"]["file_errors"] == 1
    assert out.count(b"\n") == summary["alerts"] > 50


def test_a_worker_that_dies_is_an_error_not_a_traceback(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    real = replay_parallel.run_block
    calls = []

    def dies_on_its_third_block(job: Any, prefilter: Any, task: Any) -> Any:
        calls.append(task)
        if len(calls) == 3:
            os._exit(9)
        return real(job, prefilter, task)

    monkeypatch.setattr(replay_parallel, "run_block", dies_on_its_third_block)
    plain = tmp_path / "events.jsonl"
    plain.write_bytes(_generated(1500))
    rules = tmp_path / "rules.yaml"
    rules.write_text(SMALL_RULES)
    result = CliRunner().invoke(cli, ["replay", "-r", str(rules), "--no-progress", "--no-summary",
                                      "--output-file", str(tmp_path / "out"), "--workers", "2", str(plain)])
    assert result.exit_code == 1, result.output
    assert "Error: worker" in result.stderr and "exited unexpectedly (exit code 9)" in result.stderr
    assert result.exception is None or isinstance(result.exception, SystemExit)


def test_json_output_too(tmp_path: Path) -> None:
    plain = tmp_path / "events.jsonl"
    plain.write_bytes(_generated(1500))
    out, summary, _ = _same_as_one_process(tmp_path, [plain], ["--json", "-o", "rule_matching=all"])
    assert summary["alerts"] == len(out.splitlines()) > 0
    assert all(json.loads(line)["rule"] for line in out.splitlines())


def test_bad_lines_keep_their_numbers(tmp_path: Path) -> None:
    lines = _generated(800).splitlines()
    bad = [b'{"evt.type":"openat",', b"not json", b"", b"[]", b'{"evt.num":1e400}',
           b'{"evt.num":1,"pad":"' + b"x" * 20000 + b'"}']
    mixed: list[bytes] = []
    for i, line in enumerate(lines):
        mixed.append(line)
        if i % 97 == 5:
            mixed.append(bad[i % len(bad)])
    body = b"\n".join(mixed) + b'\n{"evt.type":"execve","evt.num":99999,"proc.cmdline":"tail'
    plain = tmp_path / "mixed.jsonl"
    plain.write_bytes(body)
    packed = tmp_path / "mixed.jsonl.gz"
    packed.write_bytes(gzip.compress(body))
    missing = tmp_path / "absent.jsonl"
    _, summary, skipped = _same_as_one_process(tmp_path, [plain, missing, packed],
                                               ["-o", "rule_matching=all"])
    assert summary["input"]["files"] == 3 and summary["input"]["file_errors"] == 1
    assert any(":" in s and "truncated" in s for s in skipped)
    assert summary["input"]["rejected_lines"] > 10


def test_over_long_lines_in_a_stream(tmp_path: Path) -> None:
    """Lines longer than the limit, read by the parent from gzip, are reported where they were."""
    from detector.engine import Engine
    from detector.loader import load_rules
    from detector.outputs.sinks import LineFormat
    from detector.sources import BadLine, read_records

    body = b"\n".join([b'{"evt.type":"execve","evt.num":1,"proc.cmdline":"a"}',
                       b'{"evt.num":2,"pad":"' + b"y" * 9000 + b'"}',
                       b'{"evt.type":"execve","evt.num":3,"proc.cmdline":"b"}',
                       b'{"evt.num":4,"pad":"' + b"z" * 9000])
    packed = tmp_path / "long.jsonl.gz"
    packed.write_bytes(gzip.compress(body))
    rules = tmp_path / "rules.yaml"
    rules.write_text(SMALL_RULES)
    expected: list[BadLine] = []
    records = list(read_records([packed], max_line_bytes=8192, on_bad=expected.append))

    class Sink:
        def __init__(self) -> None:
            self.lines: list[bytes] = []

        def write(self, alert: Any) -> bool:
            self.lines.append(LineFormat().line(alert))
            return True

    sink = Sink()
    got: list[BadLine] = []
    engine = Engine(load_rules(rules).ruleset, hostname="h")
    tally = replay_parallel.replay_parallel(engine, [str(packed)], sink, LineFormat(), 2, on_bad=got.append,
                                            max_line_bytes=8192)
    assert [(b.line, b.kind, b.offset) for b in got] == [(b.line, b.kind, b.offset) for b in expected]
    assert [b.kind for b in got] == ["oversized", "oversized"]
    assert len(sink.lines) == len(records) == 2
    assert tally.stats.lines == 4


def test_real_exports(tmp_path: Path) -> None:
    base = shared_dir()
    if base is None:
        pytest.skip("shared reference material not found")
    exports = sorted((base / "data" / "events").glob("*.jsonl.gz"))
    assert exports
    _, summary, _ = _same_as_one_process(tmp_path, exports, ["--json"])
    assert summary["events"] > 1000
