"""Field values as an alert shows them: libsinsp's text rendering and its JSON typing.

Text (``tostring``): absent is ``<NA>``, booleans ``true``/``false``, a list field
``(a,b,c)``, a byte buffer up to its first NUL, a double with one decimal.

JSON (``tojson``): numbers stay numbers, booleans booleans, absent is ``null``, a
list field is an array; everything else is a string.
"""

from __future__ import annotations

import ipaddress
import math
from typing import Any, Final

from detector.fields.types import FieldType

NA: Final = "<NA>"

JsonValue = None | bool | int | float | str | list[Any]


def text_of(value: Any, *, is_list: bool = False, any_of: bool = False) -> str:
    """The text libsinsp prints for an extracted value.

    ``is_list`` renders a list field as ``(a,b)``; ``any_of`` renders the candidates of an
    unindexed ancestor field (``proc.aname``) separated by spaces, as libsinsp does.
    """
    if value is None:
        return NA
    if isinstance(value, tuple | list):
        if is_list or not any_of:
            return "(" + ",".join(_scalar_text(v) for v in value if v is not None) + ")"
        return " ".join(_scalar_text(v) for v in value if v is not None)
    return _scalar_text(value)


def _scalar_text(value: Any) -> str:
    cls = value.__class__
    if cls is str:
        return value
    if cls is bool:
        return "true" if value else "false"
    if cls is int:
        return str(value)
    if cls is float:
        return f"{value:.1f}"
    if cls is bytes or cls is bytearray:
        return bytes(value).split(b"\0", 1)[0].decode("utf-8", "replace")
    return str(value)


def json_of(value: Any, *, is_list: bool = False) -> JsonValue:
    """The JSON value libsinsp puts in ``output_fields`` for an extracted value."""
    if value is None:
        return None
    if isinstance(value, tuple | list):
        return [_scalar_json(v) for v in value]
    return _scalar_json(value)


def _scalar_json(value: Any) -> JsonValue:
    cls = value.__class__
    if cls is str or cls is bool or cls is int:
        return value
    if cls is float:
        return value if math.isfinite(value) else None
    if cls is bytes or cls is bytearray:
        return bytes(value).split(b"\0", 1)[0].decode("utf-8", "replace")
    if isinstance(value, ipaddress.IPv4Address | ipaddress.IPv6Address):
        return str(value)
    if isinstance(value, int):  # IntEnum and friends
        return int(value)
    return str(value)


def ppm_type_number(ftype: FieldType) -> int:
    """libsinsp's numeric ``ppm_param_type`` (``PT_NONE`` is 0), as its error messages print it."""
    return list(FieldType).index(ftype) + 1
