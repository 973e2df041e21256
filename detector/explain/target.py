"""What is being explained: a rule of a loaded ruleset, or a condition typed on the command line.

A ``Target`` keeps the condition in the shape it was written (macro references unexpanded,
lists substituted as Falco substitutes them) next to the fully expanded AST the engine
compiled.  The explanation walks the first; leaf checks are evaluated by the reference
interpreter built on the second, so every result is the engine's.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from dataclasses import dataclass, field

from detector.codegen import CompiledCondition, Interpreter, compile_expr
from detector.errors import DetectorError
from detector.language import expand_macros, parse, substitute_lists
from detector.language.ast import And, Expr, Not
from detector.loader.model import CompiledRule, Ruleset


@dataclass(eq=False)
class ExplainError(DetectorError):
    """The target cannot be explained (unknown rule, a condition that does not compile...)."""

    message: str
    where: str = ""

    def __post_init__(self) -> None:
        super().__init__(self.message)

    def __str__(self) -> str:
        return f"{self.where}: {self.message}" if self.where else self.message


@dataclass(frozen=True, slots=True)
class ExceptionPart:
    """One rule exception with values: its name and the expression Falco built for it."""

    name: str
    expr: Expr


@dataclass(frozen=True, slots=True)
class Target:
    """A condition ready to be explained.

    ``condition`` is the AST as written (macro references kept); ``macros`` the parsed bodies
    those references resolve to; ``exceptions`` the rule's exception parts (each becomes
    ``and not (...)``).  ``interpreter`` and ``compiled`` are built on the expanded condition.
    """

    kind: str  # "rule" or "condition"
    text: str
    source: str
    condition: Expr
    macros: Mapping[str, Expr]
    exceptions: tuple[ExceptionPart, ...]
    interpreter: Interpreter
    compiled: CompiledCondition
    list_names: Mapping[tuple[str, ...], str] = field(default_factory=dict)
    rule: CompiledRule | None = None

    @property
    def name(self) -> str | None:
        return self.rule.name if self.rule is not None else None


def _lists(ruleset: Ruleset | None) -> dict[str, tuple[str, ...]]:
    return {lst.name: lst.items for lst in ruleset.lists} if ruleset is not None else {}


def _macros(ruleset: Ruleset | None) -> dict[str, Expr]:
    if ruleset is None:
        return {}
    return {m.name: m.parsed for m in ruleset.macros if m.parsed is not None}


def _list_names(ruleset: Ruleset | None) -> dict[tuple[str, ...], str]:
    """Item tuples back to the list they came from, to print ``(shell_programs)`` not 30 names."""
    names: dict[tuple[str, ...], str] = {}
    if ruleset is None:
        return names
    for lst in ruleset.lists:
        items = tuple(item.strip("\"'") for item in lst.items)
        if items:
            names.setdefault(items, lst.name)
    return names


def condition_target(text: str, *, source: str = "syscall", ruleset: Ruleset | None = None) -> Target:
    """A condition typed by the user; with ``ruleset``, it may use that ruleset's lists and macros.

    Raises ``ConditionSyntaxError``/``ConditionCompileError``/``MacroError`` located in the text.
    """
    lists = _lists(ruleset)
    substituted = substitute_lists(text, lists) if lists else text
    written = parse(substituted)
    macros = _macros(ruleset)
    expanded = expand_macros(written, macros, text=substituted)
    compiled = compile_expr(expanded, source=source, text=substituted)
    return Target("condition", text, source, written, macros, (), Interpreter(expanded, source), compiled,
                  _list_names(ruleset))


def find_rule(ruleset: Ruleset, name: str) -> CompiledRule:
    rule = ruleset.rule(name)
    if rule is not None:
        return rule
    close = difflib.get_close_matches(name, [r.name for r in ruleset.rules], n=3, cutoff=0.5)
    hint = f"; did you mean {', '.join(repr(c) for c in close)}?" if close else ""
    raise ExplainError(f"no rule named {name!r} in the loaded rules{hint}")


def _split_exceptions(rule: CompiledRule) -> tuple[Expr, tuple[ExceptionPart, ...]] | None:
    """The rule's own condition and its exception parts, cut out of the compiled AST.

    Falco writes ``(condition) and not (e1) and not (e2)`` for the exceptions that have
    values, in order; anything else means the AST is not of that shape (``None``).
    """
    named = [ex.name for ex in rule.exceptions if ex.values]
    if not named:
        return rule.expr, ()
    root = rule.expr
    if not isinstance(root, And) or len(root.children) != len(named) + 1:
        return None
    tail = root.children[1:]
    if not all(isinstance(part, Not) for part in tail):
        return None
    parts = tuple(ExceptionPart(name, part.child) for name, part in zip(named, tail, strict=True)
                  if isinstance(part, Not))
    return root.children[0], parts


def rule_target(ruleset: Ruleset, name: str) -> Target:
    """The rule ``name`` of ``ruleset``, with its macros as nodes and its exceptions labelled."""
    rule = find_rule(ruleset, name)
    macros = _macros(ruleset)
    written: Expr = rule.expr
    exceptions: tuple[ExceptionPart, ...] = ()
    split = _split_exceptions(rule)
    if split is not None:
        written, exceptions = split
        try:
            reparsed = parse(substitute_lists(rule.condition, _lists(ruleset)))
            # Trust the re-parse only when it expands to exactly what the engine compiled.
            if expand_macros(reparsed, macros) == written:
                written = reparsed
        except DetectorError:
            pass  # the compiled AST is always right; only the macro structure is lost
    return Target("rule", rule.condition, rule.source, written, macros, exceptions,
                  Interpreter(rule.expr, rule.source), rule.compiled, _list_names(ruleset), rule)
