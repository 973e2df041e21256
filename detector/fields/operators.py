"""Operator semantics: which operators a type admits, and the runtime pieces they need.

Everything here is shared by the code generator and the reference interpreter:
type compatibility with Falco's messages (``flt_is_comparable``), glob and
``pmatch`` matchers, RE2 full-match regexes, the transformers, and a generic
``compare`` that applies one operator to one typed value and one typed
right-hand value (what ``flt_compare`` does).
"""

from __future__ import annotations

import base64
import binascii
import functools
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any

from detector.fields.types import (
    LIST_ELEMENT_TYPES,
    NET_TYPES,
    Family,
    FieldType,
    LiteralError,
    family,
)

if TYPE_CHECKING:
    import re2

EQ_OPS = frozenset({"=", "=="})
ORDER_OPS = frozenset({"<", "<=", ">", ">="})
LIST_OPS = frozenset({"in", "intersects", "pmatch"})
MODIFIERS = frozenset({"oneof", "anyof", "allof"})
# Operators a modifier may follow.
MODIFIABLE_OPS = frozenset(
    {
        "=", "==", "!=", "contains", "icontains", "bcontains", "startswith", "bstartswith",
        "endswith", "glob", "iglob", "regex",
    }
)

_NUMERIC_OK = frozenset({"=", "==", "!=", "<", "<=", ">", ">=", "in", "intersects", "exists"})
_BOOL_OK = frozenset({"=", "==", "!=", "in", "intersects", "exists"})
_STRING_OK = frozenset(
    {
        "=", "==", "!=", "<", "<=", ">", ">=", "contains", "in", "exists", "icontains",
        "startswith", "glob", "pmatch", "endswith", "intersects", "iglob", "regex",
    }
)
_BUFFER_OK = frozenset(
    {"=", "==", "!=", "contains", "in", "exists", "startswith", "endswith", "intersects",
     "bcontains", "bstartswith"}
)
_IP_OK = frozenset({"=", "==", "!=", "in", "exists", "intersects"})
_LIST_OK = frozenset({"in", "exists", "intersects"})


def op_name(op: str) -> str:
    """The operator as libsinsp's ``cmpop_to_str`` prints it (``==`` is ``=``)."""
    return "=" if op == "==" else op


def comparable_error(op: str, ftype: FieldType, is_list: bool) -> str | None:
    """Falco's message when ``op`` cannot be applied to the type, else ``None``."""
    if op == "exists":
        return None
    name = op_name(op)
    if is_list:
        if ftype not in LIST_ELEMENT_TYPES:
            return f"list filters are not supported for type '{ftype.value}'"
        return None if op in _LIST_OK else f"'{name}' operator not supported list filters"
    fam = family(ftype)
    if fam is Family.NUMERIC:
        return None if op in _NUMERIC_OK else f"'{name}' operator not supported for numeric filters"
    if fam is Family.BOOL:
        # libsinsp reuses the numeric message for booleans.
        return None if op in _BOOL_OK else f"'{name}' operator not supported for numeric filters"
    if fam is Family.STRING:
        return None if op in _STRING_OK else f"'{name}' operator not supported for string filters"
    if fam is Family.BUFFER:
        return None if op in _BUFFER_OK else f"'{name}' operator not supported for buffer filters"
    if fam is Family.IP:
        if op in _IP_OK:
            return None
        return f"'{name}' operator not supported for ip address and network filters"
    return f"'{name}' operator not supported for type '{ftype.value}'"


# ---------------------------------------------------------------------------------------------
# strings

_ASCII_LOWER = {c: c + 32 for c in range(ord("A"), ord("Z") + 1)}
_ASCII_UPPER = {c: c - 32 for c in range(ord("a"), ord("z") + 1)}


def ascii_lower(text: str) -> str:
    """``tolower`` byte by byte in the C locale: only ASCII letters change."""
    return text.lower() if text.isascii() else text.translate(_ASCII_LOWER)


def ascii_upper(text: str) -> str:
    return text.upper() if text.isascii() else text.translate(_ASCII_UPPER)


def c_string(text: str) -> str:
    """What C string functions see of a value: everything before the first NUL."""
    cut = text.find("\0")
    return text if cut < 0 else text[:cut]


# ---------------------------------------------------------------------------------------------
# RE2 full matches, memoised: event streams repeat values (command lines, paths) a great deal

MEMO_LIMIT = 4096


def memoize(match: Callable[[str], bool], limit: int = MEMO_LIMIT) -> Callable[[str], bool]:
    """``match`` with a bounded per-matcher cache of its answers (cleared when full)."""
    cache: dict[str, bool] = {}
    get = cache.get

    def memoized(value: str) -> bool:
        hit = get(value)
        if hit is None:
            hit = match(value)
            if len(cache) >= limit:
                cache.clear()
            cache[value] = hit
        return hit

    return memoized


# RE2 is imported on first use: most rules use no regex, and globs mostly need none either.


@functools.cache
def _re2_core() -> tuple[Any, Any] | None:
    """The wrapper's C core and its both-ends anchor: a call through it costs a fraction of
    ``re2.fullmatch``'s (``None`` for other re2 builds)."""
    try:
        from re2 import _re2 as core

        return core, core.RE2.Anchor.ANCHOR_BOTH
    except (ImportError, AttributeError):  # pragma: no cover - other re2 builds
        return None


def re2_fullmatcher(pattern: str, make_options: Callable[[], re2.Options]) -> Callable[[str], bool]:
    """Whether a whole value matches ``pattern``; raises ``re2.error`` for a bad pattern."""
    import re2

    regex = re2.compile(pattern, make_options())
    found = _re2_core()
    if found is not None:
        core_module, anchor_both = found
        options = make_options()
        options.never_capture = True
        core = core_module.RE2(pattern.encode("utf-8", "surrogateescape"), options)
        if core.ok():
            run = core.Match

            def full(value: str) -> bool:
                data = value.encode("utf-8", "surrogateescape")
                return bool(run(anchor_both, data, 0, len(data))[0][0] >= 0)

            return memoize(full)
    fullmatch = regex.fullmatch
    return memoize(lambda value: fullmatch(value) is not None)


# ---------------------------------------------------------------------------------------------
# glob (fnmatch without FNM_PATHNAME/FNM_PERIOD: '*' crosses '/'), translated to RE2

_GLOB_SPECIAL = frozenset("*?[\\")
_POSIX_CLASSES = frozenset(
    {"alnum", "alpha", "blank", "cntrl", "digit", "graph", "lower", "print", "punct", "space",
     "upper", "xdigit"}
)


def _re_char(c: str) -> str:
    code = ord(c)
    if c.isascii() and (c.isalnum() or c == "_"):
        return c
    if code < 128:
        return f"\\x{{{code:x}}}"
    return c


def _bracket(pattern: str, start: int) -> tuple[str, int] | None:
    """An RE2 class for the bracket expression at ``start`` and the index after it, or ``None``."""
    i = start + 1
    negate = False
    if i < len(pattern) and pattern[i] in "!^":
        negate = True
        i += 1
    items: list[str] = []
    first = True
    while i < len(pattern):
        c = pattern[i]
        if c == "]" and not first:
            body = "".join(items)
            if not body:
                return None
            return ("[^" if negate else "[") + body + "]", i + 1
        first = False
        if c == "[" and pattern.startswith("[:", i):
            end = pattern.find(":]", i + 2)
            if end > 0 and pattern[i + 2 : end] in _POSIX_CLASSES:
                items.append(f"[:{pattern[i + 2:end]}:]")
                i = end + 2
                continue
        if c == "\\" and i + 1 < len(pattern):
            i += 1
            c = pattern[i]
        if i + 2 < len(pattern) and pattern[i + 1] == "-" and pattern[i + 2] != "]":
            hi = pattern[i + 2]
            hi_end = i + 3
            if hi == "\\" and i + 3 < len(pattern):
                hi = pattern[i + 3]
                hi_end = i + 4
            if ord(hi) >= ord(c):
                items.append(f"\\x{{{ord(c):x}}}-\\x{{{ord(hi):x}}}")
            i = hi_end
            continue
        items.append(f"\\x{{{ord(c):x}}}")
        i += 1
    return None


def glob_to_re2(pattern: str) -> str:
    out: list[str] = []
    i = 0
    while i < len(pattern):
        c = pattern[i]
        if c == "*":
            out.append(".*")
        elif c == "?":
            out.append(".")
        elif c == "[":
            found = _bracket(pattern, i)
            if found is not None:
                out.append(found[0])
                i = found[1]
                continue
            out.append(_re_char(c))
        elif c == "\\" and i + 1 < len(pattern):
            i += 1
            out.append(_re_char(pattern[i]))
        else:
            out.append(_re_char(c))
        i += 1
    return "".join(out)


def _glob_options(casefold: bool) -> re2.Options:
    import re2

    options = re2.Options()
    options.dot_nl = True
    options.log_errors = False
    options.case_sensitive = not casefold
    return options


@functools.lru_cache(maxsize=1024)
def compile_glob(pattern: str, casefold: bool = False) -> Callable[[str], bool]:
    """A matcher telling whether a value matches the glob ``pattern`` (whole value)."""
    if not any(c in _GLOB_SPECIAL for c in pattern):
        if casefold:
            lowered = ascii_lower(pattern)
            return lambda value: ascii_lower(value) == lowered
        return pattern.__eq__
    if not casefold:
        inner = pattern.strip("*")
        if inner and not any(c in _GLOB_SPECIAL for c in inner):
            stars_before = len(pattern) - len(pattern.lstrip("*"))
            stars_after = len(pattern) - len(pattern.rstrip("*"))
            if stars_before and stars_after:
                return lambda value: inner in value
            if stars_after:
                return lambda value: value.startswith(inner)
            return lambda value: value.endswith(inner)
        if not inner and pattern:
            return lambda value: True
    return re2_fullmatcher(glob_to_re2(pattern), functools.partial(_glob_options, casefold))


def glob_match(pattern: str, value: str, casefold: bool = False) -> bool:
    return compile_glob(pattern, casefold)(value)


# ---------------------------------------------------------------------------------------------
# pmatch: some right-hand path is a component-wise prefix of the value; components may glob


def _components(path: str) -> tuple[str, ...]:
    return tuple(part for part in path.split("/") if part)


def compile_pmatch(paths: Iterable[str]) -> Callable[[str], bool]:
    exact: set[tuple[str, ...]] = set()
    globbed: list[tuple[Callable[[str], bool], ...]] = []
    depths: set[int] = set()
    for path in paths:
        parts = _components(path)
        if any(any(c in _GLOB_SPECIAL for c in part) for part in parts):
            globbed.append(tuple(compile_glob(part) for part in parts))
        else:
            exact.add(parts)
            depths.add(len(parts))
    ordered_depths = sorted(depths)

    def match(value: str) -> bool:
        parts = _components(value)
        for depth in ordered_depths:
            if depth > len(parts):
                break
            if parts[:depth] in exact:
                return True
        for matchers in globbed:
            if len(matchers) <= len(parts) and all(m(p) for m, p in zip(matchers, parts, strict=False)):
                return True
        return False

    return match


# ---------------------------------------------------------------------------------------------
# regex: RE2 POSIX syntax, longest match, anchored at both ends


def _regex_options() -> re2.Options:
    import re2

    options = re2.Options()
    options.posix_syntax = True
    options.longest_match = True
    options.log_errors = False
    return options


@functools.lru_cache(maxsize=1024)
def compile_regex(pattern: str) -> Callable[[str], bool]:
    import re2

    try:
        return re2_fullmatcher(pattern, _regex_options)
    except re2.error as exc:
        detail = exc.args[0] if exc.args else str(exc)
        if isinstance(detail, bytes):
            detail = detail.decode("utf-8", "replace")
        raise LiteralError(f"invalid regex pattern: {detail}") from None


_REGEX_META = frozenset("\\^$.|?*+()[]{}")


def regex_is_simple(pattern: str) -> bool:
    """Whether a regex is a literal with optional ``^``/``$``/``.*``/``.+``/``.?`` ends (Falco warns)."""
    core = pattern
    if core.startswith("^"):
        core = core[1:]
    elif core[:2] in (".*", ".+", ".?"):
        core = core[2:]
    if core.endswith("$"):
        core = core[:-1]
    elif core[-2:] in (".*", ".+", ".?"):
        core = core[:-2]
    return bool(core) and not any(c in _REGEX_META for c in core)


# ---------------------------------------------------------------------------------------------
# networks


def net_matcher(net: Any) -> Callable[[Any], bool]:
    """Whether an address is in ``net`` (addresses of the other IP version never are)."""
    version = net.version
    mask = int(net.netmask)
    base = int(net.network_address) & mask

    def match(address: Any) -> bool:
        return address.version == version and (int(address) & mask) == base

    return match


def nets_matcher(nets: Sequence[Any]) -> Callable[[Any], bool]:
    matchers = tuple(net_matcher(n) for n in nets)
    return lambda address: any(m(address) for m in matchers)


# ---------------------------------------------------------------------------------------------
# transformers

STRING_TRANSFORMABLE = frozenset({FieldType.CHARBUF, FieldType.FSPATH, FieldType.FSRELPATH})


def transformed_type(name: str, ftype: FieldType, is_list: bool) -> tuple[FieldType, bool] | None:
    """The type a single-value transformer produces (``transform_type``), or ``None`` if refused."""
    if name in ("tolower", "toupper", "basename"):
        return (ftype, is_list) if ftype in STRING_TRANSFORMABLE else None
    if name == "b64":
        return (ftype, is_list) if ftype in (FieldType.CHARBUF, FieldType.BYTEBUF) else None
    if name == "len":
        if is_list or ftype in STRING_TRANSFORMABLE or ftype is FieldType.BYTEBUF:
            return FieldType.UINT64, False
        return None
    return None


def _b64(value: Any) -> Any:
    data = value.encode("latin-1", "replace") if isinstance(value, str) else value
    data = data.rstrip(b"=")
    try:
        decoded = base64.b64decode(data + b"=" * (-len(data) % 4), validate=True)
    except (binascii.Error, ValueError):
        return None
    if isinstance(value, str):
        return decoded.decode("utf-8", "surrogateescape")
    return decoded


def _basename(value: str) -> str:
    return value.rpartition("/")[2]


def _length(value: Any) -> int:
    if isinstance(value, str):
        return len(value) if value.isascii() else len(value.encode("utf-8", "surrogateescape"))
    return len(value)


_SCALAR_TRANSFORMERS: dict[str, Callable[[Any], Any]] = {
    "tolower": ascii_lower,
    "toupper": ascii_upper,
    "b64": _b64,
    "basename": _basename,
}


def apply_transformer(name: str, value: Any, is_list: bool) -> Any:
    """A single-value transformer applied to an extracted value (``None`` stays absent)."""
    if value is None:
        return None
    if name == "len":
        return len(value) if is_list else _length(value)
    fn = _SCALAR_TRANSFORMERS[name]
    if is_list:
        out = []
        for item in value:
            item = fn(item)
            if item is None:
                return None
            out.append(item)
        return tuple(out)
    return fn(value)


def render(value: Any) -> str:
    """A typed value as text (what a transformer list or ``join`` sees of it)."""
    if value.__class__ is str:
        return value
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, bytes):
        return value.decode("utf-8", "surrogateescape")
    return str(value)


def join(separator: Any, items: Any) -> str | None:
    if separator is None or items is None:
        return None
    return render(separator).join(c_string(render(item)) for item in items)


def concat(*parts: Any) -> str | None:
    if any(part is None for part in parts):
        return None
    return "".join(c_string(render(part)) for part in parts)


def make_list(*items: Any) -> tuple[str, ...] | None:
    """A transformer list ``(a, "b", 1)``: every item as text; absent if any item is."""
    out: list[str] = []
    for item in items:
        if item is None:
            return None
        if isinstance(item, tuple):
            out.extend(render(x) for x in item)
        else:
            out.append(render(item))
    return tuple(out)


def _optstring(optstring: str) -> tuple[frozenset[str], frozenset[str]]:
    valid: set[str] = set()
    with_args: set[str] = set()
    i = 1 if optstring.startswith(":") else 0
    while i < len(optstring):
        opt = optstring[i]
        if opt != ":":
            valid.add(opt)
            if i + 1 < len(optstring) and optstring[i + 1] == ":":
                with_args.add(opt)
                i += 1
        i += 1
    return frozenset(valid), frozenset(with_args)


def getopt(argv: Any, optstring: Any, selector: str | None = None) -> Any:
    """``getopt(argv, optstring)[opt]`` as libsinsp's multivalue transformer computes it.

    Without a selector: the options and their values in order, ``?`` for unknown
    options and ``""`` for a missing value.  With one: the last value of that
    option (absent if the option never appears).
    """
    if argv is None or optstring is None:
        return None
    valid, with_args = _optstring(render(optstring))
    args = [render(a) for a in argv]
    results: list[str] = []
    selected: str | None = None
    idx = 0
    while idx < len(args):
        arg = args[idx]
        if arg == "--":
            break
        if len(arg) > 2 and arg.startswith("--"):
            idx += 1
            continue
        if not arg or arg[0] != "-" or len(arg) == 1:
            break
        i = 1
        while i < len(arg):
            opt = arg[i]
            if opt == ":" or opt not in valid:
                if selector is None:
                    results.append("?")
                i += 1
                continue
            match = selector is None or opt == selector
            if opt not in with_args:
                if match:
                    if selector is None:
                        results.append(opt)
                    else:
                        selected = opt
                i += 1
                continue
            if i + 1 < len(arg):
                value: str | None = arg[i + 1 :]
            elif idx + 1 < len(args):
                idx += 1
                value = args[idx]
            else:
                value = None
            if match:
                if value is None:
                    if selector is None:
                        results.append("")
                    else:
                        selected = ""
                elif selector is None:
                    results.extend((opt, value))
                else:
                    selected = value
            break
        idx += 1
    if selector is not None:
        return selected
    return tuple(results)


# ---------------------------------------------------------------------------------------------
# the generic comparison (reference semantics, used by the interpreter and dynamic right-hand sides)


def compare(op: str, ftype: FieldType, value: Any, rhs: Any) -> bool:
    """``value op rhs`` for one typed value and one typed right-hand value (``flt_compare``)."""
    if op in EQ_OPS or op in ("in", "intersects"):
        if ftype in NET_TYPES:
            return net_matcher(rhs)(value)
        return bool(value == rhs)
    if op == "!=":
        if ftype in NET_TYPES:
            return not net_matcher(rhs)(value)
        return bool(value != rhs)
    if op == "<":
        return bool(value < rhs)
    if op == "<=":
        return bool(value <= rhs)
    if op == ">":
        return bool(value > rhs)
    if op == ">=":
        return bool(value >= rhs)
    if op in ("contains", "bcontains"):
        return rhs in value
    if op == "icontains":
        return ascii_lower(rhs) in ascii_lower(value)
    if op in ("startswith", "bstartswith"):
        return bool(value.startswith(rhs))
    if op == "endswith":
        return bool(value.endswith(rhs))
    if op == "glob":
        return glob_match(rhs, value)
    if op == "iglob":
        return glob_match(rhs, value, casefold=True)
    if op == "regex":
        return compile_regex(rhs)(value)
    if op == "pmatch":
        return compile_pmatch((rhs,))(value)
    raise LiteralError(f"unsupported operator {op}")


def compare_field(op: str, ftype: FieldType, is_list: bool, value: Any, rhs: Any) -> bool:
    """``value op val(other)``: the right-hand side is another extracted value of the same type."""
    if is_list:
        if op == "in":
            return set(value) <= set(rhs)
        if op == "intersects":
            return not set(value).isdisjoint(rhs)
        return False
    if op in ("in", "intersects"):
        return bool(value == rhs)
    return compare(op, ftype, value, rhs)
