"""``benchmarks/stages.py``: every stage runs over the sample, the trained plans do the work."""

from __future__ import annotations

from pathlib import Path

import orjson
from click.testing import CliRunner

from benchmarks import stages
from benchmarks.gen_syscall import SyscallGenerator
from detector.engine import Engine
from detector.loader import load_rules
from detector.sources import BadLineStats, read_records
from tests.shared import PROJECT_ROOT

RULES = str(PROJECT_ROOT / "rules" / "syscall_rules.yaml")


def _workload(path: Path, count: int) -> Path:
    path.write_bytes(b"".join(orjson.dumps(e) + b"\n" for e in SyscallGenerator(5, 0.05).events(count)))
    return path


def test_the_table_has_every_stage(tmp_path: Path) -> None:
    events = _workload(tmp_path / "events.jsonl", 3000)
    result = CliRunner().invoke(stages.main, [str(events), "--lines", "2000", "--repeat", "1", "--rules", RULES])
    assert result.exit_code == 0, result.output
    rows = {line.split()[0]: line.split()[1:] for line in result.output.splitlines()[2:]}
    assert set(rows) == {"floor", "read", "validate", "decode", "check", "replay"}
    assert rows["floor"][2] == "1.00x"


def test_the_check_stage_goes_through_the_trained_plans(tmp_path: Path) -> None:
    events = _workload(tmp_path / "events.jsonl", 2000)
    engine = Engine(load_rules(RULES).ruleset)
    prefilter = engine.line_prefilter()
    for record in read_records([events], stats=BadLineStats(), prefilter=prefilter):
        engine.process(record.event, record.source, record.matched)
    before = sum(m["lines"] for m in prefilter.stats()["memo"].values())
    passes = stages.stages(events, engine, prefilter)
    passes["check"]()
    assert sum(m["lines"] for m in prefilter.stats()["memo"].values()) > before
