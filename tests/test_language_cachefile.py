"""The parser cache file: where it lives, when it is refused, and that a cached parser parses alike."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from lark import Lark

from detector.language import cachefile, parser

SAMPLES = [
    "proc.name in (sh, bash) and not fd.name startswith /etc",
    "evt.type = execve and\n proc.aname[2] = 'a b'",
    "tolower(proc.name) = x or m1",
    "proc.name in (a, b",
]


def _build(cache: str | bool) -> Lark:
    return Lark(
        parser.GRAMMAR_PATH.read_text(encoding="utf-8"),
        parser="lalr",
        lexer="contextual",
        propagate_positions=False,
        maybe_placeholders=True,
        transformer=parser._Builder(),
        lexer_callbacks={"QUOTED": parser._unescape_token, "ARG_QUOTED": parser._unescape_token},
        cache=cache,
    )


def _parses(lark: Lark) -> list[object]:
    out: list[object] = []
    for text in SAMPLES:
        try:
            out.append(lark.parse(text))
        except Exception as exc:  # noqa: BLE001 - the comparison is about which error
            out.append(type(exc).__name__)
    return out


def test_cache_directory_follows_the_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("DETECTOR_CACHE_DIR", str(tmp_path / "here"))
    assert cachefile.cache_dir() == tmp_path / "here"
    monkeypatch.setenv("DETECTOR_CACHE_DIR", "")
    assert cachefile.cache_dir() is None
    assert cachefile.parser_cache_file() is None
    monkeypatch.delenv("DETECTOR_CACHE_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cachefile.cache_dir() == tmp_path / "xdg" / "detector"


def test_cache_file_is_made_private_and_others_are_refused(tmp_path: Path) -> None:
    path = cachefile.parser_cache_file(tmp_path / "cache")
    assert path == str(tmp_path / "cache" / cachefile.PARSER_CACHE_NAME)
    if not hasattr(os, "getuid"):
        pytest.skip("ownership checks need POSIX")
    assert (tmp_path / "cache").stat().st_mode & 0o077 == 0
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o777)
    assert cachefile.parser_cache_file(shared) is None
    writable = tmp_path / "private"
    writable.mkdir(mode=0o700)
    (writable / cachefile.PARSER_CACHE_NAME).write_bytes(b"")
    (writable / cachefile.PARSER_CACHE_NAME).chmod(0o666)
    assert cachefile.parser_cache_file(writable) is None


def test_parser_loaded_from_the_cache_parses_like_a_built_one(tmp_path: Path) -> None:
    path = cachefile.parser_cache_file(tmp_path)
    assert path is not None
    first = _build(path)  # builds and writes the file
    assert Path(path).stat().st_size > 0
    second = _build(path)  # loads it
    assert _parses(second) == _parses(first) == _parses(_build(False))
