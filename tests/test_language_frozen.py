"""Fast construction of frozen dataclasses gives the objects the class itself would."""

from __future__ import annotations

import dataclasses
import pickle

import pytest

from detector.language.ast import BinaryCheck, FieldRef, Span, Value
from detector.language.frozen import constructor, replace
from detector.loader.infos import ListInfo
from detector.loader.yamltree import Mark, YNode


def test_constructor_builds_what_the_class_builds() -> None:
    span = constructor(Span)(0, 5, 1, 1)
    assert span == Span(0, 5, 1, 1) and hash(span) == hash(Span(0, 5, 1, 1))
    check = constructor(BinaryCheck)(constructor(FieldRef)("a.b", None, span), "=", Value("x"), None, span)
    assert check == BinaryCheck(FieldRef("a.b"), "=", Value("x"))
    assert check.span is span and repr(check) == repr(BinaryCheck(FieldRef("a.b"), "=", Value("x")))
    assert pickle.loads(pickle.dumps(check)) == check
    node = constructor(YNode)("scalar", Mark(0, 1, 1), Mark(3, 1, 4), "abc", "", (), (), {})
    assert node == YNode("scalar", Mark(0, 1, 1), Mark(3, 1, 4), text="abc")


def test_built_objects_stay_frozen() -> None:
    mark = constructor(Mark)(1, 2, 3)
    with pytest.raises(dataclasses.FrozenInstanceError):
        mark.line = 5  # type: ignore[misc]


def test_constructor_refuses_classes_whose_init_does_more() -> None:
    @dataclasses.dataclass(frozen=True, slots=True)
    class Checked:
        value: int

        def __post_init__(self) -> None:
            if self.value < 0:
                raise ValueError(self.value)

    @dataclasses.dataclass(frozen=True)
    class Unslotted:
        value: int

    with pytest.raises(TypeError, match="__post_init__"):
        constructor(Checked)
    with pytest.raises(TypeError, match="not a plain slot field"):
        constructor(Unslotted)


def test_replace_matches_dataclasses_replace() -> None:
    info = ListInfo("shells", ("sh", "bash"), ctx=None)  # type: ignore[arg-type]
    assert replace(info, index=3, visibility=7) == dataclasses.replace(info, index=3, visibility=7)
    assert replace(info) == info and replace(info) is not info
    with pytest.raises(TypeError, match="no field 'nope'"):
        replace(info, nope=1)
