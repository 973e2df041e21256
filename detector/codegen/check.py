"""Semantic analysis: the AST resolved against a source's fields, typed, with Falco's errors.

``check_expr`` turns a condition AST into a small typed tree (``CAnd``/``COr``/
``CNot``/``Check``) in which every field is bound, every transformer typed
and every right-hand literal parsed for its field's type.  It raises
``ConditionCompileError`` with Falco's messages (unknown field, operator not
supported for the type, bad number/boolean/address, NUL byte, bad hex, bad
regex, ``val()`` misuse, field argument rules) located at the offending node,
and collects the compiler's warnings.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, TypeAlias

from detector.errors import ConditionCompileError
from detector.fields.events import EVENT_TYPE_NAMES
from detector.fields.operators import (
    comparable_error,
    compile_regex,
    regex_is_simple,
    transformed_type,
)
from detector.fields.registry import BoundField, FieldSource, Loader, get_source
from detector.fields.types import STRING_TYPES, FieldType, LiteralError, parse_hex_bytes, parse_literal
from detector.language.ast import (
    And,
    BinaryCheck,
    Expr,
    FieldRef,
    ListValue,
    MacroRef,
    Node,
    Not,
    Or,
    Transform,
    TransformerList,
    UnaryCheck,
    Value,
)
from detector.language.frozen import constructor

SINGLE_TRANSFORMERS = frozenset({"tolower", "toupper", "b64", "basename", "len"})
MULTI_TRANSFORMERS = frozenset({"join", "concat", "getopt"})
_CMPOP_NAMES = {"regex": "REGEX", "pmatch": "PMATCH"}
# Literal types whose value is the text itself, and the operators that parse it otherwise.
_TEXT_TYPES = STRING_TYPES | {FieldType.SOCKADDR, FieldType.SOCKFAMILY}
_PARSING_OPS = frozenset({"bcontains", "bstartswith", "regex"})
# A constant starting like a transformer call: ``tolower(``...
_TRANSFORMER_CALLS = tuple(sorted(t + "(" for t in SINGLE_TRANSFORMERS | MULTI_TRANSFORMERS))


@dataclass(frozen=True, slots=True, eq=False)
class FieldOperand:
    bound: BoundField
    node: FieldRef

    @property
    def ftype(self) -> FieldType:
        return self.bound.type

    @property
    def is_list(self) -> bool:
        return self.bound.is_list

    @property
    def name(self) -> str:
        return self.bound.info.name


@dataclass(frozen=True, slots=True, eq=False)
class ConstOperand:
    """A literal transformer argument; always text."""

    value: str
    ftype: FieldType = FieldType.CHARBUF
    is_list: bool = False
    name: str = "INTERNAL"


@dataclass(frozen=True, slots=True, eq=False)
class ListOperand:
    """A transformer list ``(a, "b", 1)``: a list of text values."""

    items: tuple[Operand, ...]
    ftype: FieldType = FieldType.CHARBUF
    is_list: bool = True
    name: str = "INTERNAL"


@dataclass(frozen=True, slots=True, eq=False)
class TransformOperand:
    name: str
    args: tuple[Operand, ...]
    selector: str | None
    ftype: FieldType
    is_list: bool


Operand: TypeAlias = FieldOperand | ConstOperand | ListOperand | TransformOperand


@dataclass(frozen=True, slots=True, eq=False)
class Check:
    """One comparison.  ``values`` are the parsed right-hand literals, ``rhs`` a right-hand operand."""

    node: BinaryCheck | UnaryCheck
    lhs: Operand
    op: str
    modifier: str | None = None
    values: tuple[Any, ...] = ()
    rhs: Operand | None = None
    texts: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True, eq=False)
class CAnd:
    children: tuple[CExpr, ...]


@dataclass(frozen=True, slots=True, eq=False)
class COr:
    children: tuple[CExpr, ...]


@dataclass(frozen=True, slots=True, eq=False)
class CNot:
    child: CExpr


CExpr: TypeAlias = CAnd | COr | CNot | Check


@dataclass(frozen=True, slots=True)
class Checked:
    """The result of ``check_expr``."""

    root: CExpr
    warnings: tuple[str, ...] = ()
    fields: tuple[BoundField, ...] = ()


# The typed tree is built once per check; without the frozen dataclasses' slow __init__.
_new_check = constructor(Check)
_new_and = constructor(CAnd)
_new_or = constructor(COr)
_new_not = constructor(CNot)
_new_field_operand = constructor(FieldOperand)


def offset_of(node: Node | None) -> int:
    span = getattr(node, "span", None)
    return span.start if span is not None else 0


@contextmanager
def deep_recursion(depth_hint: int = 0) -> Iterator[None]:
    """Room on the Python stack for walking a tree ``depth_hint`` levels deep."""
    import sys

    needed = 4 * depth_hint + 2000
    previous = sys.getrecursionlimit()
    if needed > previous:
        sys.setrecursionlimit(needed)
    try:
        yield
    finally:
        if needed > previous:
            sys.setrecursionlimit(previous)


def expr_depth(expr: Expr) -> int:
    """Nesting depth of and/or/not, computed without recursion."""
    best = 1
    stack: list[tuple[Expr, int]] = [(expr, 1)]
    while stack:
        node, depth = stack.pop()
        kind = node.__class__
        if kind is And or kind is Or:
            depth += 1
            if depth > best:
                best = depth
            stack.extend([(c, depth) for c in node.children])  # type: ignore[union-attr]
        elif kind is Not:
            depth += 1
            if depth > best:
                best = depth
            stack.append((node.child, depth))  # type: ignore[union-attr]
    return best


class _Checker:
    def __init__(self, source: FieldSource, text: str) -> None:
        self.source = source
        self.text = text
        self.warnings: list[str] = []
        self.fields: list[BoundField] = []

    def error(self, message: str, node: Node | None) -> ConditionCompileError:
        return ConditionCompileError(message, self.text, offset_of(node))

    def locate(self, exc: ConditionCompileError, node: Node | None) -> ConditionCompileError:
        exc.text = self.text
        exc.offset = offset_of(node)
        return exc

    # -- boolean structure -------------------------------------------------------------------

    def expr(self, node: Expr) -> CExpr:
        if isinstance(node, And):
            return _new_and(tuple(self.expr(c) for c in node.children))
        if isinstance(node, Or):
            return _new_or(tuple(self.expr(c) for c in node.children))
        if isinstance(node, Not):
            return _new_not(self.expr(node.child))
        if isinstance(node, UnaryCheck):
            return self.unary(node)
        if isinstance(node, BinaryCheck):
            return self.binary(node)
        if isinstance(node, MacroRef):
            raise self.error(f"Undefined macro '{node.name}' used in filter.", node)
        raise self.error(f"unexpected node {type(node).__name__}", node)

    # -- operands ----------------------------------------------------------------------------

    def field(self, node: FieldRef) -> FieldOperand:
        try:
            bound = self.source.bind(node.name, node.arg)
        except ConditionCompileError as exc:
            raise self.locate(exc, node) from None
        self.fields.append(bound)
        return _new_field_operand(bound, node)

    def operand(self, node: Node) -> Operand:
        """A left-hand side or transformer argument (never ``val()``)."""
        if isinstance(node, FieldRef):
            return self.field(node)
        if isinstance(node, Transform):
            if node.name == "val":
                raise self.error(
                    "'val' transformer can only be used on the right-hand side of a comparison", node
                )
            return self.transform(node)
        if isinstance(node, Value):
            return ConstOperand(node.text)
        if isinstance(node, TransformerList):
            return ListOperand(tuple(self.operand(item) for item in node.items))
        raise self.error(f"unexpected operand {type(node).__name__}", node)

    def transform(self, node: Transform) -> TransformOperand:
        if node.name in SINGLE_TRANSFORMERS:
            return self.single_transform(node)
        if node.name in MULTI_TRANSFORMERS:
            return self.multi_transform(node)
        raise self.error(f"unknown transformer '{node.name}'", node)

    def single_transform(self, node: Transform) -> TransformOperand:
        if node.arg is not None:
            raise self.error(f"filter error: transformer '{node.name}' does not support field arguments", node)
        if len(node.args) != 1 or not isinstance(node.args[0], FieldRef | Transform):
            raise self.error(f"transformer '{node.name}' takes exactly one field argument", node)
        inner = self.operand(node.args[0])
        if isinstance(inner, FieldOperand) and inner.bound.info.no_transformer:
            raise self.error(f"field '{inner.name}' does not support transformers", node)
        result = transformed_type(node.name, inner.ftype, inner.is_list)
        if result is None:
            where = "list field" if inner.is_list else "field"
            raise self.error(
                f"can't add field transformer: type '{inner.ftype.value}' is not supported by "
                f"'{node.name}' transformer applied on {where} '{inner.name}'",
                node,
            )
        return TransformOperand(node.name, (inner,), None, result[0], result[1])

    def multi_transform(self, node: Transform) -> TransformOperand:
        args = tuple(self.operand(a) for a in node.args)
        name = node.name
        if name == "join":
            if len(args) != 2:
                raise self.error("join() requires exactly 2 arguments: separator and list", node)
            if args[0].is_list:
                raise self.error("join() first argument (separator) must be a single value, not a list", node)
            if not args[1].is_list:
                raise self.error("join() second argument must be a list", node)
        elif name == "concat":
            if len(args) < 2:
                raise self.error("concat() requires at least 2 arguments", node)
            if any(a.ftype is not FieldType.CHARBUF or a.is_list for a in args):
                raise self.error("concat() arguments must be strings", node)
        else:
            if len(args) != 2:
                raise self.error("getopt() requires exactly 2 arguments: args list and optstring", node)
            if not args[0].is_list:
                raise self.error("getopt() first argument must be a list", node)
            if args[1].is_list:
                raise self.error("getopt() second argument (optstring) must be a single value", node)
            if args[0].ftype is not FieldType.CHARBUF or args[1].ftype is not FieldType.CHARBUF:
                raise self.error("getopt() arguments must be strings", node)
        if node.arg is not None and name != "getopt":
            raise self.error(f"filter error: transformer '{name}' does not support field arguments", node)
        if name == "getopt":
            if node.arg is not None and len(node.arg) != 1:
                raise self.error("getopt() field argument must be a single option character", node)
            return TransformOperand(name, args, node.arg, FieldType.CHARBUF, node.arg is None)
        return TransformOperand(name, args, None, FieldType.CHARBUF, False)

    # -- checks ------------------------------------------------------------------------------

    def unary(self, node: UnaryCheck) -> Check:
        lhs = self.lhs(node.left)
        return _new_check(node, lhs, node.op, None, (), None, ())

    def lhs(self, node: Node) -> Operand:
        if isinstance(node, Transform) and node.name == "val":
            raise self.error("'val' transformer can only be used on the right-hand side of a comparison", node)
        return self.operand(node)

    def binary(self, node: BinaryCheck) -> Check:
        left = node.left
        lhs = self.field(left) if isinstance(left, FieldRef) else self.lhs(left)
        op = node.op
        problem = comparable_error(op, lhs.ftype, lhs.is_list)
        if problem is not None:
            legacy = legacy_list_operand(lhs, op)
            if legacy is None:
                raise self.error(problem, node)
            lhs = legacy
        right = node.right
        if isinstance(right, Transform):
            rhs = self.rhs_operand(lhs, op, right)
            return _new_check(node, lhs, op, node.modifier, (), rhs, ())
        texts = right.items if isinstance(right, ListValue) else (right.text,)
        values = self.literals(lhs, op, texts, right)
        self.warn_values(op, texts)
        return _new_check(node, lhs, op, node.modifier, values, None, tuple(texts))

    def rhs_operand(self, lhs: Operand, op: str, node: Transform) -> Operand:
        if node.name == "val":
            if node.arg is not None:
                raise self.error("filter error: transformer 'val' does not support field arguments", node)
            if len(node.args) != 1 or not isinstance(node.args[0], FieldRef):
                raise self.error("'val' transformer accepts exactly one field argument", node)
            rhs: Operand = self.field(node.args[0])
        else:
            rhs = self.transform(node)
        if op in ("pmatch", "regex"):
            raise self.error(f"operator '{_CMPOP_NAMES[op]}' doesn't support right-hand side fields", node)
        if lhs.ftype in (FieldType.IPNET, FieldType.IPV4NET, FieldType.IPV6NET):
            raise self.error("field type 'IPNET' doesn't support right-hand side fields", node)
        if isinstance(lhs, FieldOperand) and lhs.bound.info.no_rhs:
            raise self.error(f"field '{lhs.name}' doesn't support right-hand side fields", node)
        if isinstance(rhs, FieldOperand) and rhs.bound.info.no_rhs:
            raise self.error(f"field '{rhs.name}' can't be used as a right-hand side field", node)
        if lhs.ftype is not rhs.ftype or lhs.is_list != rhs.is_list:
            raise self.error(
                f"field '{lhs.name}' has type '{lhs.ftype.value}{' (list)' if lhs.is_list else ''}' "
                f"while the right-hand side field '{rhs.name}' has incompatible type "
                f"'{rhs.ftype.value}{' (list)' if rhs.is_list else ''}'",
                node,
            )
        return rhs

    def literals(self, lhs: Operand, op: str, texts: Sequence[str], node: Node) -> tuple[Any, ...]:
        """Each right-hand text parsed for the left-hand type; the first bad one raises."""
        ftype = lhs.ftype
        nul_ok = ftype is FieldType.BYTEBUF
        event_type = (
            isinstance(lhs, FieldOperand)
            and lhs.name == "evt.type"
            and lhs.bound.arg is None
            and self.source.kind == "syscall"
        )
        if ftype in _TEXT_TYPES and op not in _PARSING_OPS:
            # the value of a string literal is its text (parse_literal's first case)
            for text in texts:
                if "\0" in text:
                    raise self.error("filter error: filter value cannot contain a NUL byte (\\x00)", node)
                if event_type and text not in EVENT_TYPE_NAMES:
                    raise self.error(f"unknown event type {text}", node)
            return tuple(texts)
        if op in ("bcontains", "bstartswith"):
            parse: Callable[[str], Any] = parse_hex_bytes
        elif op == "regex":
            parse = _checked_regex
        else:
            def parse(text: str) -> Any:
                return parse_literal(ftype, text)
        values: list[Any] = []
        for text in texts:
            if not nul_ok and "\0" in text:
                raise self.error("filter error: filter value cannot contain a NUL byte (\\x00)", node)
            try:
                value = parse(text)
            except LiteralError as exc:
                raise self.error(str(exc), node) from None
            if event_type and text not in EVENT_TYPE_NAMES:
                raise self.error(f"unknown event type {text}", node)
            values.append(value)
        return tuple(values)

    def warn_values(self, op: str, texts: Sequence[str]) -> None:
        field_prefix = self.source.field_prefix
        for text in texts:
            if field_prefix(text) is not None:
                self.warnings.append(f"'{text}' may be a valid field misused as a const string value")
            elif text.startswith(_TRANSFORMER_CALLS):
                self.warnings.append(
                    f"'{text}' may be a valid field transformer misused as a const string value"
                )
            if op == "regex" and regex_is_simple(text):
                self.warnings.append(
                    f"regex check with '{text}' may be optimized with simpler operators such as "
                    "'=', 'contains', 'startswith', 'endswith'"
                )


def _checked_regex(pattern: str) -> str:
    """A ``regex`` operand stays text once RE2 accepts it."""
    compile_regex(pattern)
    return pattern


def check_expr(expr: Expr, source: str | FieldSource = "syscall", text: str = "") -> Checked:
    """The typed form of ``expr``; raises ``ConditionCompileError`` located in ``text``."""
    try:
        resolved = get_source(source)
    except ConditionCompileError as exc:
        exc.text = text
        raise
    checker = _Checker(resolved, text)
    with deep_recursion(expr_depth(expr)):
        root = checker.expr(expr)
    return Checked(root, tuple(checker.warnings), tuple(checker.fields))


def legacy_list_operand(lhs: Operand, op: str) -> FieldOperand | None:
    """A k8s_audit list field under a scalar string operator, read as "any element".

    Falco's k8s audit rules from before the k8saudit plugin (the json-based
    engine) compare list-valued ``ka.*`` fields with scalar operators, such as
    ``ka.req.role.rules.resources contains "pods/exec"``.  libsinsp 0.63 rejects
    that at compile time; we accept it, deliberately, for that source only,
    with the meaning those rules were written for: true when any element of the
    list satisfies the comparison.  docs/compatibility.md records the difference.
    """
    if not isinstance(lhs, FieldOperand) or not lhs.is_list or lhs.bound.source != "k8s_audit":
        return None
    if op in ("in", "intersects", "pmatch") or comparable_error(op, lhs.ftype, False) is not None:
        return None
    bound = lhs.bound
    extract = bound.extract

    def candidates(event: Mapping[str, Any]) -> tuple[Any, ...] | None:
        values = extract(event)
        return tuple(values) if values else None

    scalar = BoundField(
        info=dataclasses.replace(bound.info, is_list=False),
        arg=bound.arg,
        key=bound.key,
        source=bound.source,
        loader=Loader("derived", fn=candidates),
        multi="any",
        extra=bound.extra,
    )
    return FieldOperand(scalar, lhs.node)
