"""Smoke tests of the benchmark harness: it runs, measures and reports; no timing is asserted."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import orjson

from benchmarks.generate import WorkloadSpec
from benchmarks.measure import run_once
from tests.shared import PROJECT_ROOT

RUN_ALL = PROJECT_ROOT / "benchmarks" / "run_all.py"


def test_run_once_reports_exit_memory_and_summary(tmp_path: Path) -> None:
    code = "import json; x = bytearray(40 * 2**20); print(json.dumps({'events': 3}))"
    sample = run_once([sys.executable, "-c", code], scratch=tmp_path)
    assert sample.returncode == 0
    assert sample.summary == {"events": 3}
    assert sample.maxrss_bytes >= 40 * 2**20
    failed = run_once([sys.executable, "-c", "import sys; sys.stderr.write('boom'); sys.exit(4)"], scratch=tmp_path)
    assert failed.returncode == 4 and "boom" in failed.stderr_tail and failed.summary is None


def test_quick_suite_writes_results(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, str(RUN_ALL), "--quick", "--events", "3000", "--rule-engine-events", "200",
         "--cel-events", "5", "--only", "a,b,e1,e2,e3,h", "--out", str(tmp_path)],
        capture_output=True, text=True, timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Traceback" not in done.stdout + done.stderr
    results = orjson.loads((tmp_path / "results.json").read_bytes())
    rows = {row["key"]: row for row in results["runs"]}
    assert set(rows) == {"a", "b", "e1", "e2", "e3", "h"}
    assert results["workload"]["events"] == 3000
    for key in ("a", "b", "e1"):
        assert rows[key]["status"] == "ok" and rows[key]["events_per_second"] > 0
        assert rows[key]["child_summary"]["events"] == 3000
    assert rows["b"]["ratio_to_floor"] == 1.0 and rows["b"]["ratio_to_floor_cpu"] == 1.0
    assert rows["e2"]["ratio_vs_cpu"]["rule-engine"] == 1.0
    assert rows["e2"]["events"] == 200 and rows["e2"]["note"].startswith("prefix")
    assert rows["e3"]["child_summary"]["events"] == 5
    # The API path reports itself unavailable until the engine exists, and never crashes the suite.
    assert rows["h"]["status"] in ("ok", "not available")
    assert (tmp_path / f"{WorkloadSpec(events=3000).stem}.jsonl").is_file()
