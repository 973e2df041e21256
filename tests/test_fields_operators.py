"""Operator primitives: type compatibility messages, glob, pmatch, regex, literals, transformers."""

from __future__ import annotations

import fnmatch
import ipaddress

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from detector.fields import operators as ops
from detector.fields.types import FieldType, LiteralError, parse_hex_bytes, parse_literal

T = FieldType


@pytest.mark.parametrize(
    ("op", "ftype", "is_list", "message"),
    [
        ("contains", T.UINT64, False, "'contains' operator not supported for numeric filters"),
        ("<", T.BOOL, False, "'<' operator not supported for numeric filters"),
        ("bcontains", T.CHARBUF, False, "'bcontains' operator not supported for string filters"),
        ("glob", T.BYTEBUF, False, "'glob' operator not supported for buffer filters"),
        ("startswith", T.IPADDR, False, "'startswith' operator not supported for ip address and network filters"),
        ("==", T.CHARBUF, True, "'=' operator not supported list filters"),
        ("in", T.INT64, True, "list filters are not supported for type 'INT64'"),
        (">", T.SOCKADDR, False, "'>' operator not supported for type 'SOCKADDR'"),
    ],
)
def test_incompatible_operators_have_falcos_messages(op: str, ftype: FieldType, is_list: bool, message: str) -> None:
    assert ops.comparable_error(op, ftype, is_list) == message


@pytest.mark.parametrize(
    ("op", "ftype", "is_list"),
    [("exists", T.SOCKADDR, False), ("regex", T.CHARBUF, False), ("bstartswith", T.BYTEBUF, False),
     ("intersects", T.IPNET, False), ("in", T.CHARBUF, True), ("<=", T.DOUBLE, False)],
)
def test_compatible_operators(op: str, ftype: FieldType, is_list: bool) -> None:
    assert ops.comparable_error(op, ftype, is_list) is None


# -- glob ----------------------------------------------------------------------------------------

_ALPHABET = "ab/.*?[]!-"


@settings(max_examples=400, deadline=None)
@given(st.text(alphabet=_ALPHABET, max_size=8), st.text(alphabet="ab/.-", max_size=8))
def test_glob_agrees_with_fnmatch_on_patterns_without_escapes(pattern: str, value: str) -> None:
    # Python's fnmatchcase is fnmatch(3) without escapes and with '*' crossing '/'.
    assert ops.glob_match(pattern, value) == fnmatch.fnmatchcase(value, pattern)


@pytest.mark.parametrize(
    ("pattern", "value", "expected"),
    [
        ("/usr/bin/*", "/usr/bin/sub/dir/x", True),
        (r"a\*b", "a*b", True),
        (r"a\*b", "axb", False),
        ("[!a]x", "bx", True),
        ("[^a]x", "ax", False),
        ("[[:digit:]]*", "7up", True),
        ("*.log", "/var/log/syslog.log", True),
        ("x[", "x[", True),
        ("", "", True),
        ("*", "anything/at/all", True),
    ],
)
def test_glob_cases(pattern: str, value: str, expected: bool) -> None:
    assert ops.glob_match(pattern, value) is expected


def test_iglob_is_case_insensitive() -> None:
    assert ops.glob_match("*.LOG", "a.log", casefold=True)
    assert ops.glob_match("MyExe", "myexe", casefold=True)
    assert not ops.glob_match("*.LOG", "a.log")


# -- pmatch --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("paths", "value", "expected"),
    [
        (("/opt/dir",), "/opt/dir/subdir/file.txt", True),
        (("/opt/di",), "/opt/dir/subdir/file.txt", False),
        (("/opt/*/subdir",), "/opt/dir/subdir/file.txt", True),
        (("/opt/*/*/subsubdir",), "/opt/dir/subdir/file.txt", False),
        (("/opt/dir",), "/opt/dir", True),
        (("/a", "/b/c"), "/b/c/d", True),
        (("/a/b/c",), "/a/b", False),
    ],
)
def test_pmatch_is_a_component_wise_prefix(paths: tuple[str, ...], value: str, expected: bool) -> None:
    assert ops.compile_pmatch(paths)(value) is expected


# -- regex ---------------------------------------------------------------------------------------


def test_regex_is_anchored_at_both_ends() -> None:
    assert ops.compile_regex("syscal.*")("syscall")
    assert not ops.compile_regex("yscal.*")("syscall")
    assert ops.compile_regex("^[s]{1}ysca[l]{2}$")("syscall")


def test_bad_regex_reports_re2s_error() -> None:
    with pytest.raises(LiteralError) as info:
        ops.compile_regex("(unclosed")
    assert str(info.value).startswith("invalid regex pattern: ")


@pytest.mark.parametrize(
    ("pattern", "simple"),
    [("syscall", True), ("^syscall$", True), (".*syscall.*", True), (".?syscall", True),
     ("syscall.{1}", False), (r"syscall\.*", False), ("s.*l", False), ("syscal[l]?", False)],
)
def test_simple_regexes_are_recognised(pattern: str, simple: bool) -> None:
    assert ops.regex_is_simple(pattern) is simple


# -- literals ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("ftype", "text", "value"),
    [
        (T.UINT32, "-1", 4294967295),
        (T.INT64, "-22", -22),
        (T.UINT8, "257", 1),
        (T.PORT, "http", 80),
        (T.PORT, "8080", 8080),
        (T.BOOL, "true", True),
        (T.IPADDR, "127.0.0.1", ipaddress.IPv4Address("127.0.0.1")),
        (T.IPADDR, "::1", ipaddress.IPv6Address("::1")),
        (T.IPNET, "10.1.2.3/8", ipaddress.IPv4Network("10.0.0.0/8")),
        (T.IPNET, "2001:db8::/32", ipaddress.IPv6Network("2001:db8::/32")),
        (T.BYTEBUF, "a\x00b", b"a\x00b"),
    ],
)
def test_literals_parse_by_type(ftype: FieldType, text: str, value: object) -> None:
    assert parse_literal(ftype, text) == value


@pytest.mark.parametrize(
    ("ftype", "text", "message"),
    [
        (T.INT32, "1.0", "invalid number 1.0"),
        (T.UINT64, "0x10", "invalid number 0x10"),
        (T.BOOL, "1", "filter error: unrecognized boolean value 1"),
        (T.PORT, "nosuchservice", "unrecognized protocol nosuchservice"),
        (T.IPADDR, "1.2.3", "unrecognized IPv4 address 1.2.3"),
        (T.IPNET, "10.0.0.0", "unrecognized IP network 10.0.0.0"),
        (T.IPNET, "10.0.0.0/33", "invalid netmask 33"),
    ],
)
def test_bad_literals_have_falcos_messages(ftype: FieldType, text: str, message: str) -> None:
    with pytest.raises(LiteralError) as info:
        parse_literal(ftype, text)
    assert str(info.value) == message


@pytest.mark.parametrize("text", ["", "2", "2g", "abc_1", "\x00"])
def test_bcontains_wants_hex(text: str) -> None:
    with pytest.raises(LiteralError, match="hex strings only"):
        parse_hex_bytes(text)


# -- transformers --------------------------------------------------------------------------------


def test_single_value_transformers() -> None:
    assert ops.apply_transformer("toupper", "myExé", False) == "MYEXé"
    assert ops.apply_transformer("tolower", ("A", "B"), True) == ("a", "b")
    assert ops.apply_transformer("basename", "/tmp/file_to_run", False) == "file_to_run"
    assert ops.apply_transformer("len", "/tmp/x", False) == 6
    assert ops.apply_transformer("len", ("a", "b"), True) == 2
    assert ops.apply_transformer("b64", "YWFhYmJi", False) == "aaabbb"
    assert ops.apply_transformer("b64", "YWFhLWJiYg", False) == "aaa-bbb"
    assert ops.apply_transformer("b64", "not base64!", False) is None
    assert ops.apply_transformer("toupper", None, False) is None


def test_getopt_follows_posix_rules() -> None:
    assert ops.getopt(("-l", "-p", "8080", "-e", "/bin/sh"), "lp:e:") == ("l", "p", "8080", "e", "/bin/sh")
    assert ops.getopt(("-lpe", "/bin/sh"), "lp:e:") == ("l", "p", "e")
    assert ops.getopt(("-x", "-n"), "n") == ("?", "n")
    assert ops.getopt(("-t",), "t:") == ("",)
    assert ops.getopt(("-n", "--", "-t"), "nt:") == ("n",)
    assert ops.getopt(("--exec", "-n"), "n") == ("n",)
    assert ops.getopt(("arg", "-n"), "n") == ()
    assert ops.getopt(("-t", "v1", "-t", "v2"), "t:", "t") == "v2"
    assert ops.getopt(("-n",), "nt:", "t") is None


def test_join_and_concat_render_values() -> None:
    assert ops.join(",", ops.make_list(1, "a")) == "1,a"
    assert ops.join(",", ()) == ""
    assert ops.concat("a", "b", "c") == "abc"
    assert ops.concat("a", None) is None
    assert ops.make_list("a", None) is None
