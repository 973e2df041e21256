"""Instructions per event, counted by valgrind: a noise-free companion to ``run_all.py``.

On a shared machine wall and CPU times move by 20-40% from run to run; the number
of instructions a run executes does not.  This script counts them (``valgrind
--tool=cachegrind --cache-sim=no``) for the parse-only floor and for ``detector
replay`` with every upstream syscall rule, on the first N lines of a workload,
and splits replay's count into

* start-up: the run over an empty input (imports, loading the rules);
* warm-up: what the first pass over the N lines costs beyond a second pass
  (plans learnt, per-type code generated or fetched from the cache);
* steady state: the second pass over the same N lines (same process);

then prints instructions per line and the projected ratio to the floor for a
workload of ``--project`` lines.  ``--simulate`` also has cachegrind simulate the
caches and the branch predictor and prints, per line, the floor's and replay's
steady-state data-cache misses and mispredicted branches (slower).  Instructions are not time (interpreted Python
retires fewer per cycle than orjson's C), so the time ratio of ``run_all.py``
stays the figure that counts; this one is for comparing changes.

    .venv/bin/python benchmarks/instructions.py benchmarks/out/events-g2-n1000000-s7-a0.01-k0.jsonl
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import click  # noqa: E402

from benchmarks.upstream import ROOT, upstream_rules  # noqa: E402

FLOOR = """
import sys, orjson
with open(sys.argv[1], 'rb') as f:
    for line in f:
        orjson.loads(line)
"""

REPLAY = """
import gc, sys
from detector import Engine, load_rules
from detector.engine.selection import RuleSelection, SelectionAction
from detector.sources.jsonlines import read_records
rules, paths = sys.argv[1].split(','), sys.argv[2:]
ruleset = load_rules(*rules).ruleset
engine = Engine(ruleset, selection=RuleSelection((SelectionAction('enable', rule='*'),)))
gc.freeze()
prefilter = engine.line_prefilter()
for path in paths:
    for record in read_records(path, prefilter=prefilter):
        engine.process(record.event, record.source, record.matched)
"""


# cachegrind's summary lines: what each counts.
COUNTERS = {"I refs": "instructions", "D refs": "data reads and writes", "D1 misses": "first-level data misses",
            "LLd misses": "last-level data misses", "Mispredicts": "mispredicted branches"}


def _counts(script: str, *args: str, simulate: bool = False) -> dict[str, int]:
    sim = ["--cache-sim=yes", "--branch-sim=yes"] if simulate else ["--cache-sim=no"]
    done = subprocess.run(
        ["valgrind", "--tool=cachegrind", *sim, "--cachegrind-out-file=/dev/null",
         sys.executable, "-c", script, *args],
        capture_output=True, text=True, check=False, cwd=ROOT,
    )
    found = {}
    for name in COUNTERS:
        match = re.search(name.replace(" ", r"\s+") + r":\s+([\d,]+)", done.stderr)
        if match is not None:
            found[name] = int(match.group(1).replace(",", ""))
    if "I refs" not in found:
        raise click.ClickException(f"valgrind gave no count: {done.stderr[-500:]}")
    return found


def _count(script: str, *args: str) -> int:
    return _counts(script, *args)["I refs"]


@click.command()
@click.argument("workload", type=click.Path(exists=True, dir_okay=False))
@click.option("-n", "--lines", default=60_000, show_default=True, help="Lines of the workload to run on.")
@click.option("--project", default=1_000_000, show_default=True, help="Workload size the ratio is projected to.")
@click.option("--simulate", is_flag=True, help="Also simulate caches and branch prediction (floor against steady state).")
def main(workload: str, lines: int, project: int, simulate: bool) -> None:
    if shutil.which("valgrind") is None:
        raise click.ClickException("valgrind is not installed")
    paths, missing = upstream_rules()
    if missing:
        raise click.ClickException(missing)
    rules = ",".join(str(p) for p in paths)
    with tempfile.TemporaryDirectory() as tmp:
        part = Path(tmp) / "part.jsonl"
        with open(workload, "rb") as src, open(part, "wb") as dst:
            for i, line in enumerate(src):
                if i >= lines:
                    break
                dst.write(line)
        python = _count("pass")
        floor = _count(FLOOR, str(part)) - python
        empty = _count(REPLAY, rules, "/dev/null")
        once = _count(REPLAY, rules, str(part))
        twice = _count(REPLAY, rules, str(part), str(part))
        simulated = _simulate(rules, part, lines) if simulate else []
    steady = (twice - once) / lines
    warm_up = (once - empty) - (twice - once)
    floor_per_line = floor / lines
    projected = empty + warm_up + steady * project
    click.echo(f"lines: {lines:,} (projected to {project:,})")
    click.echo(f"floor (read + orjson.loads): {floor_per_line:,.0f} instructions/line")
    click.echo(f"replay start-up: {empty:,} instructions; warm-up: {warm_up:,}")
    click.echo(f"replay steady state: {steady:,.0f} instructions/line ({floor_per_line / steady:.2f}x the floor)")
    click.echo(f"projected ratio to the floor at {project:,} lines: {floor_per_line * project / projected:.2f}x")
    for row in simulated:
        click.echo(row)


def _simulate(rules: str, part: Path, lines: int) -> list[str]:
    """Per line, in the floor and in replay's steady state, what cachegrind's simple models of
    the caches and of the branch predictor count.  They model neither the second-level cache nor
    the real predictor, so equal counts here do not mean equal time."""
    python = _counts("pass", simulate=True)
    floor = _counts(FLOOR, str(part), simulate=True)
    once = _counts(REPLAY, rules, str(part), simulate=True)
    twice = _counts(REPLAY, rules, str(part), str(part), simulate=True)
    rows = ["simulated, per line:            floor    replay   ratio"]
    for name, what in COUNTERS.items():
        if name not in floor:
            continue
        f = (floor[name] - python[name]) / lines
        r = (twice[name] - once[name]) / lines
        rows.append(f"  {what:28s} {f:9,.1f} {r:9,.1f} {r / f if f else 0:7.2f}")
    return rows


if __name__ == "__main__":
    main()
