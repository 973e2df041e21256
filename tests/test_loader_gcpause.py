"""Loading pauses the cyclic garbage collector and always gives it back as it found it."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from detector.loader import RulesLoader, load_rules
from detector.loader.api import cyclic_gc_paused

RULE = "- rule: r\n  desc: d\n  condition: proc.name = a\n  output: o\n  priority: INFO\n"
BROKEN = "- rule: r\n  desc: d\n  condition: proc.name = (\n  output: o\n  priority: INFO\n"


@pytest.fixture
def gc_state() -> Iterator[None]:
    was = gc.isenabled()
    yield
    if was:
        gc.enable()
    else:
        gc.disable()


def test_paused_inside_and_restored_after(gc_state: None) -> None:
    gc.enable()
    with cyclic_gc_paused():
        assert not gc.isenabled()
    assert gc.isenabled()
    with pytest.raises(RuntimeError), cyclic_gc_paused():
        raise RuntimeError("boom")
    assert gc.isenabled()


def test_left_off_when_it_was_off(gc_state: None) -> None:
    gc.disable()
    with cyclic_gc_paused():
        assert not gc.isenabled()
    assert not gc.isenabled()
    load_rules(RULE)
    assert not gc.isenabled()


@pytest.mark.parametrize("text", [RULE, BROKEN])
def test_loading_gives_the_collector_back(gc_state: None, text: str) -> None:
    gc.enable()
    seen: list[bool] = []
    loader = RulesLoader()
    original = loader._load_text

    def spy(text: str, name: str) -> object:
        seen.append(gc.isenabled())
        return original(text, name)

    loader._load_text = spy  # type: ignore[method-assign]
    loader.load_text(text)
    assert seen == [False]
    assert gc.isenabled()
    result = load_rules(text, text)
    assert gc.isenabled()
    assert result.ok == (text == RULE)
