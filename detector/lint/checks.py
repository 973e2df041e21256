"""What one comparison can tell on its own: values its field can never have, empty lists,
regexes a plain operator would do, numbers the field's type cannot hold.

``check_problems`` reports them for a check as written; ``static_truth`` says whether a check
is true or false whatever the event (``None``: it depends), for the never-fires analysis.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

from detector.errors import ConditionCompileError
from detector.fields.events import EVENT_TYPE_NAMES
from detector.fields.operators import regex_is_simple
from detector.fields.registry import BoundField, FieldSource
from detector.fields.types import FieldType, LiteralError, int_spec, parse_hex_bytes, parse_literal
from detector.language import as_string
from detector.language.ast import BinaryCheck, Expr, FieldRef, ListValue, Transform, UnaryCheck, Value
from detector.lint import findings as F

# Fields whose values come from a small fixed set (libsinsp: fd type characters, the
# fd.l4proto names, the event direction).
DOMAINS: Final[dict[str, frozenset[str]]] = {
    "fd.typechar": frozenset("f46dpueoXsltinbrmP"),
    "fd.l4proto": frozenset({"tcp", "udp", "icmp", "raw", "<NA>"}),
    "evt.dir": frozenset({"<", ">"}),
}
_EQUALITY: Final = frozenset({"=", "==", "in"})
_LIST_OPS: Final = frozenset({"in", "intersects", "pmatch"})
_RAW_TEXT_OPS: Final = frozenset({"regex", "pmatch", "glob", "iglob"})
_ORDER_OPS: Final = frozenset({"<", "<=", ">", ">="})
_TYPE_FIELDS: Final = frozenset({"evt.type", "syscall.type"})


@dataclass(frozen=True, slots=True)
class Problem:
    """A finding about one check: code, message and the node it is about."""

    code: str
    message: str
    node: Expr


# The names of the lists an empty list literal was written with (empty: written as ``()``).
ListOrigin = Callable[[ListValue], tuple[str, ...]]


def bind(check: UnaryCheck | BinaryCheck, source: FieldSource) -> BoundField | None:
    """The check's left field bound for ``source`` (``None``: a transformer, or unknown)."""
    if not isinstance(check.left, FieldRef):
        return None
    try:
        return source.bind(check.left.name, check.left.arg)
    except ConditionCompileError:
        return None


def unknown_field(check: UnaryCheck | BinaryCheck, source: FieldSource) -> str | None:
    """The message for a left field ``source`` does not know, else ``None``."""
    if not isinstance(check.left, FieldRef):
        return None
    try:
        source.bind(check.left.name, check.left.arg)
    except ConditionCompileError as exc:
        return str(exc)
    return None


def _texts(check: BinaryCheck) -> tuple[str, ...]:
    right = check.right
    if isinstance(right, ListValue):
        return right.items
    assert isinstance(right, Value)
    return (right.text,)


def _int_range(ftype: FieldType) -> tuple[int, int] | None:
    spec = int_spec(ftype)
    if ftype is FieldType.PORT:
        return 0, 0xFFFF
    if spec is None:
        return None
    bits, signed = spec
    return (-(1 << (bits - 1)), (1 << (bits - 1)) - 1) if signed else (0, (1 << bits) - 1)


def _decimal(text: str) -> int | None:
    body = text.strip()
    digits = body[1:] if body[:1] in "+-" else body
    return int(body) if digits.isascii() and digits.isdigit() else None


def suggest_regex(pattern: str) -> str | None:
    """The plain operator a full-match regex stands for, when there is an exact one."""
    if not regex_is_simple(pattern):
        return None
    core = pattern.removeprefix("^").removesuffix("$")
    lead = core.startswith(".*")
    trail = core.endswith(".*")
    core = core.removeprefix(".*") if lead else core
    core = core.removesuffix(".*") if trail else core
    if any(c in "\\^$.|?*+()[]{}" for c in core):
        return None  # .+ and .? ends have no plain equivalent
    if lead and trail:
        return f"contains {core}"
    if lead:
        return f"endswith {core}"
    if trail:
        return f"startswith {core}"
    return f"= {core}"


def _range_problem(check: BinaryCheck, bound: BoundField, texts: tuple[str, ...]) -> Problem | None:
    limits = _int_range(bound.type)
    if limits is None or bound.is_list:
        return None
    low, high = limits
    field = as_string(check.left)
    for text in texts:
        value = _decimal(text)
        if value is None:
            continue
        if value > high or value < low:
            try:
                wrapped = f"Falco reads it as {parse_literal(bound.type, text)}"
            except LiteralError as exc:
                wrapped = str(exc)
            return Problem(F.LINT_VALUE_OUT_OF_RANGE,
                           f"{value} is outside the range of {field} ({bound.type.value}: {low} to {high}); "
                           f"{wrapped}", check)
        op = check.op
        never = (op == "<" and value <= low) or (op == ">" and value >= high)
        if never and check.modifier is None:
            return Problem(F.LINT_VALUE_OUT_OF_RANGE,
                           f"{as_string(check)} is never true: {field} ({bound.type.value}) is "
                           f"{'at least' if op == '<' else 'at most'} {low if op == '<' else high}", check)
    return None


def _domain_problem(check: BinaryCheck, bound: BoundField, texts: tuple[str, ...]) -> Problem | None:
    domain = DOMAINS.get(bound.info.name)
    if domain is None or check.modifier is not None or check.op not in _EQUALITY | {"!="}:
        return None
    outside = [t for t in texts if t not in domain]
    if not outside:
        return None
    field = as_string(check.left)
    shown = ", ".join(sorted(domain))
    return Problem(F.LINT_VALUE_NOT_IN_DOMAIN,
                   f"{field} is never {', '.join(repr(t) for t in outside)} (its values: {shown})", check)


def check_problems(check: UnaryCheck | BinaryCheck, source: FieldSource, origin: ListOrigin) -> list[Problem]:
    """What is wrong with ``check`` on its own, for fields of ``source``."""
    if isinstance(check, UnaryCheck):
        return []
    problems: list[Problem] = []
    if check.op == "regex" and isinstance(check.right, Value):
        better = suggest_regex(check.right.text)
        if better is not None:
            problems.append(Problem(F.LINT_REGEX_SIMPLE,
                                    f"regex {check.right.text!r} is a full match that "
                                    f"'{as_string(check.left)} {better}' does, without a regex engine",
                                    check))
    bound = bind(check, source)
    if bound is None or isinstance(check.right, Transform):
        return problems
    texts = _texts(check)
    if isinstance(check.right, ListValue) and not texts and check.op in _LIST_OPS:
        names = origin(check.right)
        if bound.is_list and check.op == "in":
            pass  # a list field "in ()" holds when the field's list is empty: odd, not impossible
        elif names:
            lists = ", ".join(names)
            problems.append(Problem(F.LINT_EMPTY_NAMED_LIST,
                                    f"{as_string(check.left)} {check.op} ({lists}) is never true while "
                                    f"{'this list is' if len(names) == 1 else 'these lists are'} empty",
                                    check))
        else:
            problems.append(Problem(F.LINT_EMPTY_LIST,
                                    f"{as_string(check)} is never true: the list is empty", check))
    for text in texts:
        problem = _literal_problem(check, bound, text, source)
        if problem is not None:
            problems.append(problem)
            return problems
    for found in (_range_problem(check, bound, texts), _domain_problem(check, bound, texts)):
        if found is not None:
            problems.append(found)
    return problems


def _literal_problem(check: BinaryCheck, bound: BoundField, text: str, source: FieldSource) -> Problem | None:
    field = as_string(check.left)
    try:
        if check.op in ("bcontains", "bstartswith"):
            parse_hex_bytes(text)
        elif check.op not in _RAW_TEXT_OPS:
            parse_literal(bound.type, text)
    except LiteralError as exc:
        return Problem(F.LINT_TYPE_MISMATCH,
                       f"{text!r} can never be a value of {field} ({bound.type.value}): {exc}", check)
    if (isinstance(check.left, FieldRef) and check.left.name in _TYPE_FIELDS and check.left.arg is None
            and source.kind == "syscall" and check.op in _EQUALITY | {"!="} and text not in EVENT_TYPE_NAMES):
        return Problem(F.LINT_UNKNOWN_EVTTYPE, f"{text!r} is not an event type or syscall name", check)
    return None


def static_truth(check: UnaryCheck | BinaryCheck, source: FieldSource) -> bool | None:
    """``False``/``True`` when ``check`` has that result on every event, ``None`` otherwise.

    Only facts that hold before the value is even looked at: an empty list, a value outside
    the field's domain or range.  (An absent field makes any check false, so "always true" is
    only claimed for checks that are true for every value the field can have *and* the field is
    one every event of the source has; we never claim it.)
    """
    if isinstance(check, UnaryCheck) or isinstance(check.right, Transform):
        return None
    bound = bind(check, source)
    if bound is None or bound.multi is not None:
        return None
    texts = _texts(check)
    if isinstance(check.right, ListValue) and not texts and check.op in _LIST_OPS:
        return None if (bound.is_list and check.op == "in") else False
    if check.modifier is not None or bound.is_list:
        return None
    domain = DOMAINS.get(bound.info.name)
    if domain is not None and check.op in _EQUALITY and all(t not in domain for t in texts):
        return False
    limits = _int_range(bound.type)
    if limits is not None and check.op in _ORDER_OPS | _EQUALITY:
        values = [_decimal(t) for t in texts]
        if all(v is not None for v in values):
            low, high = limits
            ints = [v for v in values if v is not None]
            if check.op in _EQUALITY and all(v < low or v > high for v in ints):
                return None  # wraps to another number: reported, but not statically false
            if check.op == "<" and ints[0] <= low or check.op == ">" and ints[0] >= high:
                return False
    return None
