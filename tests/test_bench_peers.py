"""The six peer conditions mean the same in Python, rule-engine and CEL, and as a Falco rules file."""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from benchmarks import child
from benchmarks.gen_syscall import SCENARIOS, SyscallGenerator
from benchmarks.peer_conditions import CONDITIONS, falco_rules_yaml


def _sample() -> list[dict[str, Any]]:
    """Every alerting scenario, ordinary activity, and events with the fields the conditions read left out."""
    generator = SyscallGenerator(13, 0.5)
    wanted = set(SCENARIOS)
    events: list[dict[str, Any]] = []
    benign = 0
    for scenario, event in generator.labeled(2000):
        if scenario in wanted:
            wanted.discard(scenario)
            events.append(event)
        elif scenario == "benign" and benign < 20:
            benign += 1
            events.append(event)
        if not wanted and benign >= 20:
            break
    stripped = []
    for event in events[: len(SCENARIOS)]:
        for field in ("container.id", "proc.tty", "proc.pname", "proc.name", "proc.args", "fd.num", "user.name"):
            if field in event:
                copy = dict(event)
                del copy[field]
                stripped.append(copy)
    return events + stripped


SAMPLE = _sample()


def test_sample_exercises_every_condition() -> None:
    for condition in CONDITIONS:
        assert any(condition.python(e) for e in SAMPLE), condition.name
        assert not all(condition.python(e) for e in SAMPLE), condition.name


def test_rule_engine_agrees_with_python() -> None:
    pytest.importorskip("rule_engine")
    predicates = dict(child.rule_engine_predicates())
    for condition in CONDITIONS:
        for event in SAMPLE:
            assert predicates[condition.name](event) == condition.python(event), (condition.name, event)


def test_cel_agrees_with_python() -> None:
    pytest.importorskip("celpy")
    predicates, convert = child.cel_predicates()
    by_name = dict(predicates)
    for event in SAMPLE:
        activation = convert(event)
        for condition in CONDITIONS:
            assert by_name[condition.name](activation) == condition.python(event), (condition.name, event)


def test_falco_rules_file_holds_the_same_six() -> None:
    rules = yaml.safe_load(falco_rules_yaml())
    assert [r["condition"].strip() for r in rules] == [c.falco for c in CONDITIONS]
    assert all(r["priority"] == "WARNING" and r["output"] for r in rules)


def test_falco_conditions_parse() -> None:
    language = pytest.importorskip("detector.language")
    parse = getattr(language, "parse", None)
    if parse is None:
        pytest.skip("detector.language.parse is not built yet")
    for condition in CONDITIONS:
        parse(condition.falco)


def test_evaluation_only_comparison_runs_and_the_engines_agree(tmp_path: Any) -> None:
    """``benchmarks/peers_eval.py`` on a small alerting workload: every engine finds the same
    matches (the script fails otherwise) and the figures are written."""
    import orjson
    from click.testing import CliRunner

    from benchmarks import peers_eval

    workload = tmp_path / "events.jsonl"
    workload.write_bytes(b"".join(orjson.dumps(event) + b"\n" for event in SAMPLE * 3))
    out = tmp_path / "figures.json"
    result = CliRunner().invoke(peers_eval.main, [str(workload), "-n", str(len(SAMPLE) * 3), "--repeat", "1",
                                                  "--rule-engine-events", "60", "--cel-events", "30",
                                                  "--json", str(out)])
    assert result.exit_code == 0, result.output
    figures = orjson.loads(out.read_bytes())
    assert set(figures) == {"detector rules", "detector masks", "detector conditions", "python", "rule-engine",
                            "cel-python"}
    assert figures["python"]["matches"] == figures["detector masks"]["matches"] > 0
