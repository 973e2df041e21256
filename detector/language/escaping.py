"""Quoted-string escapes, as libsinsp's ``unescape_str`` and ``escape_str`` apply them."""

from __future__ import annotations

from typing import Final

_SIMPLE: Final = {"b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t", "\\": "\\", "/": "/"}
_HEX: Final = frozenset("0123456789abcdefABCDEF")

# escape_str quotes a value when it holds one of these and writes them so.
_ESCAPED: Final = {"\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t", "\\": "\\\\", '"': '\\"'}
_QUOTE_TRIGGERS: Final = frozenset("\b\f\n\r\t \\\"'")


class EscapeError(ValueError):
    """A quoted string holds an escape libsinsp rejects; the text is libsinsp's message."""


def unescape(quoted: str) -> str:
    """The value of a lexed quoted string (delimiters included in ``quoted``)."""
    delimiter = quoted[0]
    body = quoted[1:-1]
    if "\\" not in body:
        return body
    out: list[str] = []
    i = 0
    n = len(body)
    while i < n:
        ch = body[i]
        i += 1
        if ch != "\\":
            out.append(ch)
            continue
        # The lexer guarantees a closing quote is never escaped, so a backslash
        # always has a following character inside the body.
        code = body[i]
        i += 1
        if code in _SIMPLE:
            out.append(_SIMPLE[code])
        elif code == " ":
            # legacy: "\ " reads as a backslash and the blank is dropped
            out.append("\\")
        elif code == '"':
            if delimiter != '"':
                raise EscapeError("invalid \\\" escape in '-quoted string")
            out.append('"')
        elif code == "'":
            if delimiter != "'":
                raise EscapeError("invalid \\' escape in \"-quoted string")
            out.append("'")
        elif code == "x":
            digits = body[i : i + 2]
            if len(digits) < 2:
                raise EscapeError("truncated hex char escape sequence")
            if not (digits[0] in _HEX and digits[1] in _HEX):
                raise EscapeError(f"invalid hex char escape sequence: {digits}")
            out.append(chr(int(digits, 16)))
            i += 2
        else:
            raise EscapeError(f"unsupported string escape sequence: \\{code}")
    return "".join(out)


def needs_quotes(value: str) -> bool:
    """Whether libsinsp's ``escape_str`` would quote ``value``."""
    return not _QUOTE_TRIGGERS.isdisjoint(value)


def quote(value: str) -> str:
    """``value`` double-quoted with libsinsp's escapes (``'`` and blanks stay as they are)."""
    return '"' + "".join(_ESCAPED.get(ch, ch) for ch in value) + '"'


def escape_str(value: str) -> str:
    """libsinsp's ``escape_str``: quoted only when it holds a blank, a quote or a backslash."""
    return quote(value) if needs_quotes(value) else value
