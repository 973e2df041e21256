"""Load figure for ``detector run``: events/s through the HTTP input and alert latency, on loopback.

    python benchmarks/sidecar_load.py [--duration 10] [--concurrency 32] [--batch 100] [--events 20000]

Starts ``detector run`` with the upstream ``falco_rules.yaml`` (from ../shared), a webhook
receiver and a load generator in this process (asyncio, uvloop), everything on 127.0.0.1.
The workload is ``benchmarks/generate.py``'s syscall stream (1% of events written to fire an
upstream rule).  Each sent event gets a unique ``evt.rawtime``, which comes back as the
alert's ``output_fields["evt.time"]``, so every alert is matched to the moment its event was sent.

Three runs, each ``--duration`` seconds after a 2 s warm-up:

  single   one event per POST (what Falco's http_output sends), --concurrency requests in flight
  batch    application/x-ndjson bodies of --batch events
  paced    single, at half the rate ``single`` sustained: the latency of a sidecar that keeps up

Reported: events/s accepted (HTTP 200: evaluated and its alerts spooled), alerts/s received,
alert latency p50/p99/max (event sent → alert received by the webhook), the sidecar's CPU
seconds and peak RSS.  Results also go to ``benchmarks/out/sidecar_load.json``.
"""

from __future__ import annotations

import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import aiohttp  # noqa: E402
import click  # noqa: E402
import orjson  # noqa: E402
import uvloop  # noqa: E402
import yaml  # noqa: E402
from aiohttp import web  # noqa: E402

from benchmarks.generate import WorkloadSpec, labeled_events  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
MARK_BASE = 1_800_000_000_000_000_000  # evt.rawtime of event 0; far from the workload's own times


def shared_dir() -> Path:
    env = os.environ.get("DETECTOR_SHARED")
    path = Path(env) if env else ROOT.parent / "shared"
    if not (path / "falco" / "rules" / "falco_rules.yaml").is_file():
        raise click.ClickException(f"upstream rules not found under {path} (set DETECTOR_SHARED)")
    return path


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


@dataclass
class RunResult:
    name: str
    seconds: float = 0.0
    events: int = 0
    requests: int = 0
    errors: int = 0
    alerts: int = 0
    events_per_s: float = 0.0
    alerts_per_s: float = 0.0
    latency_ms: dict[str, float] = field(default_factory=dict)


class Receiver:
    """The webhook: records when each alert arrived, keyed by the sent event's sequence number."""

    def __init__(self) -> None:
        self.arrivals: dict[int, float] = {}
        self.other = 0
        self.port = 0
        self._runner: web.AppRunner | None = None

    async def _handle(self, request: web.Request) -> web.Response:
        now = time.perf_counter()
        alert = orjson.loads(await request.read())
        stamp = (alert.get("output_fields") or {}).get("evt.time")
        if isinstance(stamp, int) and stamp >= MARK_BASE:
            self.arrivals.setdefault(stamp - MARK_BASE, now)
        else:
            self.other += 1
        return web.Response()

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()


class Load:
    def __init__(self, events: list[bytes], url: str) -> None:
        self.events = events
        self.url = url
        self.sent_at: dict[int, float] = {}
        self.seq = 0

    def _next(self) -> tuple[int, bytes]:
        seq = self.seq
        self.seq += 1
        body = self.events[seq % len(self.events)]
        # The template ends with '}': splice the marker in without re-encoding the event.
        return seq, body[:-1] + b',"evt.rawtime":' + str(MARK_BASE + seq).encode() + b"}"

    async def run(self, session: aiohttp.ClientSession, *, seconds: float, concurrency: int, batch: int,
                  rate: float | None, result: RunResult) -> None:
        stop_at = time.perf_counter() + seconds
        interval = (concurrency / rate) if rate else 0.0

        async def worker() -> None:
            next_time = time.perf_counter()
            while time.perf_counter() < stop_at:
                items = [self._next() for _ in range(batch)]
                now = time.perf_counter()
                for seq, _ in items:
                    self.sent_at[seq] = now
                if batch == 1:
                    data, ctype = items[0][1], "application/json"
                else:
                    data, ctype = b"\n".join(body for _, body in items), "application/x-ndjson"
                try:
                    async with session.post(self.url, data=data, headers={"Content-Type": ctype}) as response:
                        await response.read()
                        ok = response.status == 200
                except aiohttp.ClientError:
                    ok = False
                result.requests += 1
                if ok:
                    result.events += len(items)
                else:
                    result.errors += 1
                if interval:
                    next_time += interval
                    delay = next_time - time.perf_counter()
                    if delay > 0:
                        await asyncio.sleep(delay)

        await asyncio.gather(*(worker() for _ in range(concurrency)))


def workload(count: int) -> list[bytes]:
    events = []
    for source, _, event in labeled_events(WorkloadSpec(events=count, seed=7, alert_share=0.01)):
        if source == "syscall":
            event.pop("evt.rawtime", None)
            events.append(orjson.dumps(event))
    return events


def sidecar_config(workdir: Path, port: int, receiver_port: int, rules: list[str]) -> Path:
    config = {
        "rules_files": rules,
        "watch_config_files": False,
        "log_level": "warning",
        "webserver": {"listen_port": port, "max_concurrent_requests": 1024},
        "stdout_output": {"enabled": False},
        "http_output": {"enabled": True, "url": f"http://127.0.0.1:{receiver_port}/", "concurrency": 16},
        "spool": {"path": str(workdir / "spool.db")},
        "pipeline": {"queue_size": 4096, "submit_timeout": 30},
    }
    path = workdir / "detector.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def proc_stats(pid: int) -> tuple[float, int]:
    """CPU seconds (user+system) and peak RSS in bytes of ``pid``, from /proc."""
    ticks = os.sysconf("SC_CLK_TCK")
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    cpu = (int(fields[11]) + int(fields[12])) / ticks
    peak = 0
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            peak = int(line.split()[1]) * 1024
    return cpu, peak


async def wait_ready(url: str, proc: subprocess.Popen[bytes], timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    async with aiohttp.ClientSession() as session:
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise click.ClickException(f"detector run exited with {proc.returncode}")
            try:
                async with session.get(url + "/readyz") as response:
                    if response.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.1)
    raise click.ClickException("detector run did not become ready")


async def measure(name: str, load: Load, receiver: Receiver, session: aiohttp.ClientSession, *, seconds: float,
                  concurrency: int, batch: int, rate: float | None) -> RunResult:
    warm = RunResult(name + "-warmup")
    await load.run(session, seconds=2.0, concurrency=concurrency, batch=batch, rate=rate, result=warm)
    result = RunResult(name)
    first_seq = load.seq
    start = time.perf_counter()
    await load.run(session, seconds=seconds, concurrency=concurrency, batch=batch, rate=rate, result=result)
    result.seconds = time.perf_counter() - start
    last_seq = load.seq
    # Let the alerts of the measured window arrive (bounded wait).
    deadline = time.perf_counter() + 15
    settled = -1
    while time.perf_counter() < deadline:
        count = sum(1 for s in receiver.arrivals if first_seq <= s < last_seq)
        if count == settled:
            break
        settled = count
        await asyncio.sleep(0.5)
    latencies = [
        (receiver.arrivals[s] - load.sent_at[s]) * 1000
        for s in range(first_seq, last_seq)
        if s in receiver.arrivals and s in load.sent_at
    ]
    result.alerts = len(latencies)
    result.events_per_s = result.events / result.seconds
    result.alerts_per_s = result.alerts / result.seconds
    if latencies:
        result.latency_ms = {
            "p50": round(percentile(latencies, 50), 2),
            "p99": round(percentile(latencies, 99), 2),
            "max": round(max(latencies), 2),
            "mean": round(statistics.fmean(latencies), 2),
        }
    return result


async def main_async(duration: float, concurrency: int, batch: int, count: int) -> dict[str, Any]:
    base = shared_dir()
    rules = [str(base / "falco" / "rules" / "falco_rules.yaml")]
    events = workload(count)
    receiver = Receiver()
    await receiver.start()
    with tempfile.TemporaryDirectory(prefix="detector-load-") as tmp:
        workdir = Path(tmp)
        port = _free_port()
        config = sidecar_config(workdir, port, receiver.port, rules)
        log = (workdir / "sidecar.log").open("wb")
        proc = subprocess.Popen(
            [sys.executable, "-c", "from detector.cli.main import main; main()", "run", "--config", str(config)],
            stdout=log, stderr=subprocess.STDOUT, cwd=ROOT,
        )
        try:
            url = f"http://127.0.0.1:{port}"
            await wait_ready(url, proc)
            load = Load(events, url + "/")
            connector = aiohttp.TCPConnector(limit=concurrency)
            async with aiohttp.ClientSession(connector=connector) as session:
                single = await measure("single", load, receiver, session, seconds=duration, concurrency=concurrency,
                                       batch=1, rate=None)
                batched = await measure("batch", load, receiver, session, seconds=duration, concurrency=4,
                                        batch=batch, rate=None)
                paced = await measure("paced", load, receiver, session, seconds=duration, concurrency=concurrency,
                                      batch=1, rate=max(1.0, single.events_per_s / 2))
            cpu, rss = proc_stats(proc.pid)
        finally:
            proc.terminate()
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
            log.close()
        tail = (workdir / "sidecar.log").read_text(errors="replace")[-2000:]
    await receiver.stop()
    return {
        "rules": rules,
        "workload_events": len(events),
        "runs": [asdict(r) for r in (single, batched, paced)],
        "sidecar_cpu_seconds": round(cpu, 2),
        "sidecar_peak_rss_mb": round(rss / 2**20, 1),
        "cpus": os.cpu_count(),
        "log_tail": tail,
    }


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@click.command()
@click.option("--duration", default=10.0, show_default=True, help="Seconds measured per run (after 2 s warm-up).")
@click.option("--concurrency", default=32, show_default=True, help="Requests in flight for the single/paced runs.")
@click.option("--batch", default=100, show_default=True, help="Events per request in the batch run.")
@click.option("--events", "count", default=20_000, show_default=True, help="Distinct workload events (cycled).")
def main(duration: float, concurrency: int, batch: int, count: int) -> None:
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        report = runner.run(main_async(duration, concurrency, batch, count))
    click.echo(f"{'run':<8} {'events/s':>10} {'alerts/s':>9} {'errors':>7} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8}")
    for run in report["runs"]:
        lat = run["latency_ms"]
        click.echo(f"{run['name']:<8} {run['events_per_s']:>10.0f} {run['alerts_per_s']:>9.1f} {run['errors']:>7} "
                   f"{lat.get('p50', float('nan')):>8} {lat.get('p99', float('nan')):>8} {lat.get('max', float('nan')):>8}")
    click.echo(f"sidecar: {report['sidecar_cpu_seconds']} CPU s, peak RSS {report['sidecar_peak_rss_mb']} MB, "
               f"{report['cpus']} CPUs shared with the load generator")
    out = ROOT / "benchmarks" / "out"
    out.mkdir(exist_ok=True)
    report.pop("log_tail")
    (out / "sidecar_load.json").write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()
