"""Compiled code against the reference interpreter on generated conditions and events."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from detector.codegen import compile_expr, interpret
from detector.errors import ConditionCompileError
from detector.language.ast import (
    And,
    BinaryCheck,
    Expr,
    FieldRef,
    ListValue,
    Not,
    Or,
    Transform,
    UnaryCheck,
    Value,
)

STRINGS = ["bash", "sh", "curl", "", "<NA>", "/etc/hosts", "/etc/ssh/sshd_config", "BASH", "a*b", "x/y/z", "é"]
INTS = ["0", "1", "-1", "22", "4294967295", "65535", "-32768", "1000"]
IPS = ["10.0.0.1", "192.168.0.2", "::1", "2001:db8::3", "127.0.0.1"]
NETS = ["10.0.0.0/8", "192.168.0.0/16", "2001:db8::/32", "0.0.0.0/0", "::1/128"]
EVENT_TYPES = ["open", "openat", "execve", "connect"]
REGEXES = ["bash", "b.*", "[a-z]+", "(sh|bash)", "/etc/.*", ".?url"]
GLOBS = ["*", "b*", "*sh", "/etc/*", "[bc]?sh", "*/ssh/*", "b[!x]sh"]
HEX = ["62", "6261", "2f657463", "00"]
STRING_OPS = ["=", "==", "!=", "contains", "icontains", "startswith", "endswith"]
MODIFIABLE = ["=", "!=", "contains", "icontains", "startswith", "endswith"]

# (field, family) pairs the generator draws from.
FIELDS: list[tuple[str, str | None, str]] = [
    ("proc.name", None, "string"),
    ("fd.name", None, "string"),
    ("evt.type", None, "evttype"),
    ("proc.pid", None, "int"),
    ("user.uid", None, "int"),
    ("evt.cpu", None, "int"),
    ("fd.port", None, "int"),
    ("evt.failed", None, "bool"),
    ("fd.sip", None, "ip"),
    ("fd.ip", None, "ip"),
    ("fd.net", None, "net"),
    ("fd.snet", None, "net"),
    ("proc.aname", None, "string"),
    ("proc.aname", "2", "string"),
    ("evt.buffer", None, "bytes"),
    ("fd.types", None, "list"),
]


def _values(family: str) -> st.SearchStrategy[str]:
    pools = {"string": STRINGS, "evttype": EVENT_TYPES, "int": INTS, "bool": ["true", "false"],
             "ip": IPS, "net": NETS, "bytes": STRINGS, "list": ["file", "ipv4", "pipe"]}
    return st.sampled_from(pools[family])


@st.composite
def checks(draw: st.DrawFn) -> Expr:
    name, arg, family = draw(st.sampled_from(FIELDS))
    left: FieldRef | Transform = FieldRef(name, arg)
    if family == "string" and name != "proc.aname" and draw(st.booleans()):
        if draw(st.booleans()):
            left = Transform(draw(st.sampled_from(["toupper", "tolower", "basename"])), (left,))
        else:
            left = Transform("len", (left,))
            family = "int"
    if draw(st.integers(0, 9)) == 0:
        return UnaryCheck(left, "exists")
    values = _values(family)
    if family == "list":
        op = draw(st.sampled_from(["in", "intersects"]))
        return BinaryCheck(left, op, ListValue(tuple(draw(st.lists(values, max_size=3)))))
    if family == "bool":
        op = draw(st.sampled_from(["=", "!=", "in"]))
    elif family in ("int",):
        op = draw(st.sampled_from(["=", "!=", "<", "<=", ">", ">=", "in", "intersects"]))
    elif family in ("ip", "net", "evttype"):
        op = draw(st.sampled_from(["=", "!=", "in", "intersects"]))
    elif family == "bytes":
        op = draw(st.sampled_from(["=", "!=", "contains", "startswith", "endswith", "bcontains", "bstartswith", "in"]))
    else:
        op = draw(st.sampled_from([*STRING_OPS, "glob", "iglob", "regex", "in", "intersects", "pmatch"]))
    if op in ("in", "intersects", "pmatch"):
        return BinaryCheck(left, op, ListValue(tuple(draw(st.lists(values, max_size=4)))))
    if op in ("bcontains", "bstartswith"):
        return BinaryCheck(left, op, Value(draw(st.sampled_from(HEX))))
    if op in ("glob", "iglob"):
        values = st.sampled_from(GLOBS)
    elif op == "regex":
        values = st.sampled_from(REGEXES)
    modifiable = op in MODIFIABLE or op in ("glob", "iglob", "regex")
    if modifiable and family in ("string", "ip", "int") and op in (MODIFIABLE + ["glob", "iglob", "regex"]):
        if family != "string" and op not in ("=", "!="):
            modifiable = False
        if modifiable and draw(st.integers(0, 3)) == 0:
            modifier = draw(st.sampled_from(["oneof", "anyof", "allof"]))
            return BinaryCheck(left, op, ListValue(tuple(draw(st.lists(values, max_size=4)))), modifier)
    if family == "string" and name == "proc.name" and op in ("=", "!=") and draw(st.integers(0, 5)) == 0:
        return BinaryCheck(left, op, Transform("val", (FieldRef("fd.name"),)))
    return BinaryCheck(left, op, Value(draw(values)))


conditions = st.recursive(
    checks(),
    lambda inner: st.one_of(
        st.builds(lambda c: Not(c), inner),
        st.lists(inner, min_size=2, max_size=4).map(lambda cs: And(tuple(cs))),
        st.lists(inner, min_size=2, max_size=4).map(lambda cs: Or(tuple(cs))),
    ),
    max_leaves=10,
)

_RAW_STRINGS = st.one_of(st.sampled_from(STRINGS), st.integers(-3, 3), st.none())
_RAW_INTS = st.one_of(st.sampled_from([0, 1, -1, 22, 4294967295, 2**40, 65535, -32768, 1000]),
                      st.sampled_from(INTS), st.sampled_from(["x", "", True]), st.none())
_RAW_IPS = st.one_of(st.sampled_from(IPS), st.sampled_from(["garbage", ""]), st.none())


@st.composite
def events(draw: st.DrawFn) -> dict[str, Any]:
    event: dict[str, Any] = {}
    candidates: dict[str, st.SearchStrategy[Any]] = {
        "proc.name": _RAW_STRINGS,
        "fd.name": _RAW_STRINGS,
        "evt.type": st.sampled_from([*EVENT_TYPES, "close"]),
        "proc.pid": _RAW_INTS,
        "user.uid": _RAW_INTS,
        "evt.cpu": _RAW_INTS,
        "fd.cport": _RAW_INTS,
        "fd.sport": _RAW_INTS,
        "evt.failed": st.sampled_from([True, False, "true", "false", 1, 0, "maybe", None]),
        "fd.sip": _RAW_IPS,
        "fd.cip": _RAW_IPS,
        "proc.aname[1]": _RAW_STRINGS,
        "proc.aname[2]": _RAW_STRINGS,
        "proc.aname[3]": _RAW_STRINGS,
        "evt.buffer": st.one_of(st.sampled_from(STRINGS), st.sampled_from([{"bytes_hex": "620062"}, {"bytes_hex": "zz"}])),
        "fd.types": st.lists(st.sampled_from(["file", "ipv4", "pipe", "unix"]), max_size=3),
    }
    for key, strategy in candidates.items():
        if draw(st.booleans()):
            event[key] = draw(strategy)
    return event


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(conditions, st.lists(events(), min_size=1, max_size=6))
def test_compiled_code_agrees_with_the_interpreter(expr: Expr, evs: list[dict[str, Any]]) -> None:
    try:
        matches = compile_expr(expr).matches
    except ConditionCompileError as exc:
        # Both paths validate the same way; the generator only rarely builds an invalid check.
        try:
            interpret(expr, evs[0])
        except ConditionCompileError as again:
            assert str(again) == str(exc)
            return
        raise AssertionError(f"compiled rejects but interpreter accepts: {exc}") from None
    for event in evs:
        assert matches(event) == interpret(expr, event), (expr, event)


def _nested(depth: int) -> Expr:
    node: Expr = BinaryCheck(FieldRef("proc.name"), "=", Value("bash"))
    for level in range(depth):
        leaf = BinaryCheck(FieldRef("fd.name"), "startswith", Value(f"/d{level}"))
        node = (Or if level % 2 else And)((leaf, Not(node)))
    return node


def test_trees_a_thousand_deep_compile_and_agree() -> None:
    expr = _nested(1000)
    compiled = compile_expr(expr)
    assert "_h" in compiled.python_source  # split into helper functions
    for event in ({"proc.name": "bash", "fd.name": "/d3"}, {"proc.name": "sh"}, {}, {"fd.name": "/d999"}):
        assert compiled.matches(event) == interpret(expr, event)


def test_wide_conditions_compile() -> None:
    expr = Or(tuple(BinaryCheck(FieldRef("proc.name"), "=", Value(f"p{i}")) for i in range(5000)))
    compiled = compile_expr(expr)
    assert compiled.matches({"proc.name": "p4999"})
    assert not compiled.matches({"proc.name": "p5000"})


_JSON = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(-(2**70), 2**70), st.floats(allow_nan=True),
              st.text(max_size=6), st.sampled_from(IPS + STRINGS + INTS)),
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=3), inner, max_size=3)),
    max_leaves=5,
)
_ROBUST_KEYS = ["proc.name", "fd.name", "user.uid", "proc.pid", "evt.cpu", "fd.sip", "fd.cip", "fd.lip",
                "fd.cport", "fd.sport", "evt.buffer", "fd.types", "proc.aname[1]", "proc.aname[2]",
                "evt.failed", "evt.time", "thread.cpu", "fd.dev", "evt.rawarg.res", "evt.arg.res", "fd.sproto"]
_ROBUST_CONDITIONS = [
    "proc.name in (a, b) or fd.name glob '*.conf' or fd.name regex '.*x' or fd.name pmatch (/etc)",
    "user.uid = -1 or proc.pid > 3 or evt.cpu <= 0 or thread.cpu > 1 or fd.dev != 0",
    "fd.sip = 1.2.3.4 or fd.ip != ::1 or fd.net = 10.0.0.0/8 or fd.lnet != ::/0 or fd.port in (80, 443)",
    "evt.buffer bcontains 00 or evt.buffer startswith a or fd.types intersects (file) or fd.types in (a)",
    "proc.aname = bash or proc.aname[2] exists or evt.failed = true or evt.time contains 1",
    "toupper(proc.name) = A or len(fd.types) > 1 or basename(fd.name) = x or b64(fd.name) = a",
    'join(",", (proc.name, fd.name)) = x or concat(proc.name, fd.name) = y or getopt((proc.name, "-a"), "a")[a] = ""',
    "proc.name = val(fd.name) or fd.sip = val(fd.cip) or evt.rawarg.res < 0 or evt.arg.res = ENOENT",
    "fd.cproto = 80 or fd.sproto startswith 4 or proc.name icontains oneof (A, b) or fd.name != allof (a, b)",
]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.dictionaries(st.sampled_from(_ROBUST_KEYS), _JSON, max_size=len(_ROBUST_KEYS)))
def test_any_json_values_never_raise(event: dict[str, Any]) -> None:
    for text in _ROBUST_CONDITIONS:
        compiled = _robust_compiled(text)
        result = compiled.matches(event)
        assert isinstance(result, bool)
        assert interpret(compiled.expr, event) == result


_ROBUST_CACHE: dict[str, Any] = {}


def _robust_compiled(text: str) -> Any:
    if text not in _ROBUST_CACHE:
        from detector.codegen import compile_condition

        _ROBUST_CACHE[text] = compile_condition(text)
    return _ROBUST_CACHE[text]
