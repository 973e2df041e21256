"""Compiled conditions: ``compile_expr`` (AST in) and ``compile_condition`` (text in)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from detector.codegen.check import CExpr, check_expr, deep_recursion, expr_depth
from detector.codegen.evttypes import evttypes as compute_evttypes
from detector.codegen.generate import generate
from detector.errors import ConditionCompileError
from detector.fields.registry import FieldSource, get_source
from detector.language.ast import Expr


@dataclass(frozen=True, slots=True, eq=False)
class CompiledCondition:
    """A condition turned into a Python function.

    ``matches(event)`` is the generated function itself; ``evttypes`` the event
    types it can match (``None``: all); ``python_source`` the generated code;
    ``fields`` the keys it reads; ``warnings`` the compiler's warnings.
    """

    matches: Callable[[Mapping[str, Any]], bool]
    evttypes: frozenset[str] | None
    python_source: str
    fields: tuple[str, ...]
    warnings: tuple[str, ...]
    source: str
    expr: Expr = field(repr=False)
    # The typed tree the code was generated from (the engine generates per-event-type code from it).
    checked: CExpr | None = field(default=None, repr=False)

    def __repr__(self) -> str:
        types = "all" if self.evttypes is None else len(self.evttypes)
        return f"<CompiledCondition source={self.source!r} evttypes={types} fields={len(self.fields)}>"


def compile_expr(expr: Expr, *, source: str | FieldSource = "syscall", text: str = "") -> CompiledCondition:
    """Compile a (macro-expanded) condition AST for ``source``.

    Raises ``ConditionCompileError`` located in ``text`` (unknown field, bad
    operator for the type, bad literal...).
    """
    resolved = get_source(source)
    checked = check_expr(expr, resolved, text)
    types = compute_evttypes(expr, text) if resolved.kind == "syscall" else None
    with deep_recursion(expr_depth(expr)):
        generated = generate(checked.root)
    try:
        code = compile(generated.source, "<condition>", "exec")
    except (SyntaxError, RecursionError, MemoryError) as exc:
        raise ConditionCompileError(f"condition too complex to compile: {exc}", text, 0) from None
    namespace = generated.namespace
    # Our own generated code; the constants it names are already bound in the namespace.
    exec(code, namespace)
    return CompiledCondition(
        namespace["_match"],
        types,
        generated.source,
        generated.keys,
        tuple(dict.fromkeys(checked.warnings)),
        resolved.name,
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
