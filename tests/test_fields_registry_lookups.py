"""Field lookups sped up for compiling rulesets answer as the plain definitions do."""

from __future__ import annotations

import random

from detector.fields.registry import FieldInfo, FieldSource, get_source
from detector.fields.types import FieldType


def _prefix_by_definition(source: FieldSource, text: str) -> str | None:
    """The shortest field name ``text`` starts with."""
    found = [name for name in source.fields if text.startswith(name)]
    return min(found, key=len) if found else None


def test_field_prefix_matches_its_definition() -> None:
    rnd = random.Random(3)
    for source_name in ("syscall", "k8s_audit"):
        source = get_source(source_name)
        names = list(source.fields)
        texts = ["bash", "", ".", "proc", "proc.", "proc.name", "proc.namex", "x.proc.name", "/usr/bin/x",
                 "evt.arg.fd", "ka.verb", "jevt.value[/x]"]
        for _ in range(3000):
            name = rnd.choice(names)
            cut = rnd.randrange(len(name) + 1)
            texts.append(name[:cut] + rnd.choice(["", ".x", "x", "[1]", " a"]))
        for text in texts:
            assert source.field_prefix(text) == _prefix_by_definition(source, text), (source_name, text)


def test_field_prefix_without_dotted_names() -> None:
    source = FieldSource("mock", {"name": FieldInfo("name", FieldType.CHARBUF),
                                  "a.b": FieldInfo("a.b", FieldType.CHARBUF)})
    assert source.field_prefix("namex") == "name"
    assert source.field_prefix("a.bc") == "a.b"
    assert source.field_prefix("nam") is None


def test_binding_again_gives_an_equal_field() -> None:
    source = get_source("syscall")
    for name, arg in [("proc.name", None), ("proc.aname", "2"), ("evt.arg.fd", None), ("proc.pid", None)]:
        first, second = source.bind(name, arg), source.bind(name, arg)
        assert (first.info, first.arg, first.key, first.source) == (second.info, second.arg, second.key,
                                                                    second.source)
        assert first.extract({first.key: "7"}) == second.extract({second.key: "7"})
