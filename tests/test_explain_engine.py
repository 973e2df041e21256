"""The explanation's result is the engine's: real events, upstream and shipped rules, conditions."""

from __future__ import annotations

import glob
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from detector.codegen import compile_condition
from detector.explain import Explainer, Outcome, condition_target, rule_target
from detector.loader import load_rules
from detector.loader.model import Ruleset
from detector.sources import Record, read_records
from tests.shared import shared_path

ROOT = Path(__file__).resolve().parent.parent
UPSTREAM = ("falco_rules.yaml", "falco-incubating_rules.yaml", "falco-sandbox_rules.yaml", "k8s_audit_rules.yaml")
# Per rule: every matching event up to this many, and this many that do not match.
MATCHING, OTHERS = 10, 6

CONDITIONS = (
    "evt.type = open and fd.name startswith /etc",
    "evt.type in (open, openat) and not fd.name contains /proc",
    "proc.name = cat or proc.pname = bash",
    "fd.typechar = 4 and fd.sport != 80",
    "evt.rawres < 0 and evt.type != close",
    "proc.aname[2] exists and proc.aname[2] in (bash, sshd, emacs)",
    "tolower(proc.name) = CAT or proc.cmdline glob '*null*'",
    "fd.name pmatch (/etc, /usr/lib) or fd.directory = /tmp",
    "user.uid != 0 and evt.is_open_read = true",
    "fd.sip = 127.0.0.1 or fd.net = 10.0.0.0/8",
)
K8S_CONDITIONS = (
    "ka.verb in (create, update) and ka.target.resource = pods",
    "ka.req.pod.containers.privileged intersects (true) or ka.req.pod.host_network = true",
    "ka.user.name != system:anonymous and ka.target.namespace = kube-system",
)


@pytest.fixture(scope="module")
def syscall_events() -> list[Record]:
    files = sorted(glob.glob(str(shared_path("data", "events") / "*.jsonl.gz")))
    return list(read_records(files))


@pytest.fixture(scope="module")
def audit_events() -> list[Record]:
    files = sorted(glob.glob(str(shared_path("data", "k8saudit") / "*.json")))
    return list(read_records(files))


@pytest.fixture(scope="module")
def rulesets() -> list[Ruleset]:
    rules_dir = shared_path("falco", "rules")
    upstream = load_rules(*(rules_dir / n for n in UPSTREAM))
    shipped = load_rules(ROOT / "rules")
    assert upstream.ok and shipped.ok
    return [upstream.ruleset, shipped.ruleset]


def _sample(rule: Any, pool: list[Record]) -> Iterator[Record]:
    """Events of the rule's types: the matching ones first (capped), then a few others spread out."""
    typed = [r for r in pool if rule.evttypes is None or r.event.get("evt.type") in rule.evttypes]
    hits = [r for r in typed if rule.compiled.matches(r.event)]
    misses = [r for r in typed if not rule.compiled.matches(r.event)]
    yield from hits[:MATCHING]
    step = max(1, len(misses) // OTHERS)
    yield from misses[::step][:OTHERS]


def test_rule_explanations_agree_with_compiled_rules(
        rulesets: list[Ruleset], syscall_events: list[Record], audit_events: list[Record]) -> None:
    seen: Counter[str] = Counter()
    for ruleset in rulesets:
        for rule in ruleset.rules:
            explainer = Explainer(rule_target(ruleset, rule.name))
            pool = syscall_events if rule.source == "syscall" else audit_events
            for record in _sample(rule, pool):
                expl = explainer.explain(record.event, record.source)
                expected = rule.compiled.matches(record.event)
                assert expl.result is expected, (rule.name, record.file, record.line)
                assert expl.fired is (expected and rule.enabled)
                assert expl.tree is not None
                outcomes = {s.outcome for s in expl.tree.walk()}
                seen["fired" if expected else "not"] += 1
                seen["absent"] += Outcome.ABSENT in outcomes
                seen["skipped"] += Outcome.SKIPPED in outcomes
    # the sample exercises every kind of result, not only "false"
    assert seen["fired"] >= 50 and seen["not"] >= 500 and seen["absent"] >= 50 and seen["skipped"] >= 500, seen


@pytest.mark.parametrize("text", CONDITIONS)
def test_condition_explanations_agree_with_compiled_conditions(text: str, syscall_events: list[Record]) -> None:
    condition = compile_condition(text)
    explainer = Explainer(condition_target(text))
    sample = syscall_events[::23]
    results = Counter()
    for record in sample:
        expl = explainer.explain(record.event, record.source)
        assert expl.result is condition.matches(record.event), (text, record.file, record.line)
        results[expl.result] += 1
    assert results[False] > 0


@pytest.mark.parametrize("text", K8S_CONDITIONS)
def test_k8s_condition_explanations_agree(text: str, audit_events: list[Record]) -> None:
    condition = compile_condition(text, source="k8s_audit")
    explainer = Explainer(condition_target(text, source="k8s_audit"))
    for record in audit_events:
        assert explainer.explain(record.event, record.source).result is condition.matches(record.event)


def test_some_conditions_match_real_events(syscall_events: list[Record]) -> None:
    # guards the parametrized test above against a sample in which nothing ever matches
    matched = 0
    for text in CONDITIONS:
        explainer = Explainer(condition_target(text))
        matched += sum(explainer.explain(r.event).result for r in syscall_events[::23])
    assert matched > 20
