"""The benchmark suite (``make bench``): whole-process runs over one generated workload, side by side.

    python benchmarks/run_all.py [--events N] [--repeat R] [--quick] [--memory-check]

Runs, each the median of ``--repeat`` whole-process runs over the same file:

  a   read lines only                                   the I/O floor
  b   read and orjson.loads every line                  the floor of any engine fed JSON lines
  c   detector replay, all three upstream syscall rule files, alerts to a file
  d   detector replay -r rules/ (the shipped rules)
  e1  the six conditions of peer_conditions.py as hand-written Python (no engine at all)
  e2  the same six in rule-engine                       on a prefix of the file
  e3  the same six in cel-python                        on a prefix of the file
  f   c with --workers 2
  g   detector replay of the same six conditions as e1-e3 (the like-for-like peer comparison)
  h   c through the Python API: detector.load_rules + Engine.process, in one process

Results go to a table on stdout and to ``benchmarks/out/results.json``; docs/performance.md
explains the method.  Runs whose command does not exist yet report "not available".
"""

from __future__ import annotations

import importlib.metadata
import os
import platform
import shutil
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import click  # noqa: E402
import orjson  # noqa: E402
from rich.console import Console  # noqa: E402
from rich.table import Table  # noqa: E402

from benchmarks.generate import WorkloadSpec, write_file  # noqa: E402
from benchmarks.measure import Measurement, measure, run_once  # noqa: E402
from benchmarks.peer_conditions import falco_rules_yaml  # noqa: E402
from benchmarks.upstream import upstream_rules  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUT = ROOT / "benchmarks" / "out"
CHILD = ROOT / "benchmarks" / "child.py"
PEERS = {"e2": "rule-engine", "e3": "cel-python"}


@dataclass(frozen=True, slots=True)
class RunSpec:
    key: str
    label: str
    argv: tuple[str, ...]
    events: int  # events the run processes: the whole file, or the prefix a slow peer gets
    note: str = ""
    unavailable: str | None = None  # why the run cannot happen here, if it cannot
    tree: bool = False  # several processes: also poll the summed RSS of the process tree
    summary_file: Path | None = None  # where the command writes its own JSON summary, if it does


@dataclass(frozen=True, slots=True)
class RunResult:
    spec: RunSpec
    measurement: Measurement | None
    own_summary: dict[str, Any] | None = None  # the command's --summary-json of its last run

    @property
    def status(self) -> str:
        if self.spec.unavailable is not None:
            return "not available"
        assert self.measurement is not None
        return "ok" if self.measurement.ok else "failed"

    @property
    def events_per_second(self) -> float | None:
        if self.status != "ok":
            return None
        assert self.measurement is not None
        return self.spec.events / self.measurement.median_seconds

    @property
    def events_per_cpu_second(self) -> float | None:
        if self.status != "ok":
            return None
        assert self.measurement is not None
        return self.spec.events / self.measurement.median_cpu_seconds if self.measurement.median_cpu_seconds else None


# ---- environment ---------------------------------------------------------------------------------


def detector_argv() -> list[str]:
    script = Path(sys.executable).parent / "detector"
    if script.is_file():
        return [str(script)]
    return [sys.executable, "-c", "from detector.cli.main import main; main()"]


def replay_capabilities() -> tuple[str | None, str]:
    """(reason replay cannot run or None, its --help text)."""
    try:
        done = subprocess.run([*detector_argv(), "replay", "--help"], capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"detector could not be started ({exc})", ""
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["no output"])[-1]
        return f"`detector replay` is not there yet ({last})", ""
    return None, done.stdout


def machine_info() -> dict[str, Any]:
    cpu = platform.processor()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    versions: dict[str, str | None] = {}
    for dist in ("orjson", "rule-engine", "cel-python", "detector", "psutil"):
        try:
            versions[dist] = importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            versions[dist] = None
    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True,
                                timeout=10).stdout.strip() or None
    except (OSError, subprocess.TimeoutExpired):
        commit = None
    return {
        "cpu": cpu,
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        # Other work on the machine slows every run; the load average says how busy it was.
        "loadavg": [round(x, 2) for x in os.getloadavg()],
        "versions": versions,
        "commit": commit,
    }


# ---- workload ------------------------------------------------------------------------------------


def ensure_workload(spec: WorkloadSpec, out_dir: Path, console: Console) -> tuple[Path, dict[str, Any]]:
    """The cached file for ``spec``, generated on first use; with its stats."""
    path = out_dir / f"{spec.stem}.jsonl"
    meta_path = out_dir / f"{spec.stem}.meta.json"
    if path.is_file() and meta_path.is_file():
        return path, orjson.loads(meta_path.read_bytes())
    with console.status(f"generating {spec.events:,} events into {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}"):
        started = time.perf_counter()
        stats = write_file(spec, path)
        elapsed = time.perf_counter() - started
    meta = {
        "events": stats.events,
        "bytes": stats.bytes,
        "mean_event_bytes": round(stats.bytes / stats.events, 1) if stats.events else 0,
        "built_to_alert": dict(sorted(stats.scenarios.items())),
        "seed": spec.seed,
        "alert_share": spec.alert_share,
        "k8s_share": spec.k8s_share,
        "generation_seconds": round(elapsed, 2),
    }
    meta_path.write_bytes(orjson.dumps(meta, option=orjson.OPT_INDENT_2))
    console.print(f"generated {stats.events:,} events ({stats.bytes / 1e6:,.0f} MB) in {elapsed:.1f} s")
    return path, meta


def warm_page_cache(path: Path) -> None:
    # Every run then reads from memory: the suite compares CPU cost, not the disk.
    with path.open("rb") as handle:
        while handle.read(1 << 24):
            pass


# ---- the runs ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Plan:
    workload: Path
    events: int
    out_dir: Path
    rule_engine_events: int
    cel_events: int
    workers: int


def plan_runs(plan: Plan) -> list[RunSpec]:
    py = sys.executable
    file = str(plan.workload)
    upstream, upstream_missing = upstream_rules()
    replay_missing, replay_help = replay_capabilities()
    rule_args = [a for p in upstream for a in ("-r", str(p))]
    six_rules = plan.out_dir / "six_rules.yaml"
    six_rules.write_text(falco_rules_yaml())
    replay = [*detector_argv(), "replay"]

    def replay_run(key: str, label: str, rules: list[str], extra: Sequence[str] = (), needs: str | None = None,
                   upstream: bool = False, tree: bool = False) -> RunSpec:
        reason = replay_missing or (upstream_missing if upstream else None)
        if reason is None and needs is not None and needs not in replay_help:
            reason = f"`detector replay` has no {needs} option yet"
        options = ["--output-file", str(plan.out_dir / f"alerts-{key}.jsonl"), *extra]
        if upstream and "--enable-rule" in replay_help:
            options += ["--enable-rule", "*"]  # all rules, including those the files ship disabled
        summary = plan.out_dir / f"summary-{key}.json" if "--summary-json" in replay_help else None
        if summary is not None:
            options += ["--summary-json", str(summary)]
        argv = (*replay, *rules, file, *options)
        return RunSpec(key, label, argv, plan.events, unavailable=reason, tree=tree, summary_file=summary)

    re_n = min(plan.rule_engine_events, plan.events)
    cel_n = min(plan.cel_events, plan.events)
    return [
        RunSpec("a", "read lines only", (py, str(CHILD), "lines", file), plan.events),
        RunSpec("b", "read + orjson.loads (floor)", (py, str(CHILD), "orjson", file), plan.events),
        replay_run("c", "detector replay, upstream rules (3 files)", rule_args, upstream=True),
        replay_run("d", "detector replay -r rules/", ["-r", str(ROOT / "rules")]),
        RunSpec("e1", "6 conditions, hand-written Python", (py, str(CHILD), "python", file), plan.events),
        RunSpec("e2", "6 conditions, rule-engine", (py, str(CHILD), "rule-engine", file, "--limit", str(re_n)), re_n,
                note=_prefix_note(re_n, plan.events)),
        RunSpec("e3", "6 conditions, cel-python", (py, str(CHILD), "cel", file, "--limit", str(cel_n)), cel_n,
                note=_prefix_note(cel_n, plan.events)),
        replay_run("f", f"detector replay --workers {plan.workers}, upstream", rule_args,
                   extra=("--workers", str(plan.workers)), needs="--workers", upstream=True, tree=True),
        replay_run("g", "detector replay, the same 6 conditions", ["-r", str(six_rules)]),
        RunSpec("h", "Python API, upstream rules", (py, str(CHILD), "detector-api", file, *rule_args), plan.events,
                unavailable=upstream_missing),
    ]


def _prefix_note(n: int, total: int) -> str:
    return f"prefix: first {n:,} events" if n < total else ""


def execute(runs: list[RunSpec], *, repeat: int, out_dir: Path, console: Console) -> list[RunResult]:
    results = []
    for run in runs:
        if run.unavailable is not None:
            console.print(f"[dim]{run.key:>3}  {run.label}: not available ({run.unavailable})[/dim]")
            results.append(RunResult(run, None))
            continue
        if run.summary_file is not None:
            run.summary_file.unlink(missing_ok=True)
        with console.status(f"{run.key}: {run.label} ({repeat} run{'s' if repeat > 1 else ''})"):
            measured = measure(run.argv, repeat=repeat, scratch=out_dir / "scratch" / run.key, tree=run.tree)
        own = None
        if run.summary_file is not None and run.summary_file.is_file():
            try:
                own = orjson.loads(run.summary_file.read_bytes())
            except orjson.JSONDecodeError:
                own = None
        result = RunResult(run, measured, own)
        if result.status == "ok":
            console.print(f"{run.key:>3}  {run.label}: {result.events_per_second:,.0f} events/s")
        else:
            last = measured.samples[-1]
            reason = (last.summary or {}).get("unavailable")
            if reason:
                # The child says the mode cannot run here: report it like a missing command.
                run = RunSpec(run.key, run.label, run.argv, run.events, run.note, unavailable=str(reason))
                result = RunResult(run, None)
                console.print(f"[dim]{run.key:>3}  {run.label}: not available ({reason})[/dim]")
            else:
                console.print(f"[red]{run.key:>3}  {run.label}: failed (exit {last.returncode})[/red]\n{last.stderr_tail}")
        results.append(result)
    return results


# ---- report --------------------------------------------------------------------------------------


def _mb(value: int | None) -> str:
    return f"{value / 2**20:,.0f} MiB" if value else "-"


def _ratio(value: float | None, base: float | None) -> float | None:
    return value / base if value is not None and base else None


def _fmt_ratio(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:,.2f}x" if value < 100 else f"{value:,.0f}x"


def report(results: list[RunResult], console: Console) -> list[dict[str, Any]]:
    """The table, and the rows of results.json.

    Ratios are given on both bases in the JSON; the table shows them on CPU time, which other load
    on a small shared machine disturbs far less than wall time.  Wall events/s stays the figure
    a user sees, and the only one that shows what --workers buys.
    """
    by_key = {r.spec.key: r for r in results}
    floor = by_key["b"] if "b" in by_key else None
    peers = {name: by_key[key] for key, name in PEERS.items() if key in by_key}
    table = Table(title="detector benchmark: events/s (median of runs), ratios on CPU time, peak memory",
                  title_justify="left")
    for column, justify in (("run", "left"), ("what", "left"), ("events", "right"), ("events/s", "right"),
                            ("events/cpu-s", "right"), ("÷ (b)", "right"), *((f"vs {name}", "right") for name in peers),
                            ("peak RSS", "right"), ("tree peak", "right"), ("note", "left")):
        table.add_column(column, justify=justify)  # type: ignore[arg-type]
    rows = []
    for result in results:
        eps, cpu_eps = result.events_per_second, result.events_per_cpu_second
        spec = result.spec
        measured = result.measurement
        row: dict[str, Any] = {
            "key": spec.key,
            "label": spec.label,
            "argv": list(spec.argv),
            "events": spec.events,
            "status": result.status,
            "reason": spec.unavailable,
            "note": spec.note,
            "events_per_second": eps,
            "events_per_cpu_second": cpu_eps,
            "ratio_to_floor": _ratio(eps, floor.events_per_second if floor else None),
            "ratio_to_floor_cpu": _ratio(cpu_eps, floor.events_per_cpu_second if floor else None),
            "ratio_vs": {name: _ratio(eps, peer.events_per_second) for name, peer in peers.items()},
            "ratio_vs_cpu": {name: _ratio(cpu_eps, peer.events_per_cpu_second) for name, peer in peers.items()},
        }
        if measured is not None:
            row.update({
                "seconds": [round(s.seconds, 4) for s in measured.samples],
                "median_seconds": round(measured.median_seconds, 4),
                "cpu_seconds": [round(s.cpu_seconds, 4) for s in measured.samples],
                "median_cpu_seconds": round(measured.median_cpu_seconds, 4),
                "peak_rss_bytes": measured.peak_rss_bytes,
                "tree_peak_bytes": measured.tree_peak_bytes,
                "child_summary": result.own_summary or measured.samples[-1].summary,
            })
            if result.status == "failed":
                row["reason"] = measured.samples[-1].stderr_tail
        rows.append(row)
        if result.status == "ok":
            assert measured is not None and eps is not None
            table.add_row(spec.key, spec.label, f"{spec.events:,}", f"{eps:,.0f}", f"{cpu_eps:,.0f}" if cpu_eps else "-",
                          _fmt_ratio(row["ratio_to_floor_cpu"]), *(_fmt_ratio(v) for v in row["ratio_vs_cpu"].values()),
                          _mb(measured.peak_rss_bytes), _mb(measured.tree_peak_bytes), spec.note)
        else:
            table.add_row(spec.key, spec.label, f"{spec.events:,}", result.status, *("-" for _ in range(2 + len(peers))),
                          "-", "-", (spec.unavailable or row.get("reason") or "")[:160], style="dim")
    console.print(table)
    return rows


# ---- memory check --------------------------------------------------------------------------------


def run_memory_check(sizes: Sequence[int], *, seed: int, alert_share: float, repeat: int, out_dir: Path,
                 console: Console) -> dict[str, Any]:
    """Peak memory of run c (and of the API path h) as the input grows: flat means streaming."""
    checks = []
    for events in sizes:
        path, meta = ensure_workload(WorkloadSpec(events=events, seed=seed, alert_share=alert_share), out_dir, console)
        warm_page_cache(path)
        plan = Plan(path, events, out_dir, rule_engine_events=0, cel_events=0, workers=2)
        runs = [r for r in plan_runs(plan) if r.key in ("b", "c", "h")]
        results = execute(runs, repeat=repeat, out_dir=out_dir, console=console)
        for result in results:
            checks.append({
                "events": events,
                "file_bytes": meta["bytes"],
                "key": result.spec.key,
                "label": result.spec.label,
                "status": result.status,
                "reason": result.spec.unavailable,
                "peak_rss_bytes": result.measurement.peak_rss_bytes if result.measurement else None,
                "events_per_second": result.events_per_second,
            })
    table = Table(title="memory check: peak RSS by input size", title_justify="left")
    for column in ("events", "file", "run", "status", "peak RSS", "events/s"):
        table.add_column(column, justify="left" if column in ("run", "status") else "right")
    for check in checks:
        eps = check["events_per_second"]
        table.add_row(f"{check['events']:,}", _mb(check["file_bytes"]), f"{check['key']} {check['label']}",
                      check["status"] if check["status"] != "not available" else f"not available: {check['reason']}"[:70],
                      _mb(check["peak_rss_bytes"]), f"{eps:,.0f}" if eps else "-")
    console.print(table)
    return {"generated": datetime.now(UTC).isoformat(timespec="seconds"), "machine": machine_info(), "checks": checks}


# ---- CLI -----------------------------------------------------------------------------------------


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--events", "-n", type=click.IntRange(min=1), default=None, help="Workload size [default: 1,000,000; 50,000 with --quick].")
@click.option("--repeat", type=click.IntRange(min=1), default=None, help="Runs per measurement; the median is kept [default: 3; 1 with --quick].")
@click.option("--seed", type=int, default=7, show_default=True)
@click.option("--alert-share", type=click.FloatRange(0.0, 1.0), default=0.01, show_default=True)
@click.option("--rule-engine-events", type=click.IntRange(min=1), default=None,
              help="Prefix rule-engine runs on [default: 20,000; 2,000 with --quick].")
@click.option("--cel-events", type=click.IntRange(min=1), default=None,
              help="Prefix cel-python runs on [default: 1,000; 100 with --quick].")
@click.option("--workers", type=click.IntRange(min=2), default=2, show_default=True, help="Workers for run f.")
@click.option("--only", default=None, help="Comma-separated run keys to do (e.g. a,b,e2).")
@click.option("--quick", is_flag=True, help="A small smoke run: 50k events, 1 repeat, short peer prefixes.")
@click.option("--memory-check", is_flag=True, help="Instead: peak memory of run c at 1M and 4M events.")
@click.option("--memory-sizes", default="1000000,4000000", show_default=True, help="Event counts for --memory-check.")
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), default=DEFAULT_OUT,
              show_default=True, help="Where workloads, alerts and results.json go.")
def main(events: int | None, repeat: int | None, seed: int, alert_share: float, rule_engine_events: int | None,
         cel_events: int | None, workers: int, only: str | None, quick: bool, memory_check: bool,
         memory_sizes: str, out_dir: Path) -> None:
    """Run the benchmark suite and write benchmarks/out/results.json."""
    console = Console(width=max(shutil.get_terminal_size((160, 40)).columns, 160))
    out_dir = out_dir.resolve()
    out_dir.mkdir(parents=True, exist_ok=True)
    repeat = repeat or (1 if quick else 3)
    if memory_check:
        try:
            sizes = [int(s.replace("_", "")) for s in memory_sizes.split(",") if s.strip()]
        except ValueError as exc:
            raise click.BadParameter(f"expected comma-separated integers, got {memory_sizes!r}", param_hint="--memory-sizes") from exc
        result = run_memory_check(sizes, seed=seed, alert_share=alert_share, repeat=repeat, out_dir=out_dir, console=console)
        (out_dir / "memory-check.json").write_bytes(orjson.dumps(result, option=orjson.OPT_INDENT_2))
        console.print(f"wrote {out_dir / 'memory-check.json'}")
        return
    events = events or (50_000 if quick else 1_000_000)
    spec = WorkloadSpec(events=events, seed=seed, alert_share=alert_share)
    path, meta = ensure_workload(spec, out_dir, console)
    console.print(f"workload: {path} — {meta['events']:,} events, mean {meta['mean_event_bytes']} bytes/event, "
                  f"{sum(meta['built_to_alert'].values()):,} built to alert; {repeat} run(s) each, median kept")
    warm_page_cache(path)
    run_once([sys.executable, str(CHILD), "lines", str(path)], scratch=out_dir / "scratch" / "warm")
    plan = Plan(
        path, events, out_dir,
        rule_engine_events=rule_engine_events or (2_000 if quick else 20_000),
        cel_events=cel_events or (100 if quick else 1_000),
        workers=workers,
    )
    runs = plan_runs(plan)
    if only:
        wanted = {k.strip() for k in only.split(",") if k.strip()}
        unknown = wanted - {r.key for r in runs}
        if unknown:
            raise click.BadParameter(f"unknown run keys: {', '.join(sorted(unknown))}", param_hint="--only")
        runs = [r for r in runs if r.key in wanted]
    results = execute(runs, repeat=repeat, out_dir=out_dir, console=console)
    rows = report(results, console)
    document = {
        "generated": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine_info(),
        "workload": {"path": str(path), **meta},
        "repeat": repeat,
        "runs": rows,
    }
    (out_dir / "results.json").write_bytes(orjson.dumps(document, option=orjson.OPT_INDENT_2))
    console.print(f"wrote {out_dir / 'results.json'}")


if __name__ == "__main__":
    main()
