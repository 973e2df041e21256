"""What an alert costs once a rule has matched: rendering it and writing its line.

    python benchmarks/alerts.py EVENTS.jsonl [--rules FILE ...] [--repeat 5]

Loads the rules (the three upstream syscall files with every rule enabled), reads the events
(a prefix of the benchmark workload will do: ``head -200000 benchmarks/out/events-*.jsonl``),
keeps the ``(rule, event)`` pairs the engine matches, then times,
over those pairs, creating the alerts (``Engine._alert``, i.e. ``Alert.from_event``) and writing
them to a file the way ``detector replay --output-file`` does, as text and as JSON lines.
Figures are CPU time per alert in microseconds, best of ``--repeat`` runs.
"""

from __future__ import annotations

import gc
import os
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import click  # noqa: E402

from benchmarks.upstream import bench_ruleset, best_cpu_seconds, every_rule  # noqa: E402
from detector.engine import Engine, EngineOptions  # noqa: E402
from detector.outputs.sinks import FileSink, LineFormat  # noqa: E402
from detector.sources import BadLineStats, read_records  # noqa: E402


@click.command()
@click.argument("events", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--rules", "rules", multiple=True, type=click.Path(exists=True),
              help="Rules files (default: the upstream ones under ../shared).")
@click.option("--repeat", default=5, show_default=True)
def main(events: Path, rules: Sequence[str], repeat: int) -> None:
    ruleset = bench_ruleset(rules)
    options = EngineOptions(selection=every_rule(), hostname="bench")
    engine = Engine(ruleset, options)
    iso_engine = Engine(ruleset, EngineOptions(selection=options.selection, hostname="bench",
                                                      time_format_iso_8601=True))

    started = time.perf_counter()
    pairs: list[tuple[Any, Any, str]] = []
    events_read = 0
    for record in read_records([str(events)], stats=BadLineStats()):
        events_read += 1
        for active in engine._match(record.event, record.source):
            pairs.append((active, record.event, record.source))
    click.echo(f"{events_read:,} events, {len(pairs):,} alerts ({time.perf_counter() - started:.1f} s to match)")
    if not pairs:
        return
    gc.freeze()
    now = time.time_ns()

    def create(eng: Engine) -> Callable[[], None]:
        alert = eng._alert

        def run() -> None:
            for active, event, source in pairs:
                alert(active, event, source, now)

        return run

    def create_and_write(eng: Engine, fmt: LineFormat) -> Callable[[], None]:
        alert = eng._alert

        def run() -> None:
            with tempfile.TemporaryDirectory() as tmp:
                sink = FileSink(os.path.join(tmp, "alerts"), fmt)
                write = sink.write
                for active, event, source in pairs:
                    write(alert(active, event, source, now))
                sink.close()

        return run

    def write_only(fmt: LineFormat) -> Callable[[], None]:
        alerts = [engine._alert(active, event, source, now) for active, event, source in pairs]

        def run() -> None:
            with tempfile.TemporaryDirectory() as tmp:
                sink = FileSink(os.path.join(tmp, "alerts"), fmt)
                write = sink.write
                for a in alerts:
                    write(a)
                sink.close()

        return run

    n = len(pairs)
    cases: list[tuple[str, Callable[[], Any]]] = [
        ("create (Alert.from_event)", create(engine)),
        ("write text line only", write_only(LineFormat())),
        ("write JSON line only", write_only(LineFormat(json_output=True))),
        ("create + write text", create_and_write(engine, LineFormat())),
        ("create + write JSON", create_and_write(engine, LineFormat(json_output=True))),
        ("create + write JSON, iso8601", create_and_write(iso_engine, LineFormat(json_output=True))),
    ]
    for label, fn in cases:
        seconds = best_cpu_seconds(fn, repeat, collect=True)
        click.echo(f"{label:32s} {seconds / n * 1e6:8.2f} us/alert")


if __name__ == "__main__":
    main()
