"""Rule-author tooling: why a rule (or condition) did or did not match an event.

>>> target = rule_target(load_rules("rules/").ruleset, "Terminal Shell in Container")  # doctest: +SKIP
>>> Explainer(target).explain(event).verdict                                          # doctest: +SKIP
'did not fire because proc.tty != 0 is false (proc.tty=0)'

The evaluation tree keeps macros as nodes and a rule's exceptions as labelled nodes; each
leaf check is evaluated by the reference interpreter of ``detector.codegen``, so the root
result is always what the engine's compiled condition gives.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from detector.explain.evaluate import Evaluator
from detector.explain.render import SCHEMA, EventLabel, document_json, explanation_lines, tree_lines
from detector.explain.target import (
    ExceptionPart,
    ExplainError,
    Target,
    condition_target,
    find_rule,
    rule_target,
)
from detector.explain.tree import Explanation, FieldValue, Outcome, Reason, Step
from detector.explain.verdict import explain_event
from detector.loader.model import Ruleset


class Explainer:
    """Explains one target on any number of events."""

    def __init__(self, target: Target) -> None:
        self.target = target
        self._evaluator = Evaluator(target)

    def explain(self, event: Mapping[str, Any], source: str | None = None) -> Explanation:
        """The explanation for ``event`` of ``source`` (default: the target's source)."""
        return explain_event(self._evaluator, event, source or self.target.source)


def explain_rule(ruleset: Ruleset, name: str, event: Mapping[str, Any], source: str | None = None) -> Explanation:
    """Why rule ``name`` of ``ruleset`` did or did not fire on ``event``."""
    return Explainer(rule_target(ruleset, name)).explain(event, source)


def explain_condition(text: str, event: Mapping[str, Any], *, source: str = "syscall",
                      ruleset: Ruleset | None = None) -> Explanation:
    """Why condition ``text`` did or did not match ``event`` (``ruleset`` lends its lists and macros)."""
    return Explainer(condition_target(text, source=source, ruleset=ruleset)).explain(event, source)


__all__ = [
    "SCHEMA",
    "EventLabel",
    "ExceptionPart",
    "ExplainError",
    "Explainer",
    "Explanation",
    "FieldValue",
    "Outcome",
    "Reason",
    "Step",
    "Target",
    "condition_target",
    "document_json",
    "explain_condition",
    "explain_rule",
    "explanation_lines",
    "find_rule",
    "rule_target",
    "tree_lines",
]
