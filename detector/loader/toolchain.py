"""The loader's uses of the stages above it (language, fields, codegen, outputs), in one place.

Every call the compiler makes into another stage goes through here, so the
compiler reads as Falco's algorithm and the contracts it relies on are listed once.
"""

from __future__ import annotations

from collections.abc import Container, Iterator, Mapping, MutableMapping
from dataclasses import dataclass

from detector.codegen import CompiledCondition, compile_expr
from detector.errors import (
    ConditionCompileError,
    ConditionSyntaxError,
    DetectorError,
    MacroError,
    OutputFormatError,
    UnknownFieldError,
)
from detector.fields import lookup
from detector.language import as_string as printer
from detector.language import parse as language_parse
from detector.language.ast import (
    And,
    BinaryCheck,
    Expr,
    FieldRef,
    ListValue,
    Node,
    Not,
    Or,
    Transform,
    TransformerList,
    UnaryCheck,
    Value,
)
from detector.language.resolve import expand_macros as expand
from detector.language.resolve import macro_refs as language_macro_refs
from detector.outputs.format import OutputFormat


@dataclass(eq=False)
class ToolError(DetectorError):
    """A failure reported by another stage: its message and an offset into the text, if known."""

    message: str
    offset: int | None = None
    unknown_field: bool = False
    macro: str | None = None

    def __post_init__(self) -> None:
        super().__init__(self.message)

    def __str__(self) -> str:
        return self.message


@dataclass(frozen=True, slots=True)
class CompilerWarning:
    message: str
    offset: int | None = None


def children(node: Node) -> tuple[Node, ...]:
    if isinstance(node, (And, Or)):
        return node.children
    if isinstance(node, Not):
        return (node.child,)
    if isinstance(node, UnaryCheck):
        return (node.left,)
    if isinstance(node, BinaryCheck):
        return (node.left, node.right)
    if isinstance(node, Transform):
        return node.args
    if isinstance(node, TransformerList):
        return node.items
    return ()


def walk(node: Node) -> Iterator[Node]:
    """Every node below ``node`` (itself included), depth first, left to right, without recursion."""
    stack: list[Node] = [node]
    while stack:
        current = stack.pop()
        yield current
        stack.extend(reversed(children(current)))


def macro_refs(expr: Expr) -> frozenset[str]:
    """The macros ``expr`` names (references only stand in its and/or/not skeleton)."""
    return language_macro_refs(expr)


def span_start(node: Node) -> int | None:
    span = getattr(node, "span", None)
    return None if span is None else int(span.start)


def parse(text: str) -> Expr:
    try:
        return language_parse(text)
    except ConditionSyntaxError as exc:
        raise ToolError(exc.message, exc.offset) from None
    except RecursionError:
        raise ToolError("exceeded max depth limit of 1000", None) from None


def as_string(expr: Expr, *, shared: Container[int] = (), memo: MutableMapping[int, str] | None = None) -> str:
    """The canonical text; ``shared`` subtrees (by ``id``) are written once into ``memo``."""
    return printer(expr, shared=shared, memo=memo)


def expand_macros(expr: Expr, macros: Mapping[str, Expr], *, max_nodes: int) -> Expr:
    """``expr`` with every macro reference replaced; undefined/loops/size raise ``ToolError``."""
    try:
        return expand(expr, macros, max_nodes=max_nodes)
    except MacroError as exc:
        raise ToolError(exc.message, exc.offset, macro=exc.macro) from None


def compile_condition(expr: Expr, *, source: str,
                      text: str) -> tuple[CompiledCondition, tuple[CompilerWarning, ...]]:
    """The compiled condition and the compiler's warnings; ``ToolError`` on failure.

    The Python function is built on first use (most rules only ever run inside the engine's
    per-event-type functions); every error is still raised here (``compile_expr``'s ``lazy``).
    """
    try:
        compiled = compile_expr(expr, source=source, text=text, lazy=True)
    except UnknownFieldError as exc:
        raise ToolError(exc.message, exc.offset if exc.text else None, unknown_field=True) from None
    except ConditionCompileError as exc:
        raise ToolError(exc.message, exc.offset if exc.text else None) from None
    return compiled, tuple(CompilerWarning(w) for w in compiled.warnings)


def field_known(source: str, field_expr: str) -> bool:
    """Whether ``field_expr`` (a field, or a transformer over fields) exists in ``source``."""
    try:
        expr = parse(f"{field_expr} exists")
    except ToolError:
        return False
    if not isinstance(expr, UnaryCheck):
        return False
    try:
        for node in walk(expr.left):
            if isinstance(node, FieldRef):
                lookup(source, node.name, node.arg)
    except ConditionCompileError:
        return False
    return True


def check_output(fmt: str, source: str) -> None:
    """Compile an output format; ``ToolError`` with the formatter's message on failure."""
    try:
        OutputFormat.compile(fmt, source)
    except OutputFormatError as exc:
        raise ToolError(exc.message, exc.offset) from None


def is_value(node: Node) -> bool:
    return isinstance(node, (Value, ListValue))
