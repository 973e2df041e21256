"""Helpers shared by the parser tests."""

from __future__ import annotations

import dataclasses
from typing import Any


def with_spans(node: Any) -> Any:
    """Everything about a syntax node, its span included (equality leaves spans out)."""
    if isinstance(node, tuple):
        return tuple(with_spans(x) for x in node)
    if dataclasses.is_dataclass(node) and not isinstance(node, type):
        return (type(node).__name__,) + tuple(
            (f.name, with_spans(getattr(node, f.name))) for f in dataclasses.fields(node))
    return node
