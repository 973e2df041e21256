"""Macro references replaced by macros already expanded, touching only the referring AST.

The compiler resolves macros in definition order, as Falco does in place, so by
the time a macro or rule refers to earlier macros their bodies are final.  Then
expansion only has to rebuild the referring condition's own and/or/not skeleton
and add up known sizes, instead of walking every body again: a chain of N
macros costs O(N), not O(N^2).  Anything else (a reference to a macro not
resolved yet, an undefined macro, a loop) is left to the full resolver.
"""

from __future__ import annotations

from collections.abc import Mapping

from detector.language.ast import And, Expr, MacroRef, Not, Or
from detector.language.resolve import substitute_expanded
from detector.loader.toolchain import ToolError

_CHECK_SIZE = 3  # a check with its operands, as the language's resolver counts it


def _children(node: Expr) -> tuple[Expr, ...]:
    if isinstance(node, (And, Or)):
        return node.children
    if isinstance(node, Not):
        return (node.child,)
    return ()


def expand_resolved(expr: Expr, resolved: Mapping[str, Expr], sizes: Mapping[str, int], *,
                    max_nodes: int) -> tuple[Expr, int] | None:
    """``expr`` with references replaced from ``resolved`` and its expanded size.

    ``None`` when ``expr`` refers to a macro missing from ``resolved``; ``ToolError``
    when the expansion would exceed ``max_nodes`` nodes.
    """
    size = 0
    stack = [expr]
    while stack:
        node = stack.pop()
        kind = node.__class__
        if kind is MacroRef:
            if node.name not in resolved:  # type: ignore[union-attr]
                return None
            size += sizes[node.name]  # type: ignore[union-attr]
        elif kind is And or kind is Or:
            size += 1
            stack.extend(node.children)  # type: ignore[union-attr]
        elif kind is Not:
            size += 1
            stack.append(node.child)  # type: ignore[union-attr]
        else:
            size += _CHECK_SIZE
    if size > max_nodes:
        raise ToolError(f"expanding macros would produce {size} nodes, more than the limit of {max_nodes}",
                        0, macro="")
    return substitute_expanded(expr, resolved), size


def expanded_size(expr: Expr) -> int:
    """Node count of an expanded condition, as the resolver counts it."""
    size = 0
    stack = [expr]
    while stack:
        node = stack.pop()
        if isinstance(node, (And, Or, Not)):
            size += 1
            stack.extend(_children(node))
        else:
            size += _CHECK_SIZE
    return size
