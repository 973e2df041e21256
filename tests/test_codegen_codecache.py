"""The cache of compiled generated code (``detector.codegen.codecache``)."""

from __future__ import annotations

from pathlib import Path

import pytest

from detector.codegen import codecache
from detector.codegen.codecache import CodeCache

SOURCE = "# K1 = frozenset({'a', 'b'})\ndef f(x):\n    return x + 1\n"


def _run(code: object) -> int:
    namespace: dict[str, object] = {}
    exec(code, namespace)  # type: ignore[arg-type]
    return namespace["f"](1)  # type: ignore[operator, no-any-return]


def test_a_second_process_gets_the_code_from_the_file(tmp_path: Path) -> None:
    path = str(tmp_path / "code.marshal")
    first = CodeCache(path)
    assert _run(first.compile(SOURCE, "<f>")) == 2
    assert first.stats()["misses"] == 1
    first.save()
    second = CodeCache(path)
    # the same code with its comment notes in another order (another hash seed) is a hit
    code = second.compile(SOURCE.replace("'a', 'b'", "'b', 'a'"), "<f>")
    assert _run(code) == 2
    assert second.stats()["hits"] == 1 and second.stats()["misses"] == 0
    # another name or another body is not
    second.compile(SOURCE, "<g>")
    second.compile(SOURCE.replace("x + 1", "x + 2"), "<f>")
    assert second.stats()["misses"] == 2


def test_a_damaged_or_foreign_file_is_ignored(tmp_path: Path) -> None:
    path = tmp_path / "code.marshal"
    path.write_bytes(b"not the version line\n\x00\x01garbage")
    assert _run(CodeCache(str(path)).compile(SOURCE, "<f>")) == 2
    cache = CodeCache(str(path))
    cache.compile(SOURCE, "<f>")
    cache.save()
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])  # truncated marshal data
    again = CodeCache(str(path))
    assert _run(again.compile(SOURCE, "<f>")) == 2
    assert again.stats()["misses"] == 1


def test_the_file_is_bounded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(codecache, "MAX_ENTRIES", 3)
    path = str(tmp_path / "code.marshal")
    old = CodeCache(path)
    for i in range(3):
        old.compile(SOURCE.replace("x + 1", f"x + {i}"), "<f>")
    old.save()
    new = CodeCache(path)
    for i in range(3, 5):
        new.compile(SOURCE.replace("x + 1", f"x + {i}"), "<f>")
    new.save()
    kept = CodeCache(path)
    kept.compile(SOURCE, "<f>")
    # over the limit: what the writing process used stays, the rest goes
    assert kept.stats()["entries"] <= 3 + 1
    assert CodeCache(path)._load().__len__() <= 3


def test_turned_off_it_just_compiles() -> None:
    cache = CodeCache(None)
    assert _run(cache.compile(SOURCE, "<f>")) == 2
    cache.save()
    assert cache.stats()["entries"] == 0
