"""The fast engine against the plain one: per-type buckets and the line prefilter lose no alert.

Reference path: every line decoded in full (``read_records`` without a
prefilter), every candidate rule evaluated on its own with the rule's own
compiled condition (itself proven against the reference interpreter by the
codegen tests), and a sample checked with ``Interpreter`` directly.  Fast path:
``read_records(..., prefilter=engine.line_prefilter())`` and ``Engine.process``
(buckets).  Both must give the same alerts for the same lines, in both
``rule_matching`` modes, on generated events, on the real exports and on
lines written to trip the prefilter.
"""

from __future__ import annotations

import gzip
import io
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import orjson
import pytest

from detector.codegen import Interpreter
from detector.engine import Engine, RuleSelection, SelectionAction
from detector.engine.prefilter import LinePrefilter
from detector.loader import load_rules
from detector.sources import BadLineStats, read_records
from tests.shared import shared_dir, shared_path

UPSTREAM = ("falco_rules.yaml", "falco-incubating_rules.yaml", "falco-sandbox_rules.yaml")
EVERYTHING = RuleSelection((SelectionAction("enable", rule="*"),))

# Lines built to go wrong in a prefilter that trusted the raw bytes too much.
TRICKY: list[bytes] = [
    # the first evt.type names a type without rules, the last (the one that counts) one with rules
    b'{"evt.type":"read","evt.num":1,"evt.type":"openat","evt.is_open_read":true,"fd.typechar":"f",'
    b'"fd.num":3,"fd.name":"/etc/shadow","fd.directory":"/etc","proc.name":"cat","container.id":"host"}',
    # the reverse: looks like openat, is read
    b'{"evt.type":"openat","evt.num":2,"evt.type":"read","fd.name":"/etc/shadow","proc.name":"cat"}',
    # escaped slashes and an escaped key
    b'{"evt.type":"openat","evt.num":3,"evt.is_open_read":true,"fd.typechar":"f","fd.num":3,'
    b'"fd.name":"\\/etc\\/shadow","fd.directory":"\\/etc","proc\\u002ename":"cat","container.id":"host"}',
    # a number where a string is expected, a string where a boolean is
    b'{"evt.type":"openat","evt.num":4,"evt.is_open_read":"true","fd.typechar":"f","fd.num":"3",'
    b'"fd.name":"/etc/shadow","fd.directory":"/etc","proc.name":7,"container.id":"host"}',
    # non-ASCII text
    b'{"evt.type":"openat","evt.num":5,"evt.is_open_read":true,"fd.typechar":"f","fd.num":3,'
    b'"fd.name":"/etc/shadow","fd.directory":"/etc","proc.name":"ch\xc3\xa2t","container.id":"host"}',
    # an explicit syscall source, and another source
    b'{"source":"syscall","evt.type":"openat","evt.num":6,"evt.is_open_read":true,"fd.typechar":"f",'
    b'"fd.num":3,"fd.name":"/etc/shadow","fd.directory":"/etc","proc.name":"cat","container.id":"host"}',
    b'{"source":"k8s_audit","evt.type":"openat","evt.num":7}',
    # nested values where rules read them and where they do not
    b'{"evt.type":"openat","evt.num":8,"evt.is_open_read":true,"fd.typechar":"f","fd.num":3,'
    b'"fd.name":["/etc/shadow"],"proc.name":"cat"}',
    b'{"evt.type":"read","evt.num":9,"extra":{"a":[1,2,{"b":null}]}}',
    # a Falco alert line whose output_fields hold the event
    b'{"output":"x","priority":"Warning","rule":"r","time":"2024-01-01T00:00:00Z","source":"syscall",'
    b'"output_fields":{"evt.type":"openat","evt.num":10,"evt.is_open_read":true,"fd.typechar":"f",'
    b'"fd.num":3,"fd.name":"/etc/shadow","fd.directory":"/etc","proc.name":"cat","container.id":"host"}}',
    # whitespace layouts, a CR line end, a type with odd characters, null values
    b'{ "evt.type" : "openat" , "evt.num" : 11 , "evt.is_open_read" : true , "fd.typechar" : "f" ,'
    b' "fd.num" : 3 , "fd.name" : "/etc/shadow" , "fd.directory" : "/etc" , "proc.name" : "cat" }',
    b'{"evt.type":"openat","evt.num":12,"evt.is_open_read":true,"fd.typechar":"f","fd.num":3,'
    b'"fd.name":"/etc/shadow","fd.directory":"/etc","proc.name":"cat","container.id":"host"}\r',
    b'{"evt.type":"open at","evt.num":13}',
    b'{"evt.type":"openat","evt.num":14,"fd.name":null,"proc.name":null,"evt.is_open_read":null}',
    # broken lines of a type without rules and of a type with rules
    b'{"evt.type":"read","evt.num":15,',
    b'{"evt.type":"openat","evt.num":16,"fd.name":"/etc/shadow"',
    # integers beyond 64 bits where rules read integers
    b'{"evt.type":"openat","evt.num":17,"evt.is_open_read":true,"fd.typechar":"f",'
    b'"fd.num":18446744073709551616,"fd.name":"/etc/shadow","fd.directory":"/etc","proc.name":"cat"}',
]


@pytest.fixture(scope="module")
def upstream() -> Any:
    base = shared_dir()
    if base is None:
        pytest.skip("shared reference material not found")
    result = load_rules(*(base / "falco" / "rules" / name for name in UPSTREAM))
    assert not result.errors
    return result.ruleset


def _engine(ruleset: Any, matching: str) -> Engine:
    return Engine(ruleset, selection=EVERYTHING, rule_matching=matching, hostname="h")


def _reference(engine: Engine, data: bytes) -> tuple[list[tuple[int, list[str]]], BadLineStats]:
    """Full decoding, each candidate rule on its own with its own compiled condition."""
    first = engine.options.rule_matching == "first"
    stats = BadLineStats()
    found = []
    for record in read_records(_as_file(data), stats=stats):
        names = []
        for active in engine.candidates(record.event, record.source):
            if active.rule.compiled.matches(record.event):
                names.append(active.rule.name)
                if first:
                    break
        found.append((record.line, names))
    return found, stats


def _fast(engine: Engine, data: bytes, prefilter: LinePrefilter) -> tuple[list[tuple[int, list[str]]], BadLineStats]:
    stats = BadLineStats()
    found = []
    for record in read_records(_as_file(data), stats=stats, prefilter=prefilter):
        # as replay does: the rules the prefilter found matching are not evaluated again
        alerts = engine.process(record.event, record.source, record.matched)
        if record.matched is not None:
            assert [a.rule for a in alerts] == [a.rule for a in engine.process(record.event, record.source)]
        found.append((record.line, [a.rule for a in alerts]))
    return found, stats


_FILES: list[Path] = []


def _as_file(data: bytes) -> Path:
    """read_records takes paths: the data in a file under the module's temporary folder."""
    path = _FILES[0] / f"input-{len(_FILES)}.jsonl"
    _FILES.append(path)
    path.write_bytes(data)
    return path


@pytest.fixture(scope="module", autouse=True)
def _folder(tmp_path_factory: pytest.TempPathFactory) -> Any:
    _FILES[:] = [tmp_path_factory.mktemp("fastpath")]
    yield
    _FILES.clear()


def _alerting(found: Iterable[tuple[int, list[str]]]) -> dict[int, list[str]]:
    return {line: names for line, names in found if names}


def _generated(events: int, seed: int, share: float) -> bytes:
    from benchmarks.generate import WorkloadSpec, write_workload

    out = io.BytesIO()
    write_workload(WorkloadSpec(events, seed=seed, alert_share=share), out)
    return out.getvalue()


def _exports() -> list[str]:
    base = shared_dir()
    if base is None:
        return []
    return sorted(p.name for p in (base / "data" / "events").glob("*.jsonl.gz"))


def _compare(engine: Engine, data: bytes, *, samples: int = 64, stats_too: bool = True) -> int:
    from detector.engine.prefilter import _Trainer

    # Learn from few lines so that the final plans, not only the training ones, see the data.
    _Trainer.SAMPLES = samples
    prefilter = engine.line_prefilter()
    expected, expected_stats = _reference(engine, data)
    got, got_stats = _fast(engine, data, prefilter)
    assert len(got) <= len(expected)  # the prefilter may only drop lines, never add any
    assert _alerting(got) == _alerting(expected)
    if stats_too:
        assert got_stats.as_dict() == expected_stats.as_dict()
    return sum(len(v) for v in _alerting(got).values())


@pytest.fixture(autouse=True)
def _restore_samples() -> Any:
    from detector.engine.prefilter import _Trainer

    saved = _Trainer.SAMPLES
    yield
    _Trainer.SAMPLES = saved


@pytest.mark.parametrize("matching", ["first", "all"])
def test_generated_events_give_the_same_alerts(upstream: Any, matching: str) -> None:
    data = _generated(4000, seed=11, share=0.05)
    engine = _engine(upstream, matching)
    assert _compare(engine, data) > 50
    # and the prefilter did drop most lines before decoding them in full
    got, _ = _fast(engine, data, engine.line_prefilter())
    assert len(got) < 4000 // 2
    # and it found exactly which rules match on many of the lines it kept
    known = [r for r in read_records(_as_file(data), prefilter=engine.line_prefilter()) if r.matched]
    assert len(known) > 50


@pytest.mark.parametrize("export", _exports() or ["absent"])
def test_real_exports_give_the_same_alerts(upstream: Any, export: str) -> None:
    path = shared_path("data", "events", export)
    data = gzip.decompress(path.read_bytes())
    _compare(_engine(upstream, "all"), data, samples=8)


def test_tricky_lines_give_the_same_alerts(upstream: Any) -> None:
    engine = _engine(upstream, "all")
    # Train the plans on ordinary lines first, then feed the tricky ones many times over.
    data = _generated(1500, seed=3, share=0.0) + b"\n".join(TRICKY * 5) + b"\n"
    assert _compare(engine, data, samples=16) > 0


def test_lines_only_the_full_decoder_refuses_are_documented_exceptions(upstream: Any) -> None:
    """Inside a field no rule reads, msgspec skips a number beyond double range; the full path
    calls the line bad.  No alert can come from such a line either way (no rule reads the field),
    which is what the prefilter guarantees; the counts differ, as docs/performance.md says."""
    engine = _engine(upstream, "all")
    # (the first line of a type the prefilter has not seen yet always takes the full path)
    line = b'{"evt.type":"read","evt.num":1}\n{"evt.type":"read","evt.num":2,"unused":1e400}\n'
    expected, expected_stats = _reference(engine, line)
    got, got_stats = _fast(engine, line, engine.line_prefilter())
    assert _alerting(got) == _alerting(expected) == {}
    assert expected_stats.by_kind == {"number_out_of_range": 1}
    assert got_stats.accepted_lines == 2


def test_a_sample_agrees_with_the_interpreter(upstream: Any) -> None:
    """The buckets against the reference interpreter itself, on events that alert and some that do not."""
    engine = _engine(upstream, "all")
    data = _generated(600, seed=5, share=0.2)
    interpreters: dict[str, Interpreter] = {}
    checked = 0
    for record in read_records(_as_file(data)):
        expected = []
        for active in engine.candidates(record.event, record.source):
            rule = active.rule
            run = interpreters.get(rule.name)
            if run is None:
                run = interpreters[rule.name] = Interpreter(rule.expr, rule.source)
            if run(record.event):
                expected.append(rule.name)
        assert [a.rule for a in engine.process(record.event, record.source)] == expected
        checked += bool(expected)
    assert checked > 50


def test_caches_are_bounded_and_reported(upstream: Any) -> None:
    engine = _engine(upstream, "first")
    prefilter = engine.line_prefilter()
    prefilter.max_plans = 3
    data = b"".join(orjson.dumps({"evt.type": t, "evt.num": i}) + b"\n"
                    for i, t in enumerate(["read", "openat", "execve", "connect", "clone", "mount"] * 3))
    got, stats = _fast(engine, data, prefilter)
    # Only the first three types got a plan: ``read`` lines are dropped by theirs (no rule reads
    # them) except the first one (it made the plan), every other line takes the full path; all
    # 18 are counted.
    assert prefilter.stats()["event_types"] == 3
    assert len(got) == 16 and stats.records == 18
    limits = engine.cache_stats["syscall"]
    assert limits["event_types"] <= limits["event_types_limit"]
