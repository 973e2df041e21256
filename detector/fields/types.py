"""Field value types: libsinsp's parameter types, RHS literal parsing and event value coercion.

Every typed value has one Python representation, shared by the compiled code
and the reference interpreter:

- strings (CHARBUF, FSPATH, FSRELPATH): ``str``
- byte buffers (BYTEBUF): ``bytes``
- integers: ``int`` already wrapped to the field's width and signedness, so
  ``user.uid = -1`` and a uid of 4294967295 are the same number
- DOUBLE: ``float``
- BOOL: ``bool``
- addresses: ``ipaddress.IPv4Address`` / ``IPv6Address``
- networks (only ever literals): ``ipaddress.IPv4Network`` / ``IPv6Network``
- list fields: ``tuple`` of element values

``None`` always means "absent".
"""

from __future__ import annotations

import base64
import binascii
import enum
import functools
import ipaddress
import socket
from collections.abc import Callable
from typing import Any, TypeAlias

IPAddress: TypeAlias = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork: TypeAlias = ipaddress.IPv4Network | ipaddress.IPv6Network


class FieldType(enum.Enum):
    """libsinsp's ``ppm_param_type``; the value is the name ``param_type_to_string`` prints."""

    INT8 = "INT8"
    INT16 = "INT16"
    INT32 = "INT32"
    INT64 = "INT64"
    UINT8 = "UINT8"
    UINT16 = "UINT16"
    UINT32 = "UINT32"
    UINT64 = "UINT64"
    CHARBUF = "CHARBUF"
    BYTEBUF = "BYTEBUF"
    ERRNO = "ERRNO"
    SOCKADDR = "SOCKADDR"
    SOCKTUPLE = "SOCKTUPLE"
    FD = "FD"
    PID = "PID"
    FDLIST = "FDLIST"
    FSPATH = "FSPATH"
    SYSCALLID = "SYSCALLID"
    SIGTYPE = "SIGTYPE"
    RELTIME = "RELTIME"
    ABSTIME = "ABSTIME"
    PORT = "PORT"
    L4PROTO = "L4PROTO"
    SOCKFAMILY = "SOCKFAMILY"
    BOOL = "BOOL"
    IPV4ADDR = "IPV4ADDR"
    DYN = "DYN"
    FLAGS8 = "FLAGS8"
    FLAGS16 = "FLAGS16"
    FLAGS32 = "FLAGS32"
    UID = "UID"
    GID = "GID"
    DOUBLE = "DOUBLE"
    SIGSET = "SIGSET"
    CHARBUFARRAY = "CHARBUFARRAY"
    CHARBUF_PAIR_ARRAY = "CHARBUF_PAIR_ARRAY"
    IPV4NET = "IPV4NET"
    IPV6ADDR = "IPV6ADDR"
    IPV6NET = "IPV6NET"
    IPADDR = "IPADDR"
    IPNET = "IPNET"
    MODE = "MODE"
    FSRELPATH = "FSRELPATH"
    ENUMFLAGS8 = "ENUMFLAGS8"
    ENUMFLAGS16 = "ENUMFLAGS16"
    ENUMFLAGS32 = "ENUMFLAGS32"

    # Members are singletons compared by identity, so the identity hash is exact and,
    # unlike Enum's (a Python-level hash of the name), costs nothing in the many type
    # tables looked up while compiling conditions.
    __hash__ = object.__hash__


class Family(enum.Enum):
    """The comparison family a type belongs to (``flt_is_comparable``)."""

    STRING = "string"
    NUMERIC = "numeric"
    BOOL = "bool"
    BUFFER = "buffer"
    IP = "ip"
    OTHER = "other"

    __hash__ = object.__hash__  # as FieldType's


# (bits, signed) of the integer types, by the width flt_compare casts them through.
_INT_SPECS: dict[FieldType, tuple[int, bool]] = {
    FieldType.INT8: (8, True),
    FieldType.INT16: (16, True),
    FieldType.INT32: (32, True),
    FieldType.INT64: (64, True),
    FieldType.FD: (64, True),
    FieldType.PID: (64, True),
    FieldType.ERRNO: (64, True),
    FieldType.UINT8: (8, False),
    FieldType.FLAGS8: (8, False),
    FieldType.ENUMFLAGS8: (8, False),
    FieldType.SIGTYPE: (8, False),
    FieldType.L4PROTO: (8, False),
    FieldType.UINT16: (16, False),
    FieldType.FLAGS16: (16, False),
    FieldType.ENUMFLAGS16: (16, False),
    FieldType.PORT: (16, False),
    FieldType.SYSCALLID: (16, False),
    FieldType.UINT32: (32, False),
    FieldType.FLAGS32: (32, False),
    FieldType.ENUMFLAGS32: (32, False),
    FieldType.MODE: (32, False),
    FieldType.UID: (32, False),
    FieldType.GID: (32, False),
    FieldType.UINT64: (64, False),
    FieldType.RELTIME: (64, False),
    FieldType.ABSTIME: (64, False),
}

STRING_TYPES = frozenset({FieldType.CHARBUF, FieldType.FSPATH, FieldType.FSRELPATH})
IP_TYPES = frozenset(
    {
        FieldType.IPV4ADDR,
        FieldType.IPV6ADDR,
        FieldType.IPADDR,
        FieldType.IPV4NET,
        FieldType.IPV6NET,
        FieldType.IPNET,
    }
)
NET_TYPES = frozenset({FieldType.IPV4NET, FieldType.IPV6NET, FieldType.IPNET})
# Element types a list field may have (flt_is_comparable with is_list).
LIST_ELEMENT_TYPES = frozenset(
    {
        FieldType.CHARBUF,
        FieldType.UINT64,
        FieldType.RELTIME,
        FieldType.ABSTIME,
        FieldType.BOOL,
        FieldType.IPADDR,
        FieldType.IPNET,
    }
)


def family(ftype: FieldType) -> Family:
    if ftype in STRING_TYPES:
        return Family.STRING
    if ftype in _INT_SPECS or ftype is FieldType.DOUBLE:
        return Family.NUMERIC
    if ftype is FieldType.BOOL:
        return Family.BOOL
    if ftype is FieldType.BYTEBUF:
        return Family.BUFFER
    if ftype in IP_TYPES:
        return Family.IP
    return Family.OTHER


def int_spec(ftype: FieldType) -> tuple[int, bool] | None:
    """``(bits, signed)`` of an integer type, ``None`` for anything else."""
    return _INT_SPECS.get(ftype)


def int_range(ftype: FieldType) -> tuple[int, int] | None:
    """``(low, high)``, the values of an integer type (those its coercion leaves as they are),
    ``None`` for anything else."""
    spec = _INT_SPECS.get(ftype)
    if spec is None:
        return None
    bits, signed = spec
    return (-(1 << (bits - 1)), (1 << (bits - 1)) - 1) if signed else (0, (1 << bits) - 1)


def wrap_int(value: int, bits: int, signed: bool) -> int:
    """``value`` reinterpreted as a C integer of ``bits`` width."""
    mask = (1 << bits) - 1
    value &= mask
    if signed and value >> (bits - 1):
        value -= 1 << bits
    return value


class LiteralError(ValueError):
    """A right-hand value cannot be parsed for the field's type; the message is Falco's."""


def _scan_int(text: str) -> int:
    """``sscanf("%d%c")``-style decimal parse: blanks, optional sign, digits, nothing after."""
    stripped = text.lstrip(" \t\n\r\f\v")
    body = stripped[1:] if stripped[:1] in ("+", "-") else stripped
    if not body or not body.isascii() or not body.isdigit():
        raise LiteralError(f"invalid number {text}")
    return int(stripped)


def parse_int_literal(text: str, bits: int, signed: bool) -> int:
    # libsinsp scans 8/16-bit values through 32-bit conversions and then narrows.
    scan_bits = 64 if bits == 64 else 32
    return wrap_int(wrap_int(_scan_int(text), scan_bits, signed), bits, signed)


# Service names for ports, used when the system has no services database entry.
_SERVICES: dict[str, int] = {
    "ftp-data": 20, "ftp": 21, "ssh": 22, "telnet": 23, "smtp": 25, "domain": 53, "dns": 53,
    "tftp": 69, "gopher": 70, "finger": 79, "http": 80, "www": 80, "kerberos": 88, "pop3": 110,
    "sunrpc": 111, "ident": 113, "nntp": 119, "ntp": 123, "epmap": 135, "netbios-ns": 137,
    "netbios-dgm": 138, "netbios-ssn": 139, "imap": 143, "imap2": 143, "snmp": 161,
    "snmp-trap": 162, "bgp": 179, "irc": 194, "ldap": 389, "https": 443, "microsoft-ds": 445,
    "kpasswd": 464, "syslog": 514, "printer": 515, "submission": 587, "ldaps": 636,
    "rsync": 873, "ftps-data": 989, "ftps": 990, "telnets": 992, "imaps": 993, "pop3s": 995,
    "socks": 1080, "openvpn": 1194, "ms-sql-s": 1433, "ms-sql-m": 1434, "l2tp": 1701,
    "pptp": 1723, "radius": 1812, "radius-acct": 1813, "nfs": 2049, "etcd-client": 2379,
    "etcd-server": 2380, "mysql": 3306, "ms-wbt-server": 3389, "svn": 3690, "sip": 5060,
    "sip-tls": 5061, "postgresql": 5432, "amqp": 5672, "x11": 6000, "ircd": 6667,
    "http-alt": 8080, "memcache": 11211, "mongodb": 27017, "redis": 6379,
}


@functools.lru_cache(maxsize=256)
def service_port(name: str) -> int | None:
    """The port a service name stands for (``getservbyname``), or ``None``."""
    try:
        return socket.getservbyname(name)
    except OSError:
        return _SERVICES.get(name)


def parse_port_literal(text: str) -> int:
    if text == "":
        return 0
    if text.isascii() and text.isdigit():
        return int(text) & 0xFFFF
    port = service_port(text)
    if port is None:
        raise LiteralError(f"unrecognized protocol {text}")
    return port


def parse_ip_literal(text: str, ftype: FieldType) -> IPAddress:
    if ftype is FieldType.IPV4ADDR or (ftype is FieldType.IPADDR and "." in text):
        try:
            return ipaddress.IPv4Address(text)
        except ValueError:
            raise LiteralError(f"unrecognized IPv4 address {text}") from None
    try:
        return ipaddress.IPv6Address(text)
    except ValueError:
        raise LiteralError(f"unrecognized IPv6 address {text}") from None


def parse_net_literal(text: str, ftype: FieldType) -> IPNetwork:
    if "/" not in text:
        raise LiteralError(f"unrecognized IP network {text}")
    address, _, mask = text.partition("/")
    if ftype is FieldType.IPV4NET or (ftype is FieldType.IPNET and "." in text):
        try:
            ipaddress.IPv4Address(address)
        except ValueError:
            raise LiteralError(f"unrecognized IP address {text}") from None
        bits = parse_int_literal(mask, 8, False)
        if bits > 32:
            raise LiteralError(f"invalid netmask {mask}")
        return ipaddress.IPv4Network(f"{address}/{bits}", strict=False)
    try:
        ipaddress.IPv6Address(address)
        bits = _scan_int(mask)
        if not 0 <= bits <= 128:
            raise ValueError(mask)
    except ValueError:
        raise LiteralError(f"unrecognized IPv6 network {text}") from None
    return ipaddress.IPv6Network(f"{address}/{bits}", strict=False)


def text_to_bytes(text: str) -> bytes:
    """Bytes of a literal: ``\\xHH`` escapes arrive as single code points, so latin-1 when it fits."""
    try:
        return text.encode("latin-1")
    except UnicodeEncodeError:
        return text.encode("utf-8", "surrogateescape")


def parse_literal(ftype: FieldType, text: str) -> Any:
    """A right-hand literal parsed for ``ftype`` (``string_to_rawval``); raises ``LiteralError``."""
    if ftype in STRING_TYPES or ftype in (FieldType.SOCKADDR, FieldType.SOCKFAMILY):
        return text
    if ftype is FieldType.BYTEBUF:
        return text_to_bytes(text)
    if ftype is FieldType.PORT:
        return parse_port_literal(text)
    spec = _INT_SPECS.get(ftype)
    if spec is not None:
        return parse_int_literal(text, *spec)
    if ftype is FieldType.DOUBLE:
        # libsinsp parses a DOUBLE right-hand side as an int32.
        return float(parse_int_literal(text, 32, True))
    if ftype is FieldType.BOOL:
        if text == "true":
            return True
        if text == "false":
            return False
        raise LiteralError(f"filter error: unrecognized boolean value {text}")
    if ftype in NET_TYPES:
        return parse_net_literal(text, ftype)
    if ftype in IP_TYPES:
        return parse_ip_literal(text, ftype)
    raise LiteralError(f"wrong parameter type {ftype.value}")


def parse_hex_bytes(text: str) -> bytes:
    """The ``bcontains``/``bstartswith`` operand: an even-length hex string."""
    if text == "" or len(text) % 2 or not all(c in "0123456789abcdefABCDEF" for c in text):
        raise LiteralError("filter error: bcontains and bstartswith operator support hex strings only")
    return bytes.fromhex(text)


# ---------------------------------------------------------------------------------------------
# Event value coercion: whatever JSON gave for a field, as the field's typed value or None.


def _coerce_str(raw: Any) -> str | None:
    if raw is None or raw.__class__ is str:
        return raw
    if raw is True:
        return "true"
    if raw is False:
        return "false"
    if isinstance(raw, int | float):
        return str(raw)
    if isinstance(raw, bytes):
        return raw.decode("utf-8", "surrogateescape")
    if isinstance(raw, dict) and "bytes_hex" in raw:
        data = _coerce_bytes(raw)
        return None if data is None else data.decode("utf-8", "surrogateescape")
    return None


def _coerce_bytes(raw: Any) -> bytes | None:
    if raw is None or raw.__class__ is bytes:
        return raw
    if isinstance(raw, str):
        return raw.encode("utf-8", "surrogateescape")
    if isinstance(raw, dict):
        hexed = raw.get("bytes_hex")
        if isinstance(hexed, str):
            try:
                return bytes.fromhex(hexed)
            except ValueError:
                return None
        b64 = raw.get("bytes_b64")
        if isinstance(b64, str):
            try:
                return base64.b64decode(b64)
            except (binascii.Error, ValueError):
                return None
    return None


def _int_coercer(bits: int, signed: bool, hex_strings: bool) -> Callable[[Any], int | None]:
    def coerce(raw: Any) -> int | None:
        if raw is None or raw.__class__ is bool:
            return None if raw is None else int(raw)
        if raw.__class__ is int:
            return wrap_int(raw, bits, signed)
        if isinstance(raw, str):
            text = raw.strip()
            try:
                value = int(text, 10)
            except ValueError:
                if not hex_strings:
                    return None
                try:
                    value = int(text, 16)
                except ValueError:
                    return None
            return wrap_int(value, bits, signed)
        if isinstance(raw, float) and raw.is_integer():
            return wrap_int(int(raw), bits, signed)
        return None

    return coerce


def _coerce_double(raw: Any) -> float | None:
    if raw is None or raw.__class__ is bool:
        return None
    if isinstance(raw, int | float):
        return float(raw)
    if isinstance(raw, str):
        try:
            return float(raw)
        except ValueError:
            return None
    return None


def _coerce_bool(raw: Any) -> bool | None:
    if raw is None or raw.__class__ is bool:
        return raw
    if isinstance(raw, int):
        return raw != 0
    if isinstance(raw, str):
        if raw == "true":
            return True
        if raw == "false":
            return False
        if raw.isascii() and raw.lstrip("-").isdigit():
            return int(raw) != 0
    return None


@functools.lru_cache(maxsize=4096)
def parse_ip_value(text: str) -> IPAddress | None:
    """An address as an event carries it (``1.2.3.4``, ``::1``, ``[::1]``), or ``None``."""
    if text.startswith("[") and text.endswith("]"):
        text = text[1:-1]
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


def _coerce_ip(raw: Any) -> IPAddress | None:
    if raw is None:
        return None
    if isinstance(raw, ipaddress.IPv4Address | ipaddress.IPv6Address):
        return raw
    if isinstance(raw, str):
        return parse_ip_value(raw)
    if isinstance(raw, int) and raw.__class__ is not bool and 0 <= raw < 1 << 32:
        return ipaddress.IPv4Address(raw)
    return None


def scalar_coercer(ftype: FieldType, *, hex_strings: bool = False) -> Callable[[Any], Any]:
    """The function turning a raw JSON value into a typed value (or ``None``) for ``ftype``."""
    if ftype in STRING_TYPES or family(ftype) is Family.OTHER:
        return _coerce_str
    if ftype is FieldType.BYTEBUF:
        return _coerce_bytes
    spec = _INT_SPECS.get(ftype)
    if spec is not None:
        return _int_coercer(spec[0], spec[1], hex_strings)
    if ftype is FieldType.DOUBLE:
        return _coerce_double
    if ftype is FieldType.BOOL:
        return _coerce_bool
    return _coerce_ip


def list_coercer(ftype: FieldType) -> Callable[[Any], tuple[Any, ...] | None]:
    """Coercion for a list field: a JSON array (or a single value) as a tuple of typed elements."""
    element = scalar_coercer(ftype)

    def coerce(raw: Any) -> tuple[Any, ...] | None:
        if raw is None:
            return None
        items = raw if isinstance(raw, list | tuple) else (raw,)
        out = []
        for item in items:
            value = element(item)
            if value is not None:
                out.append(value)
        return tuple(out)

    return coerce


def native_class(ftype: FieldType) -> type | None:
    """The Python class a raw JSON value already has when it needs no coercion for ``ftype``."""
    if ftype in STRING_TYPES or family(ftype) is Family.OTHER:
        return str
    if ftype is FieldType.BOOL:
        return bool
    return None
