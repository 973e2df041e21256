"""Compiled conditions: ``compile_expr`` (AST in) and ``compile_condition`` (text in)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from detector.codegen.check import (
    CAnd,
    CExpr,
    Check,
    CNot,
    COr,
    ListOperand,
    Operand,
    TransformOperand,
    check_expr,
    deep_recursion,
    expr_depth,
)
from detector.codegen.codecache import compile_cached
from detector.codegen.evttypes import evttypes as compute_evttypes
from detector.codegen.generate import SPLIT_DEPTH, Generated, generate
from detector.errors import ConditionCompileError
from detector.fields.registry import FieldSource, get_source
from detector.language.ast import Expr

Matcher = Callable[[Mapping[str, Any]], bool]

# A lazily built function must never fail where the eager one would have failed at load time.
# Python's compiler refuses about 200 nested parentheses (and very large code).  Generated code
# opens at most two per and/or/not level down to ``SPLIT_DEPTH`` (deeper subtrees become helper
# functions), one per transformer or list around an operand and a few per check; so a tree
# nested at most ``LAZY_MAX_NESTING`` levels (and/or/not levels past ``SPLIT_DEPTH`` not
# counted) and no larger than ``LAZY_MAX_NODES`` stays far from those limits.  Any other is
# compiled at once, where a failure is reported as before.
LAZY_MAX_NESTING: Final = 64
LAZY_MAX_NODES: Final = 20000


class _Code:
    """A condition's generated Python code and function, both built on first use.

    ``matches`` is the function once built; before that, a stand-in that builds it on its
    first call (so holding ``matches`` does not build anything).
    """

    __slots__ = ("_root", "_depth", "_text", "_generated", "_function", "matches")

    def __init__(self, root: CExpr, depth: int, text: str) -> None:
        self._root = root
        self._depth = depth
        self._text = text
        self._generated: Generated | None = None
        self._function: Matcher | None = None
        self.matches: Matcher = self._first_call

    def generated(self) -> Generated:
        found = self._generated
        if found is None:
            with deep_recursion(self._depth):
                found = self._generated = generate(self._root)
        return found

    def function(self) -> Matcher:
        found = self._function
        if found is None:
            generated = self.generated()
            try:
                code = compile_cached(generated.source, "<condition>")
            except (SyntaxError, RecursionError, MemoryError) as exc:
                raise ConditionCompileError(f"condition too complex to compile: {exc}", self._text, 0) from None
            namespace = generated.namespace
            # Our own generated code; the constants it names are already bound in the namespace.
            exec(code, namespace)
            found = self._function = self.matches = namespace["_match"]
        return found

    @property
    def built(self) -> bool:
        return self._function is not None

    def _first_call(self, event: Mapping[str, Any]) -> bool:
        return self.function()(event)


def _compiles_surely(root: CExpr) -> bool:
    """Whether the code generated for ``root`` is small and shallow enough to always compile
    (see ``LAZY_MAX_NESTING``); walks the tree without recursion, stopping at the limits."""
    nodes = 0
    stack: list[tuple[CExpr | Operand, int]] = [(root, 0)]
    while stack:
        node, nesting = stack.pop()
        nodes += 1
        if nesting > LAZY_MAX_NESTING or nodes > LAZY_MAX_NODES:
            return False
        kind = node.__class__
        if kind is Check:
            stack.append((node.lhs, nesting + 1))  # type: ignore[union-attr]
            if node.rhs is not None:  # type: ignore[union-attr]
                stack.append((node.rhs, nesting + 1))  # type: ignore[union-attr]
        elif kind is CAnd or kind is COr:
            inner = nesting + 1 if nesting < SPLIT_DEPTH else nesting
            stack.extend((child, inner) for child in node.children)  # type: ignore[union-attr]
        elif kind is CNot:
            stack.append((node.child, nesting + 1 if nesting < SPLIT_DEPTH else nesting))  # type: ignore[union-attr]
        elif kind is TransformOperand:
            stack.extend((arg, nesting + 1) for arg in node.args)  # type: ignore[union-attr]
        elif kind is ListOperand:
            stack.extend((item, nesting + 1) for item in node.items)  # type: ignore[union-attr]
    return True


@dataclass(frozen=True, slots=True, eq=False)
class CompiledCondition:
    """A condition turned into a Python function.

    ``matches(event)`` is the generated function; ``evttypes`` the event types it can match
    (``None``: all); ``python_source`` the generated code; ``fields`` the keys it reads;
    ``warnings`` the compiler's warnings.  The code may be generated and compiled on first use
    (``compile_expr(..., lazy=True)``), only ever when that cannot fail.
    """

    evttypes: frozenset[str] | None
    warnings: tuple[str, ...]
    source: str
    code: _Code = field(repr=False)
    expr: Expr = field(repr=False)
    # The typed tree the code is generated from (the engine generates per-event-type code from it).
    checked: CExpr | None = field(default=None, repr=False)

    @property
    def matches(self) -> Matcher:
        return self.code.matches

    @property
    def python_source(self) -> str:
        return self.code.generated().source

    @property
    def fields(self) -> tuple[str, ...]:
        return self.code.generated().keys

    @property
    def built(self) -> bool:
        """Whether the function is compiled already (it was used, or compiled eagerly)."""
        return self.code.built

    def __repr__(self) -> str:
        types = "all" if self.evttypes is None else len(self.evttypes)
        return f"<CompiledCondition source={self.source!r} evttypes={types} fields={len(self.fields)}>"


def compile_expr(expr: Expr, *, source: str | FieldSource = "syscall", text: str = "",
                 lazy: bool = False) -> CompiledCondition:
    """Compile a (macro-expanded) condition AST for ``source``.

    Raises ``ConditionCompileError`` located in ``text`` (unknown field, bad
    operator for the type, bad literal...).  With ``lazy`` the Python code is generated
    and compiled on first use of ``matches`` (or ``python_source``), when it cannot fail.
    """
    resolved = get_source(source)
    checked = check_expr(expr, resolved, text)
    types = compute_evttypes(expr, text) if resolved.kind == "syscall" else None
    code = _Code(checked.root, expr_depth(expr), text)
    if not lazy or not _compiles_surely(checked.root):
        code.function()
    return CompiledCondition(
        types,
        tuple(dict.fromkeys(checked.warnings)),
        resolved.name,
        code,
        expr,
        checked.root,
    )


@dataclass(frozen=True, slots=True, eq=False)
class Condition:
    """A condition compiled from text, as ``detector.compile_condition`` returns it."""

    text: str
    compiled: CompiledCondition
    matches: Callable[[Mapping[str, Any]], bool]

    @property
    def evttypes(self) -> frozenset[str] | None:
        return self.compiled.evttypes

    @property
    def python_source(self) -> str:
        return self.compiled.python_source

    @property
    def fields(self) -> tuple[str, ...]:
        return self.compiled.fields

    @property
    def warnings(self) -> tuple[str, ...]:
        return self.compiled.warnings

    @property
    def source(self) -> str:
        return self.compiled.source

    @property
    def expr(self) -> Expr:
        return self.compiled.expr

    def __repr__(self) -> str:
        return f"Condition({self.text!r})"


def _list_items(items: Sequence[Any] | str) -> list[str]:
    if isinstance(items, str):
        return [items]
    return [str(i) for i in items]


def compile_condition(
    text: str,
    *,
    source: str | FieldSource = "syscall",
    lists: Mapping[str, Sequence[Any]] | None = None,
    macros: Mapping[str, str] | None = None,
) -> Condition:
    """Compile condition text.

    ``lists`` maps list names to items (substituted into the text before
    parsing, as Falco does); ``macros`` maps macro names to condition text
    (each parsed, then expanded into the condition's AST).  Raises
    ``ConditionSyntaxError`` or ``ConditionCompileError``.
    """
    from detector.language import parse, resolve

    list_map = {name: _list_items(items) for name, items in (lists or {}).items()}
    substituted = resolve.substitute_lists(text, list_map) if list_map else text
    expr = parse(substituted)
    if macros:
        macro_asts: dict[str, Expr] = {}
        for name, body in macros.items():
            macro_text = resolve.substitute_lists(body, list_map) if list_map else body
            macro_asts[name] = parse(macro_text)
        expr = resolve.expand_macros(expr, macro_asts, text=substituted)
    compiled = compile_expr(expr, source=source, text=substituted)
    return Condition(text, compiled, compiled.matches)


__all__ = ["CompiledCondition", "Condition", "compile_condition", "compile_expr"]
