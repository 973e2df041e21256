"""Evaluation only: detector against rule-engine and cel-python on already-decoded events.

``run_all.py`` (e1-e3, g) times whole processes, so every engine there pays for
reading and parsing each line with ``orjson`` first, and detector can never be
more than the floor's throughput ahead of anything.  This script times what the
engines themselves do: the same six conditions (``peer_conditions.py``) over
the same events, decoded beforehand (not timed; for CEL converted to its types
beforehand too), each engine evaluating all six on every event:

* ``detector rules``: the six as rules in one ``Engine`` (indexed by event type,
  one generated function per type) — ``Engine.matching_rules(event)`` with
  ``rule_matching: all``;
* ``detector masks``: the core of that, without building the list of rules: the
  event type's function looked up in the index and called, its bit mask counted;
* ``detector conditions``: each condition compiled on its own
  (``detector.compile_condition``) and all six called on every event, as the
  peers are;
* ``python``: the six hand-written Python functions (the reference);
* ``rule-engine`` and ``cel-python``: the six in their languages, on a prefix of
  the events (they are slow), scaled to events per second.

Match counts are compared on the common prefix, so the engines are checked to
agree.  Best of ``--repeat`` passes.

    .venv/bin/python benchmarks/peers_eval.py benchmarks/out/events-g2-n1000000-s7-a0.01-k0.jsonl
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Sequence
from itertools import islice
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import click  # noqa: E402
import orjson  # noqa: E402

from benchmarks.child import cel_predicates, rule_engine_predicates  # noqa: E402
from benchmarks.peer_conditions import CONDITIONS, falco_rules_yaml  # noqa: E402


def _best(repeat: int, events: Sequence[Any], run: Callable[[Sequence[Any]], int]) -> tuple[float, int]:
    best = float("inf")
    matches = 0
    for _ in range(repeat):
        started = time.process_time()
        matches = run(events)
        best = min(best, time.process_time() - started)
    return len(events) / best if best > 0 else float("inf"), matches


def _each(predicates: Sequence[Callable[[Any], bool]]) -> Callable[[Sequence[Any]], int]:
    def run(events: Sequence[Any]) -> int:
        found = 0
        for event in events:
            for predicate in predicates:
                if predicate(event):
                    found += 1
        return found

    return run


@click.command()
@click.argument("workload", type=click.Path(exists=True, dir_okay=False))
@click.option("-n", "--events", default=200_000, show_default=True, help="Events for detector and python.")
@click.option("--rule-engine-events", default=20_000, show_default=True)
@click.option("--cel-events", default=1_000, show_default=True)
@click.option("--repeat", default=3, show_default=True)
@click.option("--json", "json_path", type=click.Path(dir_okay=False), help="Also write the figures here.")
def main(workload: str, events: int, rule_engine_events: int, cel_events: int, repeat: int,
         json_path: str | None) -> None:
    from detector import Engine, compile_condition, load_rules
    from detector.engine.selection import RuleSelection, SelectionAction

    with open(workload, "rb") as fh:
        decoded = [orjson.loads(line) for line in islice(fh, events)]
    from tempfile import NamedTemporaryFile

    with NamedTemporaryFile("w", suffix=".yaml", delete=False) as rules_file:
        rules_file.write(falco_rules_yaml())
    loaded = load_rules(rules_file.name)
    Path(rules_file.name).unlink()
    if loaded.errors:
        raise click.ClickException(f"the six rules did not load: {loaded.errors[0]}")
    ruleset = loaded.ruleset
    engine = Engine(ruleset, selection=RuleSelection((SelectionAction("enable", rule="*"),)), rule_matching="all")

    def detector_rules(sample: Sequence[Any]) -> int:
        match = engine.matching_rules
        return sum(len(match(event)) for event in sample)

    def detector_masks(sample: Sequence[Any]) -> int:
        """The engine's core: the event type's function (from the index), its mask of matches."""
        bucket = engine.bucket
        found = 0
        for event in sample:
            evttype = event.get("evt.type")
            found += bucket("syscall", evttype if evttype.__class__ is str else None).evaluate(event).bit_count()
        return found

    compiled = [compile_condition(c.falco).matches for c in CONDITIONS]
    results: dict[str, tuple[float, int, int]] = {}
    for name, run, sample in (
        ("detector rules", detector_rules, decoded),
        ("detector masks", detector_masks, decoded),
        ("detector conditions", _each(compiled), decoded),
        ("python", _each([c.python for c in CONDITIONS]), decoded),
        ("rule-engine", _each([p for _, p in rule_engine_predicates()]), decoded[:rule_engine_events]),
    ):
        rate, found = _best(repeat, sample, run)
        results[name] = (rate, found, len(sample))
    predicates, convert = cel_predicates()
    cel_sample = [convert(event) for event in decoded[:cel_events]]
    rate, found = _best(1, cel_sample, _each([p for _, p in predicates]))
    results["cel-python"] = (rate, found, len(cel_sample))

    # Agreement on the common prefix.
    prefix = decoded[:cel_events]
    counts = {
        "detector rules": detector_rules(prefix),
        "detector masks": detector_masks(prefix),
        "detector conditions": _each(compiled)(prefix),
        "python": _each([c.python for c in CONDITIONS])(prefix),
        "rule-engine": _each([p for _, p in rule_engine_predicates()])(prefix),
        "cel-python": results["cel-python"][1],
    }
    if len(set(counts.values())) != 1:
        raise click.ClickException(f"the engines disagree on the first {len(prefix)} events: {counts}")
    longer = decoded[:rule_engine_events]
    if results["rule-engine"][1] != detector_masks(longer) or results["python"][1] != detector_masks(decoded):
        raise click.ClickException("rule-engine, python and detector disagree on their common events")

    base = results["detector rules"][0]  # the public API: Engine.matching_rules
    click.echo(f"evaluation only, six conditions, events decoded beforehand ({len(prefix):,}-event prefix "
               f"agrees: {counts['python']} matches)")
    for name, (rate, _found, size) in results.items():
        click.echo(f"  {name:20s} {rate:>14,.0f} events/s  on {size:>7,} events  "
                   f"detector rules ÷ this: {base / rate:,.1f}x")
    if json_path:
        Path(json_path).write_bytes(orjson.dumps(
            {name: {"events_per_second": rate, "matches": found, "events": size}
             for name, (rate, found, size) in results.items()}, option=orjson.OPT_INDENT_2))


if __name__ == "__main__":
    main()
