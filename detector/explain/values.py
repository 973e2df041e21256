"""Field values as an explanation shows them: text for people, JSON for tools."""

from __future__ import annotations

import ipaddress
import json
from typing import Any

ABSENT_TEXT = "<absent>"


def value_text(value: Any, *, limit: int = 80) -> str:
    """``"bash"``, ``0``, ``true``, ``[1, 2]``, ``<absent>``; long strings cut at ``limit``."""
    if value is None:
        return ABSENT_TEXT
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        if limit and len(value) > limit:
            return json.dumps(value[:limit], ensure_ascii=False)[:-1] + f'..." ({len(value)} chars)'
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, bytes):
        return value_text(value.decode("utf-8", "backslashreplace"), limit=limit)
    if isinstance(value, tuple | list):
        return "[" + ", ".join(value_text(v, limit=limit) for v in value) + "]"
    return str(value)


def value_json(value: Any) -> Any:
    """A JSON-ready form of a typed field value (addresses as text, bytes as hex)."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, bytes):
        return {"bytes_hex": value.hex()}
    if isinstance(value, tuple | list):
        return [value_json(v) for v in value]
    if isinstance(value, ipaddress.IPv4Address | ipaddress.IPv6Address
                  | ipaddress.IPv4Network | ipaddress.IPv6Network):
        return str(value)
    return str(value)
