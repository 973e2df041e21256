"""Where replay's time per line goes, stage by stage, against the floor, in one process.

    python benchmarks/stages.py EVENTS.jsonl [--lines 150000] [--repeat 7] [--rules FILE ...]

Every stage is a full pass over the same lines (the first ``--lines`` of EVENTS), and the
passes are interleaved and repeated, so that the machine's ups and downs fall on all of them
alike; each figure is the least CPU time of its passes, per line.  The stages:

* ``floor``: read lines and ``orjson.loads`` each (run (b) of ``run_all.py``);
* ``read``: the reader's line cutting alone (``detector.sources.jsonlines``);
* ``validate``: that, plus what any exact engine must do to a line no rule can match: check
  that it is JSON and read its ``evt.type`` (msgspec, a struct of that one field);
* ``decode``: that, with the prefilter's struct of each type instead (the fields its rules
  read, and the keys that make a line something else);
* ``check``: that, plus each struct's ``check()`` (the memo, the plan's function);
* ``replay``: ``read_records`` with the prefilter and ``Engine.process`` on every record kept:
  what ``detector replay`` does after start-up, without writing the alerts.

The rules (the three upstream files by default, every rule enabled) are loaded and the
prefilter trained on the first 50,000 lines before any pass, so start-up and warm-up are out
of every figure; ``run_all.py`` measures whole runs.
"""

from __future__ import annotations

import gc
import itertools
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import click  # noqa: E402
import msgspec  # noqa: E402
import orjson  # noqa: E402

from benchmarks.upstream import bench_ruleset, every_rule  # noqa: E402
from detector.engine import Engine  # noqa: E402
from detector.sources import BadLineStats, read_records  # noqa: E402
from detector.sources.jsonlines import iter_line_blocks  # noqa: E402

WARM_UP_LINES = 50_000
_BLOCK_LIMIT = 1 << 24


class _TypeOnly(msgspec.Struct, frozen=True, gc=False):
    evttype: str = msgspec.field(name="evt.type", default="")


def stages(path: Path, engine: Engine, prefilter: Any) -> dict[str, Callable[[], Any]]:
    """One pass per stage over ``path`` (see the module docstring), with ``engine`` and its
    trained ``prefilter`` (``Engine.line_prefilter`` makes a new one at each call)."""
    decode, errors = prefilter.decode, prefilter.errors
    validate = msgspec.json.Decoder(_TypeOnly).decode

    def floor() -> None:
        loads = orjson.loads
        with path.open("rb") as handle:
            for line in handle:
                loads(line)

    def lines() -> Any:
        handle = path.open("rb")
        with handle:
            for block, _, _ in iter_line_blocks(handle.read, _BLOCK_LIMIT):
                yield from block

    def read() -> None:
        for _ in lines():
            pass

    def validated() -> None:
        for line in lines():
            if line.isascii():
                validate(line)

    def decoded() -> None:
        for line in lines():
            if line.isascii():
                try:
                    decode(line)
                except errors:
                    pass

    def checked() -> None:
        for line in lines():
            if line.isascii():
                try:
                    decode(line).check()
                except errors:
                    pass

    def replay() -> None:
        process = engine.process
        for record in read_records([path], stats=BadLineStats(), prefilter=prefilter):
            process(record.event, record.source, record.matched)

    return {"floor": floor, "read": read, "validate": validated, "decode": decoded, "check": checked,
            "replay": replay}


@click.command()
@click.argument("events", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--lines", "limit", default=150_000, show_default=True, help="Lines of EVENTS to use.")
@click.option("--repeat", default=7, show_default=True, help="Passes of each stage (the least is kept).")
@click.option("--rules", "rules", multiple=True, type=click.Path(exists=True),
              help="Rules files (default: the upstream ones under ../shared, every rule enabled).")
def main(events: Path, limit: int, repeat: int, rules: Sequence[str]) -> None:
    engine = Engine(bench_ruleset(rules), selection=every_rule())
    with tempfile.TemporaryDirectory() as tmp:
        sample, warm = Path(tmp) / "sample.jsonl", Path(tmp) / "warm.jsonl"
        with events.open("rb") as handle:
            head = list(itertools.islice(handle, max(limit, WARM_UP_LINES)))
        sample.write_bytes(b"".join(head[:limit]))
        warm.write_bytes(b"".join(head[:WARM_UP_LINES]))
        count = min(limit, len(head))
        prefilter = engine.line_prefilter()
        for record in read_records([warm], stats=BadLineStats(), prefilter=prefilter):
            engine.process(record.event, record.source, record.matched)
        gc.freeze()  # as replay does: what was built so far is never collected again
        passes = stages(sample, engine, prefilter)
        times: dict[str, list[float]] = {name: [] for name in passes}
        for _ in range(repeat):
            for name, run in passes.items():
                start = time.process_time()
                run()
                times[name].append((time.process_time() - start) / count * 1e6)
    floor = min(times["floor"])
    click.echo(f"{count:,} lines of {events.name}, {repeat} interleaved passes each, least CPU time kept")
    click.echo(f"{'stage':10s} {'us/line':>8s} {'median':>8s} {'floor/stage':>12s}")
    for name, values in times.items():
        best = min(values)
        click.echo(f"{name:10s} {best:8.2f} {sorted(values)[len(values) // 2]:8.2f} {floor / best:11.2f}x")


if __name__ == "__main__":
    main()
