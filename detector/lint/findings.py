"""Lint findings: a stable code, a severity, a message and where in which rules file."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final, Literal

Severity = Literal["error", "warning", "info"]
SEVERITY_ORDER: Final[dict[str, int]] = {"error": 0, "warning": 1, "info": 2}

LINT_UNUSED_MACRO: Final = "LINT_UNUSED_MACRO"
LINT_UNUSED_LIST: Final = "LINT_UNUSED_LIST"
LINT_NEVER_FIRES: Final = "LINT_NEVER_FIRES"
LINT_DUPLICATE_RULE: Final = "LINT_DUPLICATE_RULE"
LINT_DUPLICATE_MACRO: Final = "LINT_DUPLICATE_MACRO"
LINT_DUPLICATE_LIST: Final = "LINT_DUPLICATE_LIST"
LINT_TYPE_MISMATCH: Final = "LINT_TYPE_MISMATCH"
LINT_UNKNOWN_FIELD: Final = "LINT_UNKNOWN_FIELD"
LINT_UNKNOWN_EVTTYPE: Final = "LINT_UNKNOWN_EVTTYPE"
LINT_VALUE_OUT_OF_RANGE: Final = "LINT_VALUE_OUT_OF_RANGE"
LINT_VALUE_NOT_IN_DOMAIN: Final = "LINT_VALUE_NOT_IN_DOMAIN"
LINT_EMPTY_LIST: Final = "LINT_EMPTY_LIST"
LINT_EMPTY_NAMED_LIST: Final = "LINT_EMPTY_NAMED_LIST"
LINT_REGEX_SIMPLE: Final = "LINT_REGEX_SIMPLE"
LINT_NO_EVTTYPE: Final = "LINT_NO_EVTTYPE"

TITLES: Final[dict[str, str]] = {
    LINT_UNUSED_MACRO: "Macro not used by any rule",
    LINT_UNUSED_LIST: "List not used by any rule",
    LINT_NEVER_FIRES: "Rule can never fire",
    LINT_DUPLICATE_RULE: "Rule defined more than once",
    LINT_DUPLICATE_MACRO: "Macro defined more than once",
    LINT_DUPLICATE_LIST: "List defined more than once",
    LINT_TYPE_MISMATCH: "Value cannot have the field's type",
    LINT_UNKNOWN_FIELD: "Unknown field",
    LINT_UNKNOWN_EVTTYPE: "Unknown event type",
    LINT_VALUE_OUT_OF_RANGE: "Number out of the field's range",
    LINT_VALUE_NOT_IN_DOMAIN: "Value the field never takes",
    LINT_EMPTY_LIST: "Comparison with an empty list",
    LINT_EMPTY_NAMED_LIST: "Comparison with lists that are all empty",
    LINT_REGEX_SIMPLE: "Regex a simpler operator would do",
    LINT_NO_EVTTYPE: "Condition has no event-type restriction",
}


@dataclass(frozen=True, slots=True)
class Finding:
    """One lint finding.

    ``file``/``line``/``column`` (1-based) is the most precise place known: the offending
    check inside a condition when it can be traced back to the file, else the item itself.
    ``item_kind``/``item_name`` name the rules-file item (``rule``, ``macro``, ``list``).
    """

    code: str
    message: str
    severity: Severity
    file: str
    line: int
    column: int
    item_kind: str
    item_name: str
    snippet: str = ""

    @property
    def title(self) -> str:
        return TITLES.get(self.code, "")

    @property
    def where(self) -> str:
        return f"{self.file}:{self.line}:{self.column}"

    def describe(self) -> str:
        """The finding in the layout ``detector validate`` uses for Falco's warnings."""
        lines = [f"In {self.item_kind} '{self.item_name}': ({self.where})"]
        if self.snippet:
            lines += ["------", self.snippet, "------"]
        lines.append(f"{self.code} ({self.title}, {self.severity}): {self.message}")
        return "\n".join(lines)

    def to_json(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "codedesc": self.title,
            "severity": self.severity,
            "message": self.message,
            "file": self.file,
            "line": self.line,
            "column": self.column,
            "item_type": self.item_kind,
            "item_name": self.item_name,
            "snippet": self.snippet,
        }
