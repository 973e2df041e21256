"""Stage 2: the field registry per source, Falco's value types and operator semantics."""

from __future__ import annotations

from detector.errors import UnknownFieldError
from detector.fields.registry import (
    BoundField,
    FieldArgumentError,
    FieldInfo,
    FieldSource,
    fields_for,
    get_source,
    lookup,
)
from detector.fields.types import FieldType

__all__ = [
    "BoundField",
    "FieldArgumentError",
    "FieldInfo",
    "FieldSource",
    "FieldType",
    "UnknownFieldError",
    "fields_for",
    "get_source",
    "lookup",
]
