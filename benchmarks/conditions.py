"""Condition evaluation speed: generated code against the reference interpreter.

    python benchmarks/conditions.py [--repeat R] [--interpreted N] [--json PATH]

Evaluates a set of conditions over the real exported events of
``shared/data/events`` (found through ``DETECTOR_SHARED`` or ``../shared``),
once with the compiled code and once with the tree-walking interpreter (on
the first N events), and prints events per second for each and their ratio.
Times are the best of R passes; compilation is not timed.
"""

from __future__ import annotations

import gzip
import os
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import click  # noqa: E402
import orjson  # noqa: E402
from rich.console import Console  # noqa: E402
from rich.table import Table  # noqa: E402

from detector.codegen import compile_condition  # noqa: E402
from detector.codegen.interpreter import Interpreter  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent

CONDITIONS: tuple[tuple[str, str], ...] = (
    ("evt.type", "evt.type in (open, openat, openat2) and evt.is_open_read = true"),
    ("strings", "proc.name in (curl, wget, nc) and fd.name startswith /etc and not fd.name endswith .conf"),
    ("numbers", "user.uid = -1 or (proc.pid > 1000 and evt.rawres < 0)"),
    ("glob+regex", "fd.name glob '/lib/*/libnss_*.so.[0-9]' or proc.cmdline regex '.*curl.*google.*'"),
    ("pmatch", "fd.name pmatch (/etc, /usr/lib, /var/run/docker.sock, /proc/*/mem)"),
    ("network", "fd.net = 192.168.0.0/16 and fd.port in (80, 443, http) and not fd.sip = 127.0.0.1"),
    ("ancestors", "proc.aname in (bash, sshd, tini) and proc.aname[2] != init"),
    ("modifiers", "proc.name startswith anyof (cu, py, hap) and fd.name contains oneof (etc, lib, tmp)"),
    ("transformers", "toupper(proc.name) = CURL and len(fd.name) > 10 and basename(fd.name) != hosts"),
    ("buffers", "evt.buffer bcontains 474554 or evt.buffer startswith HTTP"),
    ("field compare", "proc.name = val(proc.pname) or fd.lip = val(fd.sip)"),
    (
        "falco-style",
        "(evt.type in (sendto, sendmsg, connect) and evt.dir = < and fd.typechar in (4, 6)) "
        "and not (fd.snet in (10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16) or fd.sport in (53, 123)) "
        "and proc.name exists and not proc.pname in (systemd, containerd)",
    ),
)


def _shared() -> Path:
    env = os.environ.get("DETECTOR_SHARED")
    path = Path(env) if env else ROOT.parent / "shared"
    if not path.is_dir():
        raise click.ClickException(f"shared material not found at {path} (set DETECTOR_SHARED)")
    return path


def load_events(shared: Path) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = []
    for path in sorted((shared / "data" / "events").glob("*.jsonl.gz")):
        with gzip.open(path, "rb") as fh:
            events.extend(orjson.loads(line) for line in fh if line.strip())
    return events


def _best_rate(run: Callable[[], int], events: int, repeat: int) -> tuple[float, int]:
    best = float("inf")
    hits = 0
    for _ in range(repeat):
        start = time.perf_counter()
        hits = run()
        best = min(best, time.perf_counter() - start)
    return events / best if best > 0 else float("inf"), hits


def bench(events: Sequence[dict[str, Any]], repeat: int, interpreted: int) -> list[dict[str, Any]]:
    rows = []
    subset = events[:interpreted]
    for label, text in CONDITIONS:
        cond = compile_condition(text)
        matches = cond.matches
        expr = cond.expr

        def compiled(matches: Callable[[Any], bool] = matches) -> int:
            return sum(1 for e in events if matches(e))

        walk = Interpreter(expr)

        def reference(walk: Interpreter = walk) -> int:
            return sum(1 for e in subset if walk(e))

        compiled_rate, hits = _best_rate(compiled, len(events), repeat)
        interp_rate, _ = _best_rate(reference, len(subset), max(1, repeat // 2))
        rows.append(
            {
                "label": label,
                "condition": text,
                "matches": hits,
                "compiled_events_per_s": compiled_rate,
                "interpreted_events_per_s": interp_rate,
                "ratio": compiled_rate / interp_rate if interp_rate else float("inf"),
            }
        )
    return rows


@click.command()
@click.option("--repeat", default=5, show_default=True, help="Passes per measurement (the best counts).")
@click.option("--interpreted", default=11408, show_default=True, help="Events given to the interpreter.")
@click.option("--json", "json_path", type=click.Path(dir_okay=False), default=None, help="Also write results here.")
def main(repeat: int, interpreted: int, json_path: str | None) -> None:
    events = load_events(_shared())
    rows = bench(events, repeat, interpreted)
    table = Table(title=f"conditions over {len(events)} exported events")
    for column in ("condition", "matches", "compiled ev/s", "interpreted ev/s", "ratio"):
        table.add_column(column, justify="left" if column == "condition" else "right")
    for row in rows:
        table.add_row(
            row["label"],
            str(row["matches"]),
            f"{row['compiled_events_per_s']:,.0f}",
            f"{row['interpreted_events_per_s']:,.0f}",
            f"{row['ratio']:.1f}x",
        )
    total_compiled = len(rows) / sum(1 / r["compiled_events_per_s"] for r in rows)
    total_interp = len(rows) / sum(1 / r["interpreted_events_per_s"] for r in rows)
    table.add_row("harmonic mean", "", f"{total_compiled:,.0f}", f"{total_interp:,.0f}",
                  f"{total_compiled / total_interp:.1f}x")
    Console().print(table)
    if json_path:
        Path(json_path).write_bytes(orjson.dumps({"events": len(events), "rows": rows}, option=orjson.OPT_INDENT_2))


if __name__ == "__main__":
    main()
