"""Rule exceptions: Falco's validation of fields/comps and the condition text they add.

Falco turns exceptions into text appended to the rule condition before parsing
(``build_rule_exception_infos``); we build the same text so the compiled
condition and every quirk of quoting match.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Final

from detector.language.frozen import replace
from detector.language.lists import quote_item
from detector.loader import codes
from detector.loader.context import SourcedText
from detector.loader.infos import Entry, ExceptionInfo
from detector.loader.result import RuleLoadError

# libsinsp ``parser::supported_operators()`` and ``supported_operators(true)`` (list operators).
SUPPORTED_OPERATORS: Final = frozenset({
    "=", "==", "!=", "<=", ">=", "<", ">", "exists", "contains", "icontains", "bcontains", "glob",
    "iglob", "bstartswith", "startswith", "endswith", "in", "intersects", "pmatch", "regex",
})
LIST_OPERATORS: Final = frozenset({"in", "intersects", "pmatch"})
MODIFIABLE_OPERATORS: Final = frozenset({
    "==", "=", "!=", "contains", "icontains", "bcontains", "startswith", "bstartswith",
    "endswith", "glob", "iglob", "regex",
})
MODIFIERS: Final = frozenset({"oneof", "anyof", "allof"})

FieldCheck = Callable[[str], bool]


def normalize_comp(comp: str) -> str:
    """Comps are compared with surrounding and repeated blanks removed."""
    return " ".join(comp.split())


def is_modifier_operator(comp: str) -> bool:
    parts = comp.split(" ")
    return len(parts) == 2 and parts[0] in MODIFIABLE_OPERATORS and parts[1] in MODIFIERS


def is_operator_defined(comp: str) -> bool:
    return comp in SUPPORTED_OPERATORS or is_modifier_operator(comp)


def is_operator_for_list(comp: str) -> bool:
    return comp in LIST_OPERATORS or is_modifier_operator(comp)


def _normalized(entry: Entry) -> Entry:
    if entry.is_list:
        return replace(entry, items=tuple(_normalized(e) for e in entry.items))
    return replace(entry, item=normalize_comp(entry.item))


def validate_exception(ex: ExceptionInfo, field_known: FieldCheck | None) -> ExceptionInfo:
    """Fill default comps and check shapes, operators and fields (``validate_exception_info``).

    ``field_known`` is ``None`` for a rule of an unknown source (fields are not checked).
    """
    def fail(message: str) -> RuleLoadError:
        return RuleLoadError(codes.LOAD_ERR_VALIDATE, message, ex.ctx)

    comps = _normalized(ex.comps) if ex.comps.is_valid else ex.comps
    if ex.fields.is_list:
        if not comps.is_valid:
            comps = Entry(is_list=True, items=tuple(Entry(item="=") for _ in ex.fields.items))
        if len(ex.fields.items) != len(comps.items):
            raise fail("Fields and comps lists must have equal length")
        for c in comps.items:
            if not is_operator_defined(c.item):
                raise fail(f"'{c.item}' is not a supported comparison operator")
        if field_known is not None:
            for f in ex.fields.items:
                if not field_known(f.item):
                    raise fail(f"'{f.item}' is not a supported filter field")
    else:
        if not comps.is_valid:
            comps = Entry(item="in")
        if comps.is_list:
            raise fail("Fields and comps must both be strings")
        if not (comps.item in LIST_OPERATORS or is_modifier_operator(comps.item)):
            raise fail(
                "When fields is a single value, comps must be one of (in, pmatch, intersects) "
                "or a modifier operator (e.g. startswith oneof)"
            )
        if field_known is not None and not field_known(ex.fields.item):
            raise fail(f"'{ex.fields.item}' is not a supported filter field")
    return replace(ex, comps=comps)


def _paren_item(text: str) -> str:
    return text if text.startswith("(") else f"({text})"


def _exception_text(ex: ExceptionInfo) -> str:
    if not ex.fields.is_list:
        values: list[str] = []
        for val in ex.values:
            if val.is_list:
                raise RuleLoadError(codes.LOAD_ERR_VALIDATE,
                                    "Expected values array to contain a list of strings", ex.ctx)
            values.append(quote_item(val.item))
        if not values:
            return ""
        return f"({ex.fields.item} {ex.comps.item} ({', '.join(values)}))"
    alternatives: list[str] = []
    for values_entry in ex.values:
        if len(ex.fields.items) != len(values_entry.items):
            raise RuleLoadError(codes.LOAD_ERR_VALIDATE,
                                "Fields and values lists must have equal length", ex.ctx)
        checks: list[str] = []
        for f, c, v in zip(ex.fields.items, ex.comps.items, values_entry.items, strict=True):
            if v.is_list:
                rhs = "(" + ", ".join(quote_item(x.item) for x in v.items) + ")"
            elif is_operator_for_list(c.item):
                rhs = _paren_item(v.item)
            else:
                rhs = quote_item(v.item)
            checks.append(f" {f.item} {c.item} {rhs}")
        alternatives.append("(" + " and".join(checks) + ")")
    if not alternatives:
        return ""
    return "(" + " or ".join(alternatives) + ")"


def exception_fields(exceptions: tuple[ExceptionInfo, ...]) -> frozenset[str]:
    names: set[str] = set()
    for ex in exceptions:
        if not ex.values:
            continue
        if ex.fields.is_list:
            names.update(f.item for f in ex.fields.items)
        else:
            names.add(ex.fields.item)
    return frozenset(names)


def build_condition(cond: SourcedText, exceptions: tuple[ExceptionInfo, ...]) -> SourcedText:
    """``(cond) and not (...)`` per exception with values, exactly as Falco writes it."""
    if not exceptions:
        return cond
    first_ctx = exceptions[0].ctx
    built = cond.wrapped("(", ")", first_ctx)
    for ex in exceptions:
        text = _exception_text(ex)
        if text:
            built = built.extended(" and not " + text, ex.ctx)
    return built
