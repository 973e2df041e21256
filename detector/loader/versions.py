"""Engine and plugin versions: libsinsp's ``sinsp_version`` parsing and comparison."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

_SEMVER = re.compile(r"\s*\+?(\d+)\.\s*\+?(\d+)\.\s*\+?(\d+)")
_U32: Final = 1 << 32


@dataclass(frozen=True, slots=True, order=True)
class Version:
    major: int
    minor: int
    patch: int

    @classmethod
    def parse(cls, text: str) -> Version | None:
        """``x.y.z`` as ``sscanf("%u.%u.%u")`` reads it (trailing text ignored); ``None`` if invalid."""
        m = _SEMVER.match(text)
        if m is None:
            return None
        return cls(int(m[1]) % _U32, int(m[2]) % _U32, int(m[3]) % _U32)

    def compatible_with(self, required: Version) -> bool:
        """Same major version and at least as recent as ``required``."""
        return self.major == required.major and self >= required

    def __str__(self) -> str:
        return f"{self.major}.{self.minor}.{self.patch}"


ENGINE_VERSION: Final = Version(0, 63, 0)


def implicit_engine_version(minor: int) -> Version:
    """An integer ``required_engine_version: N`` means ``0.N.0`` (engine major, N, engine patch)."""
    return Version(ENGINE_VERSION.major, minor, ENGINE_VERSION.patch)


def decode_uint32(text: str) -> int | None:
    """yaml-cpp's ``convert<uint32_t>``: base from the prefix, no sign, no leading blanks."""
    if not text or text[0] in " \t-":
        return None
    body = text.rstrip(" \t\r\n")
    body = body[1:] if body.startswith("+") else body
    try:
        if body[:2] in ("0x", "0X"):
            value = int(body[2:], 16)
        elif len(body) > 1 and body[0] == "0":
            value = int(body[1:], 8)
        else:
            value = int(body, 10)
    except ValueError:
        return None
    if "_" in body or value >= _U32:
        return None
    return value


_TRUE: Final = frozenset({"y", "yes", "true", "on"})
_FALSE: Final = frozenset({"n", "no", "false", "off"})


def decode_bool(text: str) -> bool | None:
    """yaml-cpp's ``convert<bool>``: y/yes/true/on and n/no/false/off in lower, UPPER or Title case."""
    if not (text.islower() or text.isupper() or (text[:1].isupper() and text[1:].islower())):
        return None
    low = text.lower()
    if low in _TRUE:
        return True
    if low in _FALSE:
        return False
    return None
