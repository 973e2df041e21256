"""Passes shared by every caller of the parser: list text substitution and macro expansion.

Lists are substituted in the condition *text* before parsing, exactly as
Falco's ``resolve_list`` does (quirks included: it is a plain substring search
bounded by delimiters, so a list name is replaced wherever it stands, not only
inside parentheses).  Macros are expanded on the AST, as Falco's
``filter_macro_resolver`` does; expanded macro bodies are shared, not copied,
since nodes are immutable.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Final

from detector.errors import MacroError
from detector.language.ast import And, Expr, MacroRef, Not, Or, Span
from detector.language.lists import substitute_lists as lists_substitute

DEFAULT_MAX_NODES: Final = 1_000_000


# --------------------------------------------------------------------------
# Lists


def resolve_lists(text: str, lists: Mapping[str, Sequence[str]]) -> tuple[str, frozenset[str]]:
    """Substitute every list of ``lists`` (in its order) into ``text``; also say which were used.

    ``lists`` maps each list name to its final items (list-in-list expansion
    and appends already applied by the caller), in definition order.
    """
    done = lists_substitute(text, ((name, tuple(items)) for name, items in lists.items()))
    return done.text, done.used


def substitute_lists(text: str, lists: Mapping[str, Sequence[str]]) -> str:
    """Falco's textual list expansion of ``text`` (see :func:`resolve_lists`)."""
    return resolve_lists(text, lists)[0]


# --------------------------------------------------------------------------
# Macros


def _children(node: Expr) -> tuple[Expr, ...]:
    if isinstance(node, And | Or):
        return node.children
    if isinstance(node, Not):
        return (node.child,)
    return ()


def _walk(expr: Expr) -> Iterator[Expr]:
    """Boolean-position nodes of ``expr``, depth first, left to right (macro references live there)."""
    stack = [expr]
    while stack:
        node = stack.pop()
        yield node
        stack.extend(reversed(_children(node)))


def macro_refs(expr: Expr) -> frozenset[str]:
    """Names of the macros ``expr`` refers to directly."""
    return frozenset(node.name for node in _walk(expr) if isinstance(node, MacroRef))


def _size(node: Expr, sizes: Mapping[str, int]) -> int:
    """Boolean nodes and checks in ``node`` once expanded, macro sizes taken from ``sizes``."""
    return sum(sizes[sub.name] if isinstance(sub, MacroRef) else 1 for sub in _walk(node))


class _Analysis:
    """Memoised walk of the macro graph reachable from an expression.

    Mirrors Falco's resolver: depth first, left to right, a macro met again on
    its own expansion path is a loop.  Loop errors win over undefined macros,
    whichever comes first (Falco reports errors before unknown macros).
    """

    def __init__(self, macros: Mapping[str, Expr], max_nodes: int, text: str) -> None:
        self.macros = macros
        self.max_nodes = max_nodes
        self.text = text
        self.sizes: dict[str, int] = {}
        self.loop: MacroRef | None = None
        self.unknown: MacroRef | None = None

    def run(self, expr: Expr) -> None:
        # Each frame: the reference being expanded (None for the root) and the
        # references still to visit in its body.
        on_path: set[str] = set()
        frames: list[tuple[MacroRef | None, list[MacroRef]]] = [(None, self._refs(expr))]
        while frames:
            via, pending = frames[-1]
            if pending:
                ref = pending.pop()
                target = ref.name
                if target not in self.macros:
                    self.unknown = self.unknown or ref
                elif target in on_path:
                    self.loop = self.loop or ref
                elif target not in self.sizes:
                    on_path.add(target)
                    frames.append((ref, self._refs(self.macros[target])))
                continue
            frames.pop()
            if via is None:
                break
            name = via.name
            on_path.discard(name)
            if self.loop is None and self.unknown is None:
                self.sizes[name] = size = _size(self.macros[name], self.sizes)
                if size > self.max_nodes:
                    raise _error(
                        via,
                        f"expanding macro '{name}' would produce {size} nodes, "
                        f"more than the limit of {self.max_nodes}",
                        self.text,
                    )
            else:
                # keep walking: a loop found later still outranks an undefined macro
                self.sizes.setdefault(name, 0)

    @staticmethod
    def _refs(expr: Expr) -> list[MacroRef]:
        # reversed so that pop() yields them left to right
        refs = [node for node in _walk(expr) if isinstance(node, MacroRef)]
        refs.reverse()
        return refs


def _error(ref: MacroRef, message: str, text: str) -> MacroError:
    span: Span | None = ref.span
    return MacroError(message, text, span.start if span else 0, macro=ref.name, span=span)


def expand_macros(
    expr: Expr,
    macros: Mapping[str, Expr],
    *,
    max_nodes: int = DEFAULT_MAX_NODES,
    text: str = "",
) -> Expr:
    """``expr`` with every macro reference replaced by the macro's (recursively expanded) body.

    ``macros`` holds the macros visible to ``expr`` with their parsed bodies.
    Raises :class:`MacroError` for a reference loop, an undefined macro
    (Falco's messages) or an expansion larger than ``max_nodes`` nodes, which is
    found without building it.  ``text`` is the condition text errors point into.
    """
    analysis = _Analysis(macros, max_nodes, text)
    analysis.run(expr)
    if analysis.loop is not None:
        raise _error(analysis.loop, f"reference loop in macro '{analysis.loop.name}'", text)
    if analysis.unknown is not None:
        raise _error(analysis.unknown, f"Undefined macro '{analysis.unknown.name}' used in filter.", text)
    total = _size(expr, analysis.sizes)
    if total > max_nodes:
        raise MacroError(
            f"expanding macros would produce {total} nodes, more than the limit of {max_nodes}",
            text,
            0,
            macro="",
            span=None,
        )
    expanded: dict[str, Expr] = {}
    # analysis.sizes is filled in post-order: every macro's references come before it
    for name in analysis.sizes:
        expanded[name] = substitute_expanded(macros[name], expanded)
    return substitute_expanded(expr, expanded)


def substitute_expanded(expr: Expr, expanded: Mapping[str, Expr]) -> Expr:
    """``expr`` with references replaced from ``expanded`` (bodies already expanded).

    Only the referring condition's and/or/not skeleton is rebuilt, bottom-up and
    without recursion; untouched subtrees (and every check) are shared.
    """
    kind = expr.__class__
    if kind is MacroRef:
        return expanded[expr.name]  # type: ignore[union-attr]
    if kind is not And and kind is not Or and kind is not Not:
        return expr
    # Frames of the skeleton walk: a node, its children, the rebuilt ones so far and
    # whether any of them changed.
    frames: list[tuple[Expr, tuple[Expr, ...], list[Expr]]] = [(expr, _children(expr), [])]
    changed: list[bool] = [False]
    while True:
        node, kids, done = frames[-1]
        if len(done) < len(kids):
            kid = kids[len(done)]
            kid_kind = kid.__class__
            if kid_kind is MacroRef:
                done.append(expanded[kid.name])  # type: ignore[union-attr]
                changed[-1] = True
            elif kid_kind is And or kid_kind is Or or kid_kind is Not:
                frames.append((kid, _children(kid), []))
                changed.append(False)
            else:
                done.append(kid)
            continue
        frames.pop()
        rebuilt: Expr
        if not changed.pop():
            rebuilt = node
        elif node.__class__ is Not:
            rebuilt = Not(done[0], span=node.span)
        elif node.__class__ is And:
            rebuilt = And(tuple(done), span=node.span)
        else:
            rebuilt = Or(tuple(done), span=node.span)
        if not frames:
            return rebuilt
        frames[-1][2].append(rebuilt)
        if rebuilt is not node:
            changed[-1] = True
