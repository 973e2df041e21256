"""Rules loading time: the four upstream rules files into one loader, as Falco loads them.

    python benchmarks/load.py [--repeat N] [--shared DIR] [--json]

Loads falco_rules.yaml, falco-incubating_rules.yaml, falco-sandbox_rules.yaml and
k8s_audit_rules.yaml (each load recompiles everything collected, as Falco's engine
does) and reports the best and median wall time of ``--repeat`` fresh loads, the
number of rules, lists and macros, and rules per second (wall time; CPU time is shown
too, since other processes sharing the machine inflate wall time).
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import time
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import click  # noqa: E402

from detector.loader import RulesLoader  # noqa: E402

UPSTREAM = ("falco_rules.yaml", "falco-incubating_rules.yaml", "falco-sandbox_rules.yaml",
            "k8s_audit_rules.yaml")


def _shared(option: str | None) -> Path:
    if option:
        return Path(option)
    env = os.environ.get("DETECTOR_SHARED")
    return Path(env) if env else Path(__file__).resolve().parent.parent.parent / "shared"


def load_once(paths: list[Path]) -> tuple[float, float, RulesLoader]:
    started, cpu = time.perf_counter(), time.process_time()
    loader = RulesLoader()
    for path in paths:
        loader.load_file(path)
    return time.perf_counter() - started, time.process_time() - cpu, loader


@click.command()
@click.option("--repeat", default=5, show_default=True, help="Fresh loads to time.")
@click.option("--shared", "shared_opt", default=None, help="The shared material directory.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON summary line.")
def main(repeat: int, shared_opt: str | None, as_json: bool) -> None:
    rules_dir = _shared(shared_opt) / "falco" / "rules"
    paths = [rules_dir / name for name in UPSTREAM]
    missing = [str(p) for p in paths if not p.exists()]
    if missing:
        raise click.ClickException(f"missing rules files: {', '.join(missing)}")
    times: list[float] = []
    cpu_times: list[float] = []
    loader: RulesLoader | None = None
    for _ in range(max(1, repeat)):
        elapsed, cpu, loader = load_once(paths)
        times.append(elapsed)
        cpu_times.append(cpu)
    assert loader is not None
    result = loader.result()
    rules = len(result.ruleset.rules)
    best, median = min(times), statistics.median(times)
    summary = {
        "files": len(paths),
        "rules": rules,
        "lists": len(result.ruleset.lists),
        "macros": len(result.ruleset.macros),
        "errors": len(result.errors),
        "warnings": len(result.warnings),
        "best_seconds": round(best, 4),
        "median_seconds": round(median, 4),
        "best_cpu_seconds": round(min(cpu_times), 4),
        "rules_per_second": round(rules / best, 1) if best else None,
        "rules_per_cpu_second": round(rules / min(cpu_times), 1) if min(cpu_times) else None,
    }
    if as_json:
        click.echo(json.dumps(summary))
        return
    click.echo(f"loaded {rules} rules, {summary['macros']} macros, {summary['lists']} lists "
               f"from {len(paths)} files ({summary['errors']} errors, {summary['warnings']} warnings)")
    click.echo(f"best {best * 1000:.1f} ms, median {median * 1000:.1f} ms over {len(times)} loads "
               f"(best CPU {min(cpu_times) * 1000:.1f} ms) -> {summary['rules_per_second']} rules/s "
               f"({summary['rules_per_cpu_second']} per CPU second)")


if __name__ == "__main__":
    main()
