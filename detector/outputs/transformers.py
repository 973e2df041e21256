"""Field transformers as they apply inside output formats (``%toupper(proc.name)``).

Each transformer checks its input type when the format is compiled, with
libsinsp's message, and maps values at render time.  A list input is mapped
element by element, except by ``len``, which counts it.  Case mapping is ASCII
only, as C's ``toupper``/``tolower`` in the C locale.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable
from typing import Any, Final

from detector.fields.types import STRING_TYPES, FieldType
from detector.outputs.values import ppm_type_number

UNARY: Final = ("tolower", "toupper", "b64", "basename", "len")
MULTI: Final = ("join", "concat", "getopt")
#: Every transformer name an output token may start with.
NAMES: Final = UNARY + MULTI

_UPPER = str.maketrans("abcdefghijklmnopqrstuvwxyz", "ABCDEFGHIJKLMNOPQRSTUVWXYZ")
_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


class TransformerTypeError(ValueError):
    """The input type is not one the transformer takes; the message is libsinsp's."""


def type_error(ftype: FieldType, name: str) -> TransformerTypeError:
    return TransformerTypeError(
        f"field type '{ppm_type_number(ftype)}' is not supported by '{name}' transformer"
    )


def result_type(name: str, ftype: FieldType, is_list: bool) -> tuple[FieldType, bool]:
    """``(type, is_list)`` of ``name`` applied to a value of ``ftype``; raises on a bad input type."""
    if name in ("tolower", "toupper", "basename"):
        if ftype not in STRING_TYPES:
            raise type_error(ftype, name)
        return ftype, is_list
    if name == "b64":
        if ftype not in (FieldType.CHARBUF, FieldType.BYTEBUF):
            raise type_error(ftype, name)
        return ftype, is_list
    if name == "len":
        if not is_list and ftype not in STRING_TYPES and ftype != FieldType.BYTEBUF:
            raise type_error(ftype, name)
        return FieldType.UINT64, False
    raise type_error(ftype, name)


def _each(fn: Callable[[Any], Any]) -> Callable[[Any], Any]:
    def apply(value: Any) -> Any:
        if value is None:
            return None
        if isinstance(value, tuple | list):
            out = tuple(r for r in (fn(v) for v in value) if r is not None)
            return out or None
        return fn(value)

    return apply


def _as_text(value: Any) -> str:
    if isinstance(value, bytes | bytearray):
        return bytes(value).decode("utf-8", "surrogateescape")
    return value if isinstance(value, str) else str(value)


def _upper(value: Any) -> Any:
    return _as_text(value).translate(_UPPER)


def _lower(value: Any) -> Any:
    return _as_text(value).translate(_LOWER)


def _basename(value: Any) -> Any:
    text = _as_text(value)
    return text[text.rfind("/") + 1 :]


def _b64(value: Any) -> Any:
    raw = value if isinstance(value, bytes | bytearray) else _as_text(value).encode("utf-8", "surrogateescape")
    raw = bytes(raw).rstrip(b"=")
    try:
        decoded = base64.b64decode(raw + b"=" * (-len(raw) % 4), validate=True)
    except (binascii.Error, ValueError):
        return None  # libsinsp: a failed decode leaves the field unextracted
    if isinstance(value, bytes | bytearray):
        return decoded
    return decoded.decode("utf-8", "replace")


def _len(value: Any) -> Any:
    if value is None:
        return None
    if isinstance(value, tuple | list):
        return len(value)
    if isinstance(value, bytes | bytearray):
        return len(value)
    # strnlen over the UTF-8 bytes: a NUL ends the string.
    return len(_as_text(value).encode("utf-8", "surrogateescape").split(b"\0", 1)[0])


UNARY_FUNCS: Final[dict[str, Callable[[Any], Any]]] = {
    "tolower": _each(_lower),
    "toupper": _each(_upper),
    "basename": _each(_basename),
    "b64": _each(_b64),
    "len": _len,
}
