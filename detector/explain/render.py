"""Explanations as text (coloured with rich on a terminal, plain otherwise) and as JSON.

Text layout, one line per node::

    true    and
    true    ├─ macro process_exec: and
    true    │  ├─ evt.type in (execve, execveat)  [evt.type="execve"]
    ...
    -       └─ proc.tty != 0  (not evaluated)
    verdict: did not fire because ...

The first column is the node's result (``true``, ``false``, ``absent`` = false because a
field had no value, ``-`` = not evaluated).  A macro, the rule's condition or an exception
whose body is one node is printed on the same line as that node.  By default a macro is
expanded only when it decided its parent's result, and branches that were never evaluated are
one line; ``expand=True`` shows everything.  ``[+]`` marks a macro shown collapsed.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from rich.text import Text

from detector.explain.target import Target
from detector.explain.tree import Explanation, FieldValue, Outcome, Reason, Step
from detector.explain.values import value_json, value_text

SCHEMA = "detector-explain/1"

_RESULT_STYLE = {
    Outcome.TRUE: "bold green",
    Outcome.FALSE: "bold red",
    Outcome.ABSENT: "bold yellow",
    Outcome.SKIPPED: "dim",
}
_RESULT_TEXT = {Outcome.TRUE: "true", Outcome.FALSE: "false", Outcome.ABSENT: "absent", Outcome.SKIPPED: "-"}
_COLUMN = 8
_TITLES = {"macro": "macro", "exception": "exception", "condition": "condition"}


@dataclass(frozen=True, slots=True)
class EventLabel:
    """Where an event came from: ``file:line``, or the number of an inline ``--event``.

    ``index`` counts events from 1 in input order; ``item`` numbers the events of one line
    or document that holds several (an audit ``EventList``).
    """

    index: int
    file: str | None = None
    line: int | None = None
    item: int | None = None

    @property
    def text(self) -> str:
        where = f"--event #{self.index}" if self.file is None else (
            f"{self.file}:{self.line}" if self.line else self.file)
        return f"{where}#{self.item}" if self.item else where


# ---------------------------------------------------------------------------------------------
# text


def _fields(fields: Sequence[FieldValue]) -> Text:
    out = Text()
    if not fields:
        return out
    out.append("  [")
    for i, f in enumerate(fields):
        if i:
            out.append(", ")
        out.append(f.field, style="cyan")
        out.append("=")
        out.append(value_text(f.value), style="yellow" if f.absent else "blue")
    out.append("]")
    return out


def _label(step: Step) -> tuple[Text, Step, Step | None]:
    """The label of ``step``, the node whose children come below it, and the macro (if any)
    whose expansion they are: a title (macro, condition, exception) or a ``not`` whose body is
    one node is printed on the same line as that node."""
    text = Text()
    node = step
    macro: Step | None = None
    while len(node.children) == 1 and (node.kind in _TITLES or (
            node.kind == "not" and node.children[0].kind in ("check", "macro", "exception"))):
        if node.kind == "not":
            text.append("not ", style="bold")
        else:
            text.append(_TITLES[node.kind], style="dim")
            if node.kind == "macro":
                macro = node
                text.append(" ")
                text.append(node.name or node.text, style="bold cyan")
            elif node.kind == "exception":
                text.append(" ")
                text.append(node.name or node.text, style="bold magenta")
            text.append(": ")
        node = node.children[0]
    if node.kind == "check":
        text.append(node.label or node.text)
        text.append_text(_fields(node.fields))
    else:
        text.append(node.kind, style="bold")
    return text, node, macro


def _show_children(step: Step, body: Step, macro: Step | None, expand: bool) -> bool:
    if not body.children:
        return False
    if expand:
        return True
    if step.outcome is Outcome.SKIPPED:
        return False
    return macro is None or macro.decisive


def tree_lines(root: Step, *, expand: bool = False) -> list[Text]:
    """The tree of one explanation, one ``Text`` per line."""
    lines: list[Text] = []
    # (step, prefix for this line, prefix for its children, whether its parent was skipped)
    stack: list[tuple[Step, str, str, bool]] = [(root, "", "", False)]
    while stack:
        step, lead, rest, parent_skipped = stack.pop()
        label, body, macro = _label(step)
        show = _show_children(step, body, macro, expand)
        line = Text()
        line.append(_RESULT_TEXT[step.outcome].ljust(_COLUMN), style=_RESULT_STYLE[step.outcome])
        line.append(lead, style="dim")
        line.append_text(label)
        if macro is not None and body.children and not show and step.outcome is not Outcome.SKIPPED:
            line.append(" [+]", style="dim")
        if step.outcome is Outcome.SKIPPED and not parent_skipped:
            line.append("  (not evaluated)", style="dim")
        if step.outcome is Outcome.SKIPPED:
            line.stylize("dim")
        lines.append(line)
        if show:
            kids = body.children
            skipped = step.outcome is Outcome.SKIPPED
            for i in range(len(kids) - 1, -1, -1):
                last = i == len(kids) - 1
                stack.append((kids[i], rest + ("└─ " if last else "├─ "), rest + ("   " if last else "│  "),
                              skipped))
    return lines


def _verdict(expl: Explanation) -> Text:
    line = Text("verdict: ", style="bold")
    line.append(expl.verdict, style="bold green" if expl.fired or (expl.result and expl.verdict == "matched")
                else "bold red")
    return line


def target_header(target: Target) -> list[Text]:
    rule = target.rule
    if rule is None:
        head = Text("condition: ", style="bold")
        head.append(" ".join(target.text.split()))
        head.append(f"  (source {target.source})", style="dim")
        return [head]
    head = Text("rule: ", style="bold")
    head.append(rule.name, style="bold")
    extra = f"{rule.file}:{rule.line}, source {rule.source}, priority {rule.priority.name}"
    if not rule.enabled:
        extra += ", disabled"
    head.append(f"  ({extra})", style="dim")
    out = [head]
    if target.exceptions:
        names = Text("exceptions: ", style="bold")
        names.append(", ".join(p.name for p in target.exceptions), style="magenta")
        out.append(names)
    return out


def event_header(label: EventLabel, expl: Explanation, event: Any) -> Text:
    head = Text(f"event {label.text}", style="bold")
    detail = expl.source
    if expl.source == "syscall" and isinstance(event, dict) and isinstance(event.get("evt.type"), str):
        detail += f", evt.type={event['evt.type']}"
    head.append(f"  ({detail})", style="dim")
    return head


def explanation_lines(label: EventLabel, expl: Explanation, event: Any, *, expand: bool) -> list[Text]:
    lines = [event_header(label, expl, event)]
    if expl.tree is not None:
        lines.extend(tree_lines(expl.tree, expand=expand))
    lines.append(_verdict(expl))
    return lines


def summary_line(explanations: Sequence[Explanation], target: Target) -> Text:
    total = len(explanations)
    hits = sum(1 for e in explanations if (e.fired if target.rule is not None else e.result))
    word = "fired" if target.rule is not None else "matched"
    other = "did not fire" if target.rule is not None else "did not match"
    return Text(f"{total} events: {hits} {word}, {total - hits} {other}", style="bold")


# ---------------------------------------------------------------------------------------------
# JSON


def _fields_json(fields: Iterable[FieldValue]) -> list[dict[str, Any]]:
    return [{"field": f.field, "value": value_json(f.value), "absent": f.absent} for f in fields]


def step_json(step: Step) -> dict[str, Any]:
    """One node and everything below it (always fully expanded)."""
    out: dict[str, Any] = {}
    # iterative post-order build keeps deep conditions off the Python stack
    pending: list[tuple[Step, dict[str, Any], bool]] = [(step, out, False)]
    while pending:
        node, slot, built = pending.pop()
        if built:
            continue
        slot.update({
            "kind": node.kind,
            "text": node.text,
            "label": node.label or node.text,
            "name": node.name,
            "outcome": node.outcome.value,
            "result": node.outcome.value_bool,
            "evaluated": node.evaluated,
            "decisive": node.decisive,
            "fields": _fields_json(node.fields),
            "children": [],
        })
        for child in node.children:
            child_slot: dict[str, Any] = {}
            slot["children"].append(child_slot)
            pending.append((child, child_slot, False))
    return out


def _reason_json(reason: Reason) -> dict[str, Any]:
    return {"kind": reason.kind, "text": reason.text, "outcome": reason.outcome.value, "name": reason.name,
            "fields": _fields_json(reason.fields)}


def target_json(target: Target) -> dict[str, Any]:
    rule = target.rule
    if rule is None:
        return {"kind": "condition", "condition": target.text, "source": target.source}
    return {
        "kind": "rule",
        "name": rule.name,
        "source": rule.source,
        "file": rule.file,
        "line": rule.line,
        "enabled": rule.enabled,
        "priority": rule.priority.name,
        "condition": rule.condition,
        "exceptions": [p.name for p in target.exceptions],
    }


def explanation_json(label: EventLabel, expl: Explanation) -> dict[str, Any]:
    return {
        "input": {"index": label.index, "file": label.file, "line": label.line, "item": label.item},
        "source": expl.source,
        "result": expl.result,
        "fired": expl.fired,
        "verdict": expl.verdict,
        "reasons": [_reason_json(r) for r in expl.reasons],
        "tree": step_json(expl.tree) if expl.tree is not None else None,
    }


def document_json(target: Target, items: Sequence[tuple[EventLabel, Explanation]]) -> dict[str, Any]:
    """The whole ``--json`` document (schema ``detector-explain/1``, see docs/authoring.md)."""
    return {
        "schema": SCHEMA,
        "target": target_json(target),
        "events": [explanation_json(label, expl) for label, expl in items],
        "summary": {
            "events": len(items),
            "matched": sum(1 for _, e in items if e.result),
            "fired": sum(1 for _, e in items if e.fired),
        },
    }
