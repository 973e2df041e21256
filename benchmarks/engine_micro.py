"""Per event type: what the prefilter's partial decode and generated check cost, against orjson.

    python benchmarks/engine_micro.py EVENTS.jsonl [--lines 100000] [--rules FILE ...]

Loads the rules (the three upstream files with every rule enabled by default), lets the
prefilter learn its plans on the file, then times, per event type, ``orjson.loads``, the plan's
msgspec decode and its check over the type's lines (CPU time, best of several runs), and prints
how many lines of each type still need the full path.  Figures are per line, in microseconds.
"""

from __future__ import annotations

import gc
import sys
from collections import defaultdict
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import click  # noqa: E402
import orjson  # noqa: E402

from benchmarks.upstream import bench_ruleset, best_cpu_seconds, every_rule  # noqa: E402
from detector.engine import Engine  # noqa: E402
from detector.sources import BadLineStats, read_records  # noqa: E402


@click.command()
@click.argument("events", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--lines", default=100_000, show_default=True, help="Lines of EVENTS to use.")
@click.option("--rules", "rules", multiple=True, type=click.Path(exists=True),
              help="Rules files (default: the upstream ones under ../shared).")
@click.option("--repeat", default=5, show_default=True)
def main(events: Path, lines: int, rules: Sequence[str], repeat: int) -> None:
    engine = Engine(bench_ruleset(rules), selection=every_rule())
    data = []
    with events.open("rb") as handle:
        for i, line in enumerate(handle):
            if i >= lines:
                break
            data.append(line.rstrip(b"\n"))
    sample = events.with_suffix(".micro-sample.jsonl")
    sample.write_bytes(b"\n".join(data) + b"\n")
    prefilter = engine.line_prefilter()
    for record in read_records([sample], stats=BadLineStats(), prefilter=prefilter):
        engine.process(record.event, record.source)
    sample.unlink()
    by_type: dict[bytes, list[bytes]] = defaultdict(list)
    for line in data:
        at = line.find(b'"evt.type":"') + 12
        by_type[line[at:line.find(b'"', at)]].append(line)
    gc.disable()
    print(f"{'type':12s} {'lines':>7s} {'orjson':>8s} {'decode':>8s} {'check':>8s} {'full path':>9s}")
    for raw, group in sorted(by_type.items(), key=lambda kv: -len(kv[1])):
        plan = prefilter.plans.get(raw)
        loads = best_cpu_seconds(lambda g=group: _each(orjson.loads, g, ()), repeat) / len(group) * 1e6
        if plan is None:
            print(f"{raw.decode():12s} {len(group):7d} {loads:8.2f} {'-':>8s} {'-':>8s} {'all':>9s}")
            continue
        decode = prefilter.decode  # the union: each line gets its type's struct
        errors = prefilter.errors
        decoded = []
        for line in group:
            try:
                decoded.append(decode(line))
            except errors:
                pass
        dec = best_cpu_seconds(lambda g=group, f=decode, e=errors: _each(f, g, e), repeat) / len(group) * 1e6
        if plan.evaluate is None:
            print(f"{raw.decode():12s} {len(group):7d} {loads:8.2f} {dec:8.2f} {'skip':>8s} {0:9d}")
            continue

        def check(d: Any) -> int:
            return d.check()  # type: ignore[no-any-return]  # the plan's function, memoised

        passed = sum(1 for d in decoded if _try(check, d, errors) != 0)
        timed = best_cpu_seconds(lambda e=errors, ds=decoded: _each(check, ds, e), repeat)
        check_us = timed / max(len(decoded), 1) * 1e6
        full = passed + len(group) - len(decoded)
        print(f"{raw.decode():12s} {len(group):7d} {loads:8.2f} {dec:8.2f} {check_us:8.2f} {full:9d}")


def _each(fn: Callable[[Any], Any], values: Sequence[Any], errors: tuple[type[BaseException], ...]) -> None:
    """``fn`` on every value, each result dropped at once, as the reader drops it (a list of all
    results would time the allocator instead: it made ``orjson.loads`` look twice as slow)."""
    for value in values:
        try:
            fn(value)
        except errors:
            pass


def _try(fn: Callable[[Any], Any], value: Any, errors: tuple[type[BaseException], ...]) -> Any:
    try:
        return fn(value)
    except errors:
        return 1


if __name__ == "__main__":
    main()
