"""Write a deterministic benchmark workload as JSON lines.

    python benchmarks/generate.py --events 1000000 --seed 7 --alert-share 0.01 [--k8s-share 0.0] -o FILE

Syscall events are flat maps keyed by Falco field names (``gen_syscall.py``); Kubernetes audit
events are native ``audit.k8s.io/v1`` objects (``gen_k8saudit.py``).  The same arguments always
give the same bytes.  ``-o -`` writes to stdout, a ``.gz`` name writes gzip.
"""

from __future__ import annotations

import gzip
import random
import sys
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import click  # noqa: E402
import orjson  # noqa: E402

from benchmarks.gen_k8saudit import K8sAuditGenerator  # noqa: E402
from benchmarks.gen_syscall import SyscallGenerator  # noqa: E402

_CHUNK = 4096  # lines per write call: keeps the writer's overhead off the per-event cost


@dataclass(frozen=True, slots=True)
class WorkloadSpec:
    """Everything that determines a workload's bytes."""

    events: int
    seed: int = 7
    alert_share: float = 0.01
    k8s_share: float = 0.0

    def __post_init__(self) -> None:
        if self.events < 0:
            raise ValueError(f"event count must be >= 0, got {self.events}")
        for name in ("alert_share", "k8s_share"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"{name.replace('_', '-')} must lie in [0, 1], got {value}")

    @property
    def stem(self) -> str:
        """A file name that says what is inside, used to cache generated workloads."""
        return f"events-n{self.events}-s{self.seed}-a{self.alert_share:g}-k{self.k8s_share:g}"


@dataclass(slots=True)
class WorkloadStats:
    """What a written workload holds, counted while writing."""

    events: int = 0
    bytes: int = 0
    scenarios: Counter[str] = field(default_factory=Counter)


def labeled_events(spec: WorkloadSpec) -> Iterator[tuple[str, str, dict[str, object]]]:
    """(source, scenario, event) for every event of ``spec``, in file order."""
    mix = random.Random(spec.seed * 1_000_003 + 17)
    syscalls = SyscallGenerator(spec.seed, spec.alert_share).labeled(spec.events)
    audits = K8sAuditGenerator(spec.seed, spec.alert_share).labeled(spec.events) if spec.k8s_share else None
    for _ in range(spec.events):
        if audits is not None and mix.random() < spec.k8s_share:
            scenario, event = next(audits)
            yield "k8s_audit", scenario, event
        else:
            scenario, event = next(syscalls)
            yield "syscall", scenario, event


def write_workload(spec: WorkloadSpec, out: BinaryIO) -> WorkloadStats:
    stats = WorkloadStats()
    dumps = orjson.dumps
    chunk: list[bytes] = []
    for source, scenario, event in labeled_events(spec):
        line = dumps(event)
        chunk.append(line)
        stats.bytes += len(line) + 1
        if scenario != "benign":
            stats.scenarios[f"{source}:{scenario}"] += 1
        if len(chunk) >= _CHUNK:
            out.write(b"\n".join(chunk) + b"\n")
            chunk.clear()
    if chunk:
        out.write(b"\n".join(chunk) + b"\n")
    stats.events = spec.events
    return stats


def write_file(spec: WorkloadSpec, path: Path) -> WorkloadStats:
    """Write atomically, so an interrupted run never leaves a truncated file behind in the cache."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(partial, "wb") as handle:
        stats = write_workload(spec, handle)  # type: ignore[arg-type]
    partial.replace(path)
    return stats


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--events", "-n", type=click.IntRange(min=0), default=1_000_000, show_default=True, help="Number of events.")
@click.option("--seed", "-s", type=int, default=7, show_default=True, help="Random seed; same seed, same bytes.")
@click.option("--alert-share", type=click.FloatRange(0.0, 1.0), default=0.01, show_default=True,
              help="Share of events built to satisfy an upstream rule.")
@click.option("--k8s-share", type=click.FloatRange(0.0, 1.0), default=0.0, show_default=True,
              help="Share of events that are Kubernetes audit events rather than syscalls.")
@click.option("--output", "-o", default="-", show_default=True, help="Output file ('-' for stdout, '.gz' for gzip).")
def main(events: int, seed: int, alert_share: float, k8s_share: float, output: str) -> None:
    """Generate a deterministic benchmark workload as JSON lines."""
    spec = WorkloadSpec(events=events, seed=seed, alert_share=alert_share, k8s_share=k8s_share)
    if output == "-":
        stats = write_workload(spec, sys.stdout.buffer)
        sys.stdout.buffer.flush()
    else:
        try:
            stats = write_file(spec, Path(output))
        except OSError as exc:
            raise click.ClickException(f"cannot write {output}: {exc.strerror or exc}") from exc
    alerts = sum(stats.scenarios.values())
    click.echo(f"{stats.events} events, {stats.bytes} bytes, {alerts} built to alert", err=True)


if __name__ == "__main__":
    main()
