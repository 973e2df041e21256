"""Stage 1: the condition language — text to AST, AST to text, lists and macros."""

from __future__ import annotations

from detector.language.parser import parse
from detector.language.printer import as_string
from detector.language.resolve import expand_macros, macro_refs, resolve_lists, substitute_lists

__all__ = [
    "as_string",
    "expand_macros",
    "macro_refs",
    "parse",
    "resolve_lists",
    "substitute_lists",
]
