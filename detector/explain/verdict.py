"""From an evaluated tree to the answer: did the rule fire, and if not, because of what."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from detector.explain.evaluate import Evaluator
from detector.explain.target import Target
from detector.explain.tree import Explanation, Outcome, Reason, Step
from detector.explain.values import value_text

# A verdict names at most this many deciding checks; the tree has all of them.
_MAX_REASONS = 3


def _decisive_leaves(root: Step) -> list[tuple[Step, Step | None]]:
    """Deciding checks under ``root``, each with its outermost named frame: the first macro, or
    ``not`` of a macro or check, met on the way down (what the rule's author wrote)."""
    found: list[tuple[Step, Step | None]] = []
    stack: list[tuple[Step, Step | None]] = [(root, None)]
    while stack:
        node, frame = stack.pop()
        if not node.decisive:
            continue
        if node.kind == "check":
            found.append((node, frame))
            continue
        if frame is None and (node.kind == "macro" or (
                node.kind == "not" and node.children and node.children[0].kind in ("macro", "check"))):
            frame = node
        stack.extend((child, frame) for child in reversed(node.children))
    return found


def _fields_text(fields: tuple[Any, ...]) -> str:
    return ", ".join(f"{f.field}={value_text(f.value, limit=60)}" for f in fields)


def _check_phrase(leaf: Step) -> str:
    if leaf.outcome is Outcome.ABSENT:
        missing = [f.field for f in leaf.fields if f.absent]
        subject = ", ".join(missing) or "a field"
        verb = "are" if len(missing) > 1 else "is"
        return f"{subject} {verb} absent, so {leaf.label} is false"
    shown = _fields_text(leaf.fields)
    return f"{leaf.label} is {leaf.outcome.value}" + (f" ({shown})" if shown else "")


def _frame_text(frame: Step) -> str:
    truth = "true" if frame.outcome is Outcome.TRUE else "false"
    if frame.kind == "not":
        return f"not {frame.children[0].label} is {truth}"
    return f"{frame.label} is {truth}"


def _leaf_reason(leaf: Step, frame: Step | None) -> Reason:
    text = _check_phrase(leaf)
    if frame is not None:
        text = f"{_frame_text(frame)}: {text}"
    return Reason("check", text, leaf.outcome, leaf.fields)


def _exception_reason(root: Step) -> Reason | None:
    """The exception that matched, when the condition held and an exception turned it off."""
    for part in root.children[1:]:
        if part.kind == "not" and part.outcome is Outcome.FALSE and part.children:
            exc = part.children[0]
            leaves = [leaf for leaf, _ in _decisive_leaves(exc)]
            fields = tuple(f for leaf in leaves for f in leaf.fields)
            shown = _fields_text(fields)
            text = f"exception {exc.name} matched" + (f" ({shown})" if shown else "")
            return Reason("exception", text, Outcome.TRUE, fields, exc.name)
    return None


def _reasons(root: Step, target: Target) -> list[Reason]:
    if target.exceptions and root.children and root.children[0].outcome is Outcome.TRUE:
        found = _exception_reason(root)
        if found is not None:
            return [found]
    return [_leaf_reason(leaf, neg) for leaf, neg in _decisive_leaves(root)]


def _because(reasons: list[Reason]) -> str:
    texts = [r.text for r in reasons[:_MAX_REASONS]]
    more = len(reasons) - len(texts)
    if more:
        texts.append(f"and {more} more (see the tree)")
    return "; ".join(texts)


def explain_event(evaluator: Evaluator, event: Mapping[str, Any], source: str) -> Explanation:
    """The explanation of ``evaluator``'s target on one event of ``source``."""
    target = evaluator.target
    rule = target.rule
    if source != target.source:
        what = "the rule" if rule is not None else "the condition"
        text = f"the event is of source {source}, {what} is for {target.source}"
        verdict = f"did not fire: {text}" if rule is not None else f"not evaluated: {text}"
        return Explanation(False, False, verdict, (Reason("source", text, Outcome.SKIPPED),), None, source)
    tree = evaluator.explain(event)
    result = tree.outcome is Outcome.TRUE
    if result:
        if rule is not None and not rule.enabled:
            note = "the rule is disabled, so the engine does not run it"
            return Explanation(True, False, f"would fire, but {note}",
                               (Reason("disabled", note, Outcome.TRUE),), tree, source)
        return Explanation(True, True, "fired" if rule is not None else "matched", (), tree, source)
    reasons = _reasons(tree, target)
    head = "did not fire" if rule is not None else "did not match"
    verdict = f"{head} because {_because(reasons)}" if reasons else head
    return Explanation(False, False, verdict, tuple(reasons), tree, source)
