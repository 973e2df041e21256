"""The lean driver's tables kept as plain data: they parse as Lark's do, are loaded without
Lark, and a stale or damaged file is only a cache miss."""

from __future__ import annotations

import json
import marshal
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from detector.language import cachefile, parser
from detector.language.lalr import Tables, run, table_spec
from tests.ast_support import with_spans
from tests.shared import PROJECT_ROOT

# Valid conditions, then two errors.
SAMPLES = [
    "proc.name in (sh, bash) and not fd.name startswith /etc",
    "evt.type = execve and\n proc.aname[2] = 'a b'",
    "tolower(proc.name) = x or m1",
    "proc.name = val(proc.pname) and join(\",\", (proc.name, \"x\")) = \"a,b\"",
    "getopt(proc.args, \"nt:\")[t] = 1 and proc.name = oneof (a, b)",
    "not (a) and (b) or (c) and evt.num > 0x1F and not(d)",
    "proc.name in (a, b",
    "proc.name = \"bad \\q escape\"",
]


def _runs(tables: Tables) -> list[Any]:
    out = []
    for text in SAMPLES:
        built = run(tables, text, 1000)
        out.append(None if built is None else (with_spans(built[0]), built[1]))
    return out


def test_tables_from_a_marshalled_spec_parse_like_lark_s_own() -> None:
    lark = parser._lark()
    unescaped = frozenset({"QUOTED", "ARG_QUOTED"})
    spec = table_spec(lark, unescaped)
    again = marshal.loads(marshal.dumps(spec))
    from_spec = Tables.from_spec(again, parser._Builder(), unescaped=unescaped, unescape=parser.unescape)
    from_lark = Tables.from_lark(lark, unescaped=unescaped, unescape=parser.unescape)
    results = _runs(from_spec)
    assert results == _runs(from_lark)
    assert all(r is not None for r in results[:-2])
    assert results[-2] is None and results[-1] is None  # errors are Lark's to word
    for text, built in zip(SAMPLES, results, strict=True):
        if built is not None:
            assert built[0] == with_spans(parser._parse_with_lark(text, 1000))


def _parse_in_fresh_process(cache: Path, texts: list[str]) -> tuple[list[str], bool]:
    script = (
        "import json, sys\n"
        "from detector.language import parse\n"
        "from detector.language.printer import as_string\n"
        "out = []\n"
        f"for text in {texts!r}:\n"
        "    try:\n"
        "        out.append(as_string(parse(text)))\n"
        "    except Exception as exc:\n"
        "        out.append(type(exc).__name__ + ': ' + str(exc))\n"
        "print(json.dumps([out, 'lark' in sys.modules]))\n"
    )
    done = subprocess.run([sys.executable, "-c", script], cwd=PROJECT_ROOT, capture_output=True, text=True,
                          env={**os.environ, "DETECTOR_CACHE_DIR": str(cache)}, timeout=120, check=True)
    found: list[Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return found[0], found[1]


def test_a_process_with_the_tables_cached_parses_without_lark(tmp_path: Path) -> None:
    valid = SAMPLES[:6]
    first, first_lark = _parse_in_fresh_process(tmp_path, valid)
    path = tmp_path / cachefile.TABLES_CACHE_NAME
    assert path.stat().st_size > 0
    second, second_lark = _parse_in_fresh_process(tmp_path, valid)
    assert first_lark and not second_lark
    assert second == first
    # an error still gets Lark's wording, from the same process
    errors, lark_used = _parse_in_fresh_process(tmp_path, SAMPLES[6:])
    assert lark_used and all(e.startswith("ConditionSyntaxError") for e in errors)


@pytest.mark.parametrize("damage", ["other key", "garbage body", "truncated", "empty"])
def test_a_stale_or_damaged_tables_file_is_rebuilt(tmp_path: Path, damage: str) -> None:
    expected, _ = _parse_in_fresh_process(tmp_path, SAMPLES)
    path = tmp_path / cachefile.TABLES_CACHE_NAME
    data = path.read_bytes()
    key, _, body = data.partition(b"\n")
    if damage == "other key":
        path.write_bytes(b"v0-00000000-0\n" + body)
    elif damage == "garbage body":
        path.write_bytes(key + b"\n" + marshal.dumps({"rules": [("call", "no_such_method")]}))
    elif damage == "truncated":
        path.write_bytes(data[: len(data) // 2])
    else:
        path.write_bytes(b"")
    again, _ = _parse_in_fresh_process(tmp_path, SAMPLES)
    assert again == expected
    assert path.read_bytes().partition(b"\n")[0] == key  # rewritten for this grammar and Lark
    _, lark_used = _parse_in_fresh_process(tmp_path, SAMPLES[:6])
    assert not lark_used


def test_keyed_files_round_trip_and_refuse_another_key(tmp_path: Path) -> None:
    path = str(tmp_path / "f")
    assert cachefile.read_keyed(path, "k1") is None
    cachefile.write_keyed(path, "k1", b"\x00data\nmore")
    assert cachefile.read_keyed(path, "k1") == b"\x00data\nmore"
    assert cachefile.read_keyed(path, "k2") is None
    assert [p.name for p in tmp_path.iterdir()] == ["f"]  # no temporary file left behind
    if hasattr(os, "getuid"):
        assert os.stat(path).st_mode & 0o077 == 0
    assert cachefile.tables_cache_file(tmp_path) == str(tmp_path / cachefile.TABLES_CACHE_NAME)


def test_scanners_are_compiled_when_first_needed_and_a_bad_one_defers_to_lark() -> None:
    lark = parser._lark()
    unescaped = frozenset({"QUOTED", "ARG_QUOTED"})
    spec = table_spec(lark, unescaped)
    tables = Tables.from_spec(spec, parser._Builder(), unescaped=unescaped, unescape=parser.unescape)
    stand_ins = {id(entry[0]) for entry in tables.lexers}
    assert run(tables, SAMPLES[0], 1000) is not None
    compiled = [entry for entry in tables.lexers if id(entry[0]) not in stand_ins]
    assert 0 < len(compiled) < len(tables.lexers)  # only the scanners that parse needed
    damaged = dict(spec, scanners=tuple(("(", flags, nl, ig) for _, flags, nl, ig in spec["scanners"]))
    broken = Tables.from_spec(damaged, parser._Builder(), unescaped=unescaped, unescape=parser.unescape)
    assert run(broken, SAMPLES[0], 1000) is None  # the caller then parses with Lark
