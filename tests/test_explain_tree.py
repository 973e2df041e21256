"""The evaluation tree: short-circuits, absent fields, macros as nodes, exceptions, verdicts, JSON."""

from __future__ import annotations

import json
from typing import Any

import pytest

from detector.errors import ConditionSyntaxError, MacroError, UnknownFieldError
from detector.explain import (
    EventLabel,
    Explainer,
    ExplainError,
    Outcome,
    Step,
    condition_target,
    document_json,
    explain_condition,
    explain_rule,
    rule_target,
    tree_lines,
)
from detector.loader import load_rules
from detector.loader.model import Ruleset

RULES = """
- list: shells
  items: [bash, sh]
- macro: spawned
  condition: (evt.type = execve and evt.rawres = 0)
- macro: in_container
  condition: container.id != host
- macro: helper
  condition: (proc.pname startswith runc or proc.pname = conmon)
- rule: Shell
  desc: d
  condition: spawned and in_container and proc.name in (shells) and not helper
  output: shell %proc.name
  priority: NOTICE
  exceptions:
    - name: ops_debug
      fields: [k8s.ns.name, container.image.repository]
      values:
        - [ops, netshoot]
        - [dev, busybox]
    - name: no_values
      fields: [proc.name]
      comps: [=]
- rule: Disabled Shell
  desc: d
  condition: spawned and proc.name in (shells)
  output: shell %proc.name
  priority: NOTICE
  enabled: false
- rule: Audit
  desc: d
  condition: ka.verb = create
  output: audit %ka.verb
  priority: INFO
  source: k8s_audit
"""

SHELL = {"evt.type": "execve", "evt.rawres": 0, "container.id": "abc", "proc.name": "bash",
         "proc.pname": "sshd", "k8s.ns.name": "shop", "container.image.repository": "web"}


@pytest.fixture(scope="module")
def ruleset() -> Ruleset:
    result = load_rules(RULES)
    assert result.ok, [d.describe() for d in result.errors]
    return result.ruleset


def find(root: Step, text: str) -> Step:
    for step in root.walk():
        if step.text == text or step.label == text:
            return step
    raise AssertionError(f"{text!r} not in the tree")


def with_(**fields: Any) -> dict[str, Any]:
    event = dict(SHELL)
    for key, value in fields.items():
        name = key.replace("__", ".")
        if value is None:
            event.pop(name, None)
        else:
            event[name] = value
    return event


def test_fired_rule_shows_macros_as_nodes(ruleset: Ruleset) -> None:
    expl = explain_rule(ruleset, "Shell", SHELL)
    assert expl.fired and expl.result and expl.verdict == "fired"
    assert expl.tree is not None
    spawned = find(expl.tree, "spawned")
    assert spawned.kind == "macro" and spawned.outcome is Outcome.TRUE
    assert [c.kind for c in spawned.children] == ["and"]
    check = find(expl.tree, "proc.name in (shells)")  # the list is named, not spelled out
    assert check.text == "proc.name in (bash, sh)"
    assert [(f.field, f.value) for f in check.fields] == [("proc.name", "bash")]


def test_short_circuit_marks_the_rest_not_evaluated(ruleset: Ruleset) -> None:
    expl = explain_rule(ruleset, "Shell", with_(evt__type="open"))
    assert expl.tree is not None and not expl.fired
    assert find(expl.tree, "evt.type = execve").outcome is Outcome.FALSE
    assert find(expl.tree, "evt.rawres = 0").outcome is Outcome.SKIPPED
    assert find(expl.tree, "in_container").outcome is Outcome.SKIPPED
    assert find(expl.tree, "proc.name in (shells)").fields == ()  # never read
    assert expl.verdict == 'did not fire because spawned is false: evt.type = execve is false (evt.type="open")'


def test_absent_field_is_false_even_for_not_equal(ruleset: Ruleset) -> None:
    expl = explain_rule(ruleset, "Shell", with_(container__id=None))
    assert expl.tree is not None
    check = find(expl.tree, "container.id != host")
    assert check.outcome is Outcome.ABSENT and check.fields[0].absent
    assert find(expl.tree, "in_container").outcome is Outcome.ABSENT
    assert not expl.result
    assert expl.verdict == ("did not fire because in_container is false: container.id is absent, "
                            "so container.id != host is false")
    assert [r.kind for r in expl.reasons] == ["check"] and expl.reasons[0].outcome is Outcome.ABSENT


def test_not_of_an_absent_check_is_true() -> None:
    expl = explain_condition("not proc.name = bash", {"evt.type": "open"})
    assert expl.result
    assert expl.tree is not None and expl.tree.kind == "not"
    assert expl.tree.outcome is Outcome.TRUE and expl.tree.children[0].outcome is Outcome.ABSENT


def test_negated_macro_names_itself_in_the_verdict(ruleset: Ruleset) -> None:
    expl = explain_rule(ruleset, "Shell", with_(proc__pname="runc:[2:INIT]"))
    assert expl.verdict == ('did not fire because not helper is false: proc.pname startswith runc is true '
                            '(proc.pname="runc:[2:INIT]")')
    assert expl.tree is not None
    # the or stopped at its first true branch
    assert find(expl.tree, "proc.pname = conmon").outcome is Outcome.SKIPPED


def test_exception_is_labelled_and_decides(ruleset: Ruleset) -> None:
    expl = explain_rule(ruleset, "Shell", with_(k8s__ns__name="dev", container__image__repository="busybox"))
    assert not expl.fired and expl.tree is not None
    condition, negation = expl.tree.children  # the exception without values adds nothing
    assert condition.kind == "condition" and condition.outcome is Outcome.TRUE
    exception = negation.children[0]
    assert (negation.kind, negation.outcome) == ("not", Outcome.FALSE)
    assert (exception.kind, exception.name, exception.outcome) == ("exception", "ops_debug", Outcome.TRUE)
    assert expl.reasons[0].kind == "exception" and expl.reasons[0].name == "ops_debug"
    assert expl.verdict == ('did not fire because exception ops_debug matched '
                            '(k8s.ns.name="dev", container.image.repository="busybox")')
    # the first alternative (ops, netshoot) was tried and failed; the second decided
    alternatives = exception.children[0].children
    assert [a.outcome for a in alternatives] == [Outcome.FALSE, Outcome.TRUE]
    assert [a.decisive for a in alternatives] == [False, True]


def test_exception_not_evaluated_when_the_condition_is_false(ruleset: Ruleset) -> None:
    expl = explain_rule(ruleset, "Shell", with_(proc__name="python"))
    assert expl.tree is not None
    assert expl.tree.children[1].outcome is Outcome.SKIPPED
    assert expl.verdict.startswith("did not fire because proc.name in (shells) is false")


def test_disabled_rule_would_fire(ruleset: Ruleset) -> None:
    expl = explain_rule(ruleset, "Disabled Shell", SHELL)
    assert expl.result and not expl.fired
    assert expl.verdict == "would fire, but the rule is disabled, so the engine does not run it"


def test_event_of_another_source_is_not_evaluated(ruleset: Ruleset) -> None:
    expl = explain_rule(ruleset, "Audit", SHELL, "syscall")
    assert expl.tree is None and not expl.fired
    assert expl.verdict == "did not fire: the event is of source syscall, the rule is for k8s_audit"


def test_unknown_rule_suggests_close_names(ruleset: Ruleset) -> None:
    with pytest.raises(ExplainError, match="did you mean 'Shell'"):
        rule_target(ruleset, "Shel")


def test_bad_conditions_raise_located_errors() -> None:
    with pytest.raises(ConditionSyntaxError):
        condition_target("proc.name = ")
    with pytest.raises(UnknownFieldError):
        condition_target("proc.nme = bash")
    with pytest.raises(MacroError):
        condition_target("spawned and proc.name = bash")


def test_condition_may_use_a_rulesets_lists_and_macros(ruleset: Ruleset) -> None:
    expl = explain_condition("spawned and proc.name in (shells)", SHELL, ruleset=ruleset)
    assert expl.result and expl.verdict == "matched"
    assert expl.tree is not None and find(expl.tree, "spawned").kind == "macro"


def test_default_text_expands_only_the_deciding_macros(ruleset: Ruleset) -> None:
    target = rule_target(ruleset, "Shell")
    tree = Explainer(target).explain(with_(proc__name="python")).tree
    assert tree is not None
    text = "\n".join(line.plain for line in tree_lines(tree))
    # spawned decided nothing (it was true, the list check decided): one line, marked collapsed
    assert "macro spawned: and [+]" in text and "evt.rawres = 0" not in text
    assert "false   │  ├─ proc.name in (shells)  [proc.name=\"python\"]" in text
    full = "\n".join(line.plain for line in tree_lines(tree, expand=True))
    assert "evt.rawres = 0  [evt.rawres=0]" in full and "[+]" not in full
    assert "(not evaluated)" in full


def test_json_document_schema(ruleset: Ruleset) -> None:
    target = rule_target(ruleset, "Shell")
    expl = Explainer(target).explain(with_(container__id=None))
    doc = json.loads(json.dumps(document_json(target, [(EventLabel(1, "events.jsonl", 3), expl)])))
    assert doc["schema"] == "detector-explain/1"
    assert doc["target"] == {"kind": "rule", "name": "Shell", "source": "syscall", "file": "rules.yaml",
                             "line": 10, "enabled": True, "priority": "NOTICE",
                             "condition": "spawned and in_container and proc.name in (shells) and not helper",
                             "exceptions": ["ops_debug"]}
    event = doc["events"][0]
    assert event["input"] == {"index": 1, "file": "events.jsonl", "line": 3, "item": None}
    assert (event["result"], event["fired"]) == (False, False)
    assert event["reasons"][0]["fields"] == [{"field": "container.id", "value": None, "absent": True}]
    tree = event["tree"]
    assert set(tree) == {"kind", "text", "label", "name", "outcome", "result", "evaluated", "decisive",
                         "fields", "children"}
    assert doc["summary"] == {"events": 1, "matched": 0, "fired": 0}
    # JSON trees are complete: the collapsed macro's body is there
    spawned = tree["children"][0]["children"][0]["children"][0]  # and > condition > and > macro
    assert spawned["kind"] == "macro" and spawned["children"][0]["children"][1]["text"] == "evt.rawres = 0"


def test_values_are_typed_in_json() -> None:
    target = condition_target("fd.sip = 10.0.0.1 and fd.num >= 0")
    expl = Explainer(target).explain({"fd.sip": "10.0.0.1", "fd.num": 3})
    doc = document_json(target, [(EventLabel(1), expl)])
    fields = [c["fields"][0] for c in doc["events"][0]["tree"]["children"]]
    assert fields == [{"field": "fd.sip", "value": "10.0.0.1", "absent": False},
                      {"field": "fd.num", "value": 3, "absent": False}]
