"""Rules loading time: the four upstream rules files into one loader, as Falco loads them.

    python benchmarks/load.py [--repeat N] [--cold N] [--shared DIR] [--json]

Loads falco_rules.yaml, falco-incubating_rules.yaml, falco-sandbox_rules.yaml and
k8s_audit_rules.yaml with ``load_rules`` (each file's load recompiles everything
collected, as Falco's engine does).

Warm: ``--repeat`` fresh loads in this process once the condition parser is built;
the best and median CPU seconds (``time.process_time``: other processes sharing the
machine inflate wall time, not CPU time), the best wall time, and rules per CPU second.

Cold: ``--cold`` fresh Python processes each importing detector, making the condition
parser (from its cache file when there is one, see detector/language/cachefile.py) and
loading the files once; the best CPU seconds of each step.  ``--no-parser-cache``
makes those processes build the parser from the grammar instead.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import click  # noqa: E402

UPSTREAM = ("falco_rules.yaml", "falco-incubating_rules.yaml", "falco-sandbox_rules.yaml",
            "k8s_audit_rules.yaml")

# What a cold process runs: each step's CPU seconds as one JSON line.
_COLD_CHILD = """
import json, sys, time
t0 = time.process_time()
import detector.loader
t1 = time.process_time()
from detector.language.parser import _lark, _tables
_lark(); _tables()
t2 = time.process_time()
result = detector.loader.load_rules(*sys.argv[1:])
t3 = time.process_time()
print(json.dumps({"import": t1 - t0, "parser": t2 - t1, "load": t3 - t2, "total": t3 - t0,
                  "rules": len(result.ruleset.rules)}))
"""


def _shared(option: str | None) -> Path:
    if option:
        return Path(option)
    env = os.environ.get("DETECTOR_SHARED")
    return Path(env) if env else Path(__file__).resolve().parent.parent.parent / "shared"


def load_once(paths: list[Path]) -> tuple[float, float, Any]:
    from detector.loader import load_rules

    started, cpu = time.perf_counter(), time.process_time()
    result = load_rules(*paths)
    return time.perf_counter() - started, time.process_time() - cpu, result


def cold_runs(paths: list[Path], runs: int, *, parser_cache: bool) -> dict[str, float]:
    """The best CPU seconds of each step over ``runs`` fresh processes."""
    env = dict(os.environ)
    root = str(Path(__file__).resolve().parent.parent)
    env["PYTHONPATH"] = root + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    if not parser_cache:
        env["DETECTOR_CACHE_DIR"] = ""
    best: dict[str, float] = {}
    for _ in range(runs):
        done = subprocess.run([sys.executable, "-c", _COLD_CHILD, *map(str, paths)], env=env,
                              capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise click.ClickException(f"cold run failed: {done.stderr.strip()[-500:]}")
        figures = json.loads(done.stdout.strip().splitlines()[-1])
        for key in ("import", "parser", "load", "total"):
            best[key] = min(best.get(key, float("inf")), float(figures[key]))
    return {key: round(value, 4) for key, value in best.items()}


@click.command()
@click.option("--repeat", default=10, show_default=True, help="Warm loads to time.")
@click.option("--cold", "cold", default=3, show_default=True, help="Fresh processes to time (0: none).")
@click.option("--no-parser-cache", is_flag=True, help="Cold processes build the parser from the grammar.")
@click.option("--shared", "shared_opt", default=None, help="The shared material directory.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON summary line.")
def main(repeat: int, cold: int, no_parser_cache: bool, shared_opt: str | None, as_json: bool) -> None:
    rules_dir = _shared(shared_opt) / "falco" / "rules"
    paths = [rules_dir / name for name in UPSTREAM]
    missing = [str(p) for p in paths if not p.exists()]
    if missing:
        raise click.ClickException(f"missing rules files: {', '.join(missing)}")
    from detector.language.parser import _lark, _tables

    _lark()
    _tables()
    load_once(paths)  # first load: imports and caches a real run would have made already
    times: list[float] = []
    cpu_times: list[float] = []
    result: Any = None
    for _ in range(max(1, repeat)):
        elapsed, cpu, result = load_once(paths)
        times.append(elapsed)
        cpu_times.append(cpu)
    rules = len(result.ruleset.rules)
    best_cpu, median_cpu = min(cpu_times), statistics.median(cpu_times)
    summary: dict[str, Any] = {
        "files": len(paths),
        "rules": rules,
        "lists": len(result.ruleset.lists),
        "macros": len(result.ruleset.macros),
        "errors": len(result.errors),
        "warnings": len(result.warnings),
        "best_cpu_seconds": round(best_cpu, 4),
        "median_cpu_seconds": round(median_cpu, 4),
        "best_seconds": round(min(times), 4),
        "rules_per_cpu_second": round(rules / best_cpu, 1) if best_cpu else None,
        "rules_per_second": round(rules / min(times), 1) if min(times) else None,
    }
    if cold > 0:
        summary["cold_cpu_seconds"] = cold_runs(paths, cold, parser_cache=not no_parser_cache)
        summary["cold_parser_cache"] = not no_parser_cache
    if as_json:
        click.echo(json.dumps(summary))
        return
    click.echo(f"loaded {rules} rules, {summary['macros']} macros, {summary['lists']} lists "
               f"from {len(paths)} files ({summary['errors']} errors, {summary['warnings']} warnings)")
    click.echo(f"warm: best {best_cpu * 1000:.1f} ms CPU, median {median_cpu * 1000:.1f} ms CPU over "
               f"{len(cpu_times)} loads (best wall {min(times) * 1000:.1f} ms) -> "
               f"{summary['rules_per_cpu_second']} rules per CPU second")
    if cold > 0:
        c = summary["cold_cpu_seconds"]
        click.echo(f"cold: {c['total'] * 1000:.0f} ms CPU in a fresh process (import {c['import'] * 1000:.0f}, "
                   f"parser {'from cache' if not no_parser_cache else 'built'} {c['parser'] * 1000:.0f}, "
                   f"first load {c['load'] * 1000:.0f}), best of {cold}")


if __name__ == "__main__":
    main()
