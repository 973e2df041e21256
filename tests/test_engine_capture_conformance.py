"""Falco's capture regression tests (capture_expected.json) run through `detector replay`.

Each test replays one exported capture (`data/events/*.jsonl.gz`) against
rules files, with Falco's command-line options mapped to ours, and checks
Falco's expected outcome: whether rules fire, at which priorities, how often
each rule fires, and what stdout holds.  Tests that check things a JSON-lines
replay cannot have (kernel event drops, Falco's own log lines, the gRPC
server, a spawned program) are listed in NOT_APPLICABLE with the reason; the
coverage test below fails if too many are excluded or fail.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from detector.cli.main import cli
from tests.shared import shared_dir

FALCO_RULES = "falco_test_rules/EXTERNAL__falcosecurity-rules__falco-rules-1.0.1__falco_rules.yaml"

#: Falco-only behaviour a replay of JSON lines cannot reproduce, by test name.
NOT_APPLICABLE: dict[str, str] = {
    **{name: "needs kernel syscall-drop events and Falco's drop-action config, absent from JSON exports"
       for name in ("monitor_syscall_drops_ignore",
                    "monitor_syscall_drops_ignore_and_log", "monitor_syscall_drops_threshold_oor",
                    "monitor_syscall_drops_threshold_neg", "monitor_syscall_drops_log",
                    "monitor_syscall_drops_alert", "monitor_syscall_drops_exit")},
    "grpc_unix_socket_outputs": "Falco's gRPC server config; the sidecar's gRPC output is tested in test_sidecar_*",
    "detect_counts": "its capture (traces-positive/falco-event-generator.scap) is not among the shared exports",
}

#: Falco's stdout for single_rule.yaml over cat_write with ISO 8601 times (test/output_files in Falco).
CAT_WRITE_TIMES = (
    "2016-08-04T16:17:57.881781397", "2016-08-04T16:17:57.881785348", "2016-08-04T16:17:57.881796705",
    "2016-08-04T16:17:57.881799840", "2016-08-04T16:17:57.882003104", "2016-08-04T16:17:57.882008208",
    "2016-08-04T16:17:57.882045694", "2016-08-04T16:17:57.882054739",
)


def _tests() -> dict[str, dict[str, Any]]:
    base = shared_dir()
    if base is None:
        return {}
    data = json.loads((base / "conformance" / "capture_expected.json").read_text())
    return {n: t for n, t in data["tests"].items() if "validate_rules_file" not in t}


TESTS = _tests()
APPLICABLE = sorted(n for n in TESTS if n not in NOT_APPLICABLE)


def _rules_dir(conformance: Path, listing: Path, tmp_path: Path) -> Path:
    """The shared copy of a rules directory is git's tree listing; rebuild the directory it names.

    Its entries are the numbered copies of single_rule.yaml and double_rule.yaml.
    """
    target = tmp_path / "rules_dir"
    target.mkdir()
    for entry in listing.read_text().split()[2:]:
        original = re.sub(r"^\d+-", "", entry)
        (target / entry).write_bytes((conformance / "falco_test_rules" / original).read_bytes())
    return target


def _rules_paths(test: dict[str, Any], conformance: Path, tmp_path: Path) -> list[Path]:
    files = test.get("rules_file")
    if files is None:
        return [conformance / FALCO_RULES]
    if isinstance(files, str):
        files = [files]
    copies = test.get("rules_file_local_copies", {})
    paths = []
    for f in files:
        if f in copies and Path(f).name == "rules_dir":
            paths.append(_rules_dir(conformance, conformance / copies[f], tmp_path))
        elif f in copies:
            paths.append(conformance / copies[f])
        elif "falcosecurity-rules-falco" in f:
            paths.append(conformance / FALCO_RULES)
        else:  # the docker package tests name /rules/<file>: the same local copies
            paths.append(conformance / "falco_test_rules" / Path(f).name)
    return paths


def run_test(test: dict[str, Any], tmp_path: Path, *, text: bool = False) -> tuple[int, list[dict[str, Any]], str, str]:
    """Run the test's replay; JSON alerts unless ``text`` (Falco's text lines, for text-mode checks)."""
    base = shared_dir()
    assert base is not None
    conformance = base / "conformance"
    args = ["replay", "--no-summary", "--no-progress"]
    if not text:
        args += ["--json", "-o", "json_include_output_property=true"]
    for path in _rules_paths(test, conformance, tmp_path):
        args += ["-r", str(path)]
    if "priority" in test:
        args += ["-o", f"priority={test['priority']}"]
    for tag in test.get("run_tags", []):
        args += ["-t", tag]
    for tag in test.get("disable_tags", []):
        args += ["-T", tag]
    for name in test.get("disabled_rules", []):
        args += ["-D", name]
    for key in ("json_include_output_property", "json_include_tags_property"):
        if key in test:
            args += ["-o", f"{key}={str(test[key]).lower()}"]
    if test.get("time_iso_8601"):
        args += ["-o", "time_format_iso_8601=true"]
    outdir = tmp_path / ("text" if text else "json")
    outdir.mkdir(exist_ok=True)
    conf = Path(test.get("conf_file", "")).name
    if conf == "file_output.yaml":  # Falco's test config: file_output to a file, stdout too
        args += ["-o", "file_output.enabled=true", "-o", f"file_output.filename={outdir / 'file_output.txt'}"]
    elif conf == "program_output.yaml":  # program_output: cat >> a file
        args += ["-o", "program_output.enabled=true",
                 "-o", f"program_output.program=cat >> {outdir / 'program_output.txt'}"]
    trace = Path(test["trace_file"]).name.replace(".scap", ".jsonl.gz")
    trace_path = base / "data" / "events" / trace
    if trace == "empty.jsonl.gz":
        trace_path = tmp_path / "empty.jsonl"
        trace_path.write_text("")
    args.append(str(trace_path))
    result = CliRunner().invoke(cli, args, catch_exceptions=False)
    alerts = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
    return result.exit_code, alerts, result.stdout, result.stderr


def text_of(alerts: list[dict[str, Any]], json_output: bool) -> str:
    """What Falco's stdout would hold: JSON lines, or the text lines."""
    if json_output:
        return "\n".join(json.dumps(a, separators=(",", ":")) for a in alerts)
    return "\n".join(a["output"] for a in alerts if "output" in a)


def check(name: str, test: dict[str, Any], tmp_path: Path) -> None:
    code, alerts, stdout, stderr = run_test(test, tmp_path)
    expected_exit = test.get("exit_status", 0)
    assert code == expected_exit, f"exit {code}, expected {expected_exit}: {stderr[-2000:]}"
    if expected_exit != 0:
        for pattern in _as_list(test.get("stderr_contains")):
            assert re.search(pattern, stderr), f"stderr lacks {pattern!r}: {stderr[-2000:]}"
        return
    fired = Counter(a["rule"] for a in alerts)
    if "detect" in test:
        assert bool(alerts) == test["detect"], f"detect={test['detect']}, fired {dict(fired)}"
    if test.get("detect") and test.get("detect_level"):
        levels = {a["priority"].upper() for a in alerts}
        want = {lvl.upper().replace("INFO", "INFORMATIONAL") for lvl in _as_list(test["detect_level"])}
        assert levels & want, f"levels {levels}, expected {want}"
    for entry in test.get("detect_counts", []):
        for rule, count in entry.items():
            assert fired[rule] == count, f"{rule}: {fired[rule]} fired, expected {count}; all {dict(fired)}"
    json_output = bool(test.get("json_output"))
    shown = stdout if json_output else text_of(alerts, False)
    for pattern in _as_list(test.get("stdout_contains")):
        assert re.search(pattern, shown), f"stdout lacks {pattern!r}:\n{shown[:1000]}"
    for pattern in _as_list(test.get("stdout_not_contains")):
        assert not re.search(pattern, shown), f"stdout has {pattern!r}"
    if test.get("output_strictly_contains") and not json_output:
        code, _, stdout, _ = run_test(test, tmp_path, text=True)
        assert code == 0
    for strict in test.get("output_strictly_contains", []):
        for where in strict:
            target = Path(where).name
            outdir = tmp_path / ("json" if json_output else "text")
            lines = (stdout if where == "stdout" else (outdir / target).read_text()).splitlines()
            if json_output:
                _check_cat_write_json([json.loads(line) for line in lines])
            else:
                assert lines == [f"{when}+0000: Warning An open was seen (command=cat /dev/null)"
                                 for when in CAT_WRITE_TIMES]


def _check_cat_write_json(alerts: list[dict[str, Any]]) -> None:
    """Field by field against Falco's expected JSON alerts for this trace."""
    assert len(alerts) == len(CAT_WRITE_TIMES)
    for alert, when in zip(alerts, CAT_WRITE_TIMES, strict=True):
        assert alert["output"] == f"{when}+0000: Warning An open was seen (command=cat /dev/null)"
        assert alert["time"] == f"{when}Z"
        assert alert["priority"] == "Warning" and alert["rule"] == "open_from_cat"
        assert alert["output_fields"]["proc.cmdline"] == "cat /dev/null"
        seconds, nanos = when.split(".")
        assert alert["output_fields"]["evt.time.iso8601"] % 1_000_000_000 == int(nanos)


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


@pytest.mark.skipif(not TESTS, reason="shared conformance material not found (DETECTOR_SHARED)")
@pytest.mark.parametrize("name", APPLICABLE)
def test_capture_expected(name: str, tmp_path: Path) -> None:
    check(name, TESTS[name], tmp_path)


@pytest.mark.skipif(not TESTS, reason="shared conformance material not found (DETECTOR_SHARED)")
def test_coverage_of_capture_suite() -> None:
    """The applicable tests, each of which must pass on its own, are at least 90% of the suite."""
    assert len(APPLICABLE) >= 0.9 * len(TESTS), (len(APPLICABLE), len(TESTS))


@pytest.mark.skipif(not TESTS, reason="shared conformance material not found (DETECTOR_SHARED)")
def test_iso8601_stdout(tmp_path: Path) -> None:
    """The stdout half of Falco's time_iso_8601 test."""
    code, alerts, _, _ = run_test(TESTS["time_iso_8601"], tmp_path)
    assert code == 0
    assert any(a["output"].startswith("2016-08-04T16:17:57.882054739+0000: Warning An open was seen")
               for a in alerts)
