"""`detector replay --profile`: every enabled rule is timed and reported, and so are the macros they use."""

from __future__ import annotations

import io
import json
from pathlib import Path

from click.testing import CliRunner

from detector.cli.main import cli
from detector.engine import Engine, RuleSelection, SelectionAction
from detector.engine.profile import ProfilingEngine, print_profile
from detector.loader import load_rules
from tests.shared import shared_dir

RULES = """
- macro: opened
  condition: evt.type in (open, openat)
- macro: sensitive
  condition: fd.name in (/etc/shadow, /etc/sudoers) or fd.directory = /etc/pam.d
- rule: Sensitive read
  desc: reads of sensitive files
  condition: opened and sensitive and not proc.name in (login, sshd)
  output: sensitive %fd.name by %proc.name
  priority: WARNING
- rule: Anything opened by cat
  desc: cat opened something
  condition: opened and proc.name = cat
  output: cat %fd.name
  priority: NOTICE
- rule: Exec
  desc: every execve
  condition: evt.type = execve and proc.name exists
  output: exec %proc.name
  priority: NOTICE
- rule: Disabled one
  desc: never enabled
  condition: evt.type = execve
  output: x
  priority: NOTICE
  enabled: false
"""

EVENTS = [
    {"evt.type": "openat", "evt.num": 1, "fd.name": "/etc/shadow", "proc.name": "cat"},
    {"evt.type": "openat", "evt.num": 2, "fd.name": "/tmp/x", "proc.name": "vi"},
    {"evt.type": "execve", "evt.num": 3, "proc.name": "ls"},
    {"evt.type": "read", "evt.num": 4},
]


def _write(tmp_path: Path) -> tuple[Path, Path]:
    rules = tmp_path / "rules.yaml"
    rules.write_text(RULES)
    events = tmp_path / "events.jsonl"
    events.write_text("".join(json.dumps({**e, "evt.time": 1700000000000000000 + i}) + "\n"
                              for i, e in enumerate(EVENTS * 5)))
    return rules, events


def test_profile_reports_every_enabled_rule_and_the_macros(tmp_path: Path) -> None:
    rules, events = _write(tmp_path)
    summary = tmp_path / "summary.json"
    plain_out = tmp_path / "plain.out"
    profiled_out = tmp_path / "profiled.out"
    runner = CliRunner()
    for out, extra in ((plain_out, []), (profiled_out, ["--profile"])):
        result = runner.invoke(cli, ["replay", "-r", str(rules), "--no-progress", "--no-summary",
                                     "-o", "rule_matching=all", "--output-file", str(out),
                                     "--summary-json", str(summary), *extra, str(events)],
                               catch_exceptions=False)
        assert result.exit_code == 0, result.stderr
    # Profiling changes how rules are evaluated, not what they find.
    assert profiled_out.read_bytes() == plain_out.read_bytes() != b""
    profile = json.loads(summary.read_text())["profile"]
    rules_seen = {r["name"]: r for r in profile["rules"]}
    assert set(rules_seen) == {"Sensitive read", "Anything opened by cat", "Exec"}
    assert rules_seen["Sensitive read"]["evaluations"] == 10 and rules_seen["Sensitive read"]["matches"] == 5
    assert rules_seen["Exec"]["evaluations"] == 5 and rules_seen["Exec"]["matches"] == 5
    macros = {m["name"]: m for m in profile["macros"]}
    assert {"opened", "sensitive"} <= set(macros)
    # "opened" is folded into nothing by the engine, but the profile times it as written: in both
    # rules, for every open event.
    assert macros["opened"]["evaluations"] == 20
    costs = [r["seconds"] for r in profile["rules"]]
    assert costs == sorted(costs, reverse=True)
    assert "Rule cost" in result.stderr and "Macro cost" in result.stderr


def test_profile_of_the_upstream_rules_lists_all_of_them() -> None:
    base = shared_dir()
    if base is None:
        return
    result = load_rules(*(base / "falco" / "rules" / n for n in
                          ("falco_rules.yaml", "falco-incubating_rules.yaml", "falco-sandbox_rules.yaml")))
    engine = Engine(result.ruleset, selection=RuleSelection((SelectionAction("enable", rule="*"),)))
    profiler = ProfilingEngine(engine)
    event = {"evt.type": "openat", "evt.num": 1, "fd.name": "/etc/shadow", "fd.typechar": "f", "fd.num": 3,
             "evt.is_open_read": True, "proc.name": "cat", "container.id": "host"}
    assert [a.rule for a in profiler.process(event)] == [a.rule for a in engine.process(event)]
    report = profiler.report()
    assert {r["name"] for r in report["rules"]} == {r.name for r in engine.enabled_rules()}
    assert any(m["name"] == "open_read" and m["evaluations"] > 0 for m in report["macros"])
    text = io.StringIO()
    print_profile(profiler, text)
    assert "open_read" in text.getvalue()
