"""The prefilter's decoder (a tagged union of per-type structs) and its memoised checks."""

from __future__ import annotations

from typing import Any

import msgspec
import orjson
import pytest

from detector.engine import Engine, RuleSelection, SelectionAction
from detector.engine.prefilter import LinePlan, MemoCheck, struct_class, tagged
from detector.fields.registry import lookup
from detector.loader import load_rules
from detector.sources import BadLineStats, read_records


def _plan(evaluate: Any, limit: int) -> tuple[LinePlan, MemoCheck]:
    cls, _ = struct_class("Probe", [lookup("syscall", "proc.name"), lookup("syscall", "fd.name")])
    memo = MemoCheck(evaluate, limit)
    return LinePlan(cls, evaluate, "", memo), memo


def _decoder(*classes: type) -> Any:
    return msgspec.json.Decoder(classes[0] if len(classes) == 1 else classes[0] | classes[1]).decode


def test_equal_structs_share_a_result_and_the_table_is_bounded() -> None:
    calls: list[Any] = []

    def evaluate(event: Any) -> int:
        calls.append(event)
        return 2 if event.get("proc.name") == "cat" else 0

    plan, memo = _plan(evaluate, limit=3)
    decode = _decoder(tagged(plan, "openat"))
    names = ["cat", "ls", "cat", "cat", "sh", "vi", "cat"]
    got = [decode(orjson.dumps({"evt.type": "openat", "evt.num": i, "proc.name": n, "fd.name": "/etc"})).check()
           for i, n in enumerate(names)]
    assert got == [2 if n == "cat" else 0 for n in names]
    # "cat" twice from the table; the table never held more than 3 entries: cleared once
    assert len(calls) == 5
    assert memo.stats()["resets"] == 1 and memo.stats()["entries"] <= 3
    assert memo.stats()["lines"] == len(names)


def test_types_do_not_share_entries() -> None:
    """A struct equals only a struct of the same class: the same fields under another type
    (whose generated code may read ``evt.type``) are a different key."""
    plan, _ = _plan(lambda event: 1 if event.t == "open" else 0, limit=10)
    decode = _decoder(tagged(plan, "open"), tagged(plan, "openat"))
    line = {"proc.name": "cat", "fd.name": "/etc"}
    assert decode(orjson.dumps({"evt.type": "open", **line})).check() == 1
    assert decode(orjson.dumps({"evt.type": "openat", **line})).check() == 0


def test_memoising_stops_when_it_does_not_pay(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(MemoCheck, "TRIAL", 50)
    plan, memo = _plan(lambda event: 0, limit=1000)
    cls = tagged(plan, "connect")
    decode = _decoder(cls)
    for i in range(60):  # a different struct each time: no hit
        assert decode(orjson.dumps({"evt.type": "connect", "fd.name": f"10.0.0.1:{i}"})).check() == 0
    assert memo.stats()["enabled"] is False and memo.stats()["entries"] == 0
    assert cls.check is plan.evaluate  # type: ignore[attr-defined]


def test_structs_are_memo_keys_only_when_no_field_mixes_types() -> None:
    """1, 1.0 and true compare equal: fields the generated code types itself are declared
    ``str | int`` (a float or a boolean there sends the line to the full path), except double
    fields, which take any scalar; a struct holding one is not memoised."""
    cls, _ = struct_class("Ints", [lookup("syscall", "evt.num"), lookup("syscall", "fd.sip")])
    assert cls.memo_safe  # type: ignore[attr-defined]  # typed by the code, declared str | int
    with pytest.raises(msgspec.ValidationError):
        msgspec.json.decode(b'{"evt.num": 1.0}', type=cls)
    mixed, _ = struct_class("Doubles", [lookup("syscall", "proc.fdusage")])
    assert not mixed.memo_safe  # type: ignore[attr-defined]


def test_unseen_types_are_learnt_and_stats_report_the_memo(tmp_path: Any) -> None:
    from tests.shared import shared_dir

    base = shared_dir()
    if base is None:
        pytest.skip("shared reference material not found")
    ruleset = load_rules(base / "falco" / "rules" / "falco_rules.yaml").ruleset
    engine = Engine(ruleset, selection=RuleSelection((SelectionAction("enable", rule="*"),)))
    lines = [{"evt.type": "openat", "evt.num": i, "evt.is_open_read": True, "fd.typechar": "f", "fd.num": 3,
              "fd.name": "/srv/app/x.js", "fd.directory": "/srv/app", "fd.filename": "x.js",
              "proc.name": "node", "container.id": "abc"} for i in range(400)]
    lines += [{"evt.type": "read", "evt.num": 1000 + i} for i in range(10)]
    path = tmp_path / "events.jsonl"
    path.write_bytes(b"".join(orjson.dumps(x) + b"\n" for x in lines))
    prefilter = engine.line_prefilter()
    stats = BadLineStats()
    kept = list(read_records(path, stats=stats, prefilter=prefilter))
    assert stats.records == 410
    # the first line of each type and the training lines take the full path, then nothing does
    assert len(kept) < 300
    report = prefilter.stats()
    assert report["event_types"] == 2
    assert any(m["lines"] > 0 for m in report["memo"].values())
    assert all(m["entries"] <= m["limit"] for m in report["memo"].values())


def test_a_struct_that_needs_the_full_event_is_memoised_as_such() -> None:
    """A rule needing a field the struct lacks raises on every equal struct: the memo keeps -1
    (decode in full) instead of evaluating the plan again on each such line."""
    calls: list[Any] = []

    def evaluate(event: Any) -> int:
        calls.append(event)
        if event.get("proc.name") == "sh":
            event.get("fd.typechar")  # not a field of the struct: raises
        return 0

    plan, memo = _plan(evaluate, limit=10)
    decode = _decoder(tagged(plan, "openat"))
    lines = [orjson.dumps({"evt.type": "openat", "evt.num": i, "proc.name": n, "fd.name": "/etc"})
             for i, n in enumerate(["sh", "cat", "sh", "sh", "cat"])]
    assert [decode(line).check() for line in lines] == [-1, 0, -1, -1, 0]
    assert len(calls) == 2 and memo.stats()["hits"] == 3


def test_terms_the_struct_can_read_come_first() -> None:
    """A rule whose first conjuncts read fields the struct lacks (``fd.typechar``, ``fd.num``,
    as upstream's ``open_write`` macro does) is still decided false by a later conjunct the
    struct can read, instead of sending the line to the full path."""
    from detector.codegen.bucket import TypeFolder, generate_bucket
    from detector.codegen.generate import FieldNotDecoded
    from detector.engine.buckets import compile_source

    rules = load_rules("""
- rule: typed write below etc
  desc: d
  condition: evt.type = openat and fd.typechar = 'f' and fd.num >= 0 and fd.name startswith /etc
  output: x
  priority: WARNING
""").ruleset
    engine = Engine(rules)
    root = engine.line_prefilter()._cache.index.for_type("openat")[0].checked
    folded = TypeFolder().fold(root, "openat")
    cls, layout = struct_class("Names", [lookup("syscall", "fd.name")])
    code = generate_bucket([folded], struct=layout, order=[])  # no lookups: every term as written
    evaluate = compile_source(code.source, code.namespace, code.name)
    decode = msgspec.json.Decoder(cls).decode
    assert evaluate(decode(b'{"fd.name": "/srv/app/x.js"}')) == 0
    with pytest.raises(FieldNotDecoded):
        evaluate(decode(b'{"fd.name": "/etc/passwd"}'))
