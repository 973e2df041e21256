"""Load figure for ``detector run``: events/s through the HTTP input and alert latency, on loopback.

    python benchmarks/sidecar_load.py [--duration 10] [--concurrency 16] [--batch 100] [--alert-share 0.05]

Starts ``detector run`` with the upstream ``falco_rules.yaml`` (from ../shared), a webhook
receiver (its own process) and a load generator (this process: lean keep-alive HTTP/1.1 on
asyncio streams, uvloop), everything on 127.0.0.1.  The workload is ``benchmarks/generate.py``'s
syscall stream, ``--alert-share`` of it written to fire an upstream rule so the latency
percentiles have samples.  Each sent event gets a unique ``evt.rawtime``, which comes back as
the alert's ``output_fields["evt.time"]``, so every alert is matched to the moment its event
was sent.

Three runs, each ``--duration`` seconds after a 2 s warm-up:

  single   one event per POST (what Falco's http_output sends), --concurrency connections
  batch    application/x-ndjson bodies of --batch events, 4 connections
  paced    single, at half the rate ``single`` sustained: the latency of a sidecar that keeps up

Reported: events/s accepted (HTTP 200: evaluated and its alerts spooled); events per CPU-second
of the sidecar process (the figure that does not depend on what else runs on the machine);
alert latency p50/p99/max, event sent → alert received by the webhook, both stamped with the
system-wide monotonic clock; the sidecar's own p99 (``detector_output_latency_seconds``, a
bucket bound); its peak RSS.  Results also go to ``benchmarks/out/sidecar_load.json``.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
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
    sidecar_cpu_s: float = 0.0
    events_per_cpu_s: float = 0.0
    sidecar_p99_ms: float = 0.0


class Receiver:
    """The webhook, in a process of its own so the load generator cannot slow it down.

    It records ``seq arrival_ns`` (``time.monotonic_ns``, comparable across processes) for each
    alert carrying a marker, and writes them to ``out`` when it gets SIGTERM.
    """

    def __init__(self, workdir: Path) -> None:
        self.out = workdir / "arrivals.txt"
        self.port = _free_port()
        self._proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self._proc = subprocess.Popen([sys.executable, __file__, "--receiver", str(self.port), str(self.out)], cwd=ROOT)

    def stop(self) -> dict[int, int]:
        assert self._proc is not None
        self._proc.terminate()
        self._proc.wait(30)
        arrivals: dict[int, int] = {}
        for line in self.out.read_text().splitlines():
            seq, _, stamp = line.partition(" ")
            arrivals.setdefault(int(seq), int(stamp))
        return arrivals


def run_receiver(port: int, out: Path) -> None:
    arrivals: list[tuple[int, int]] = []

    async def handle(request: web.Request) -> web.Response:
        now = time.monotonic_ns()
        alert = orjson.loads(await request.read())
        stamp = (alert.get("output_fields") or {}).get("evt.time")
        if isinstance(stamp, int) and stamp >= MARK_BASE:
            arrivals.append((stamp - MARK_BASE, now))
        return web.Response()

    async def serve() -> None:
        app = web.Application()
        app.router.add_post("/", handle)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", port).start()
        stop = asyncio.Event()
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
        await stop.wait()
        await runner.cleanup()
        out.write_text("".join(f"{seq} {stamp}\n" for seq, stamp in arrivals))

    uvloop.run(serve())


class Load:
    """A lean HTTP/1.1 keep-alive client on asyncio streams: aiohttp's client would cost more CPU
    than the sidecar it measures on a 2-core machine."""

    def __init__(self, events: list[bytes], port: int) -> None:
        self.events = events
        self.port = port
        self.sent_at: dict[int, int] = {}
        self.seq = 0

    def _next(self) -> tuple[int, bytes]:
        seq = self.seq
        self.seq += 1
        body = self.events[seq % len(self.events)]
        # The template ends with '}': splice the marker in without re-encoding the event.
        return seq, body[:-1] + b',"evt.rawtime":' + str(MARK_BASE + seq).encode() + b"}"

    async def run(self, *, seconds: float, concurrency: int, batch: int, rate: float | None,
                  result: RunResult) -> None:
        stop_at = time.perf_counter() + seconds
        interval = (concurrency / rate) if rate else 0.0
        ctype = b"application/json" if batch == 1 else b"application/x-ndjson"

        async def worker() -> None:
            reader, writer = await asyncio.open_connection("127.0.0.1", self.port)
            next_time = time.perf_counter()
            try:
                while time.perf_counter() < stop_at:
                    items = [self._next() for _ in range(batch)]
                    body = items[0][1] if batch == 1 else b"\n".join(b for _, b in items)
                    now = time.monotonic_ns()
                    for seq, _ in items:
                        self.sent_at[seq] = now
                    writer.write(b"POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: " + ctype
                                 + b"\r\nContent-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body)
                    status_line = await reader.readline()
                    length = 0
                    while True:
                        header = await reader.readline()
                        if header in (b"\r\n", b""):
                            break
                        name, _, value = header.partition(b":")
                        if name.strip().lower() == b"content-length":
                            length = int(value)
                    await reader.readexactly(length)
                    result.requests += 1
                    if status_line.split(b" ", 2)[1:2] == [b"200"]:
                        result.events += len(items)
                    else:
                        result.errors += 1
                    if interval:
                        next_time += interval
                        delay = next_time - time.perf_counter()
                        if delay > 0:
                            await asyncio.sleep(delay)
            finally:
                writer.close()

        await asyncio.gather(*(worker() for _ in range(concurrency)))


def workload(count: int, alert_share: float) -> list[bytes]:
    events = []
    for source, _, event in labeled_events(WorkloadSpec(events=count, seed=7, alert_share=alert_share)):
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


async def scrape(session: aiohttp.ClientSession, url: str) -> dict[str, float]:
    async with session.get(url + "/metrics") as response:
        text = await response.text()
    values: dict[str, float] = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name, _, value = line.rpartition(" ")
            values[name] = float(value)
    return values


def histogram_quantile(before: dict[str, float], after: dict[str, float], name: str, q: float) -> float:
    """The ``q`` quantile (0-1) of a Prometheus histogram's increase between two scrapes (upper bucket bound)."""
    buckets: list[tuple[float, float]] = []
    prefix = name + "_bucket{"
    for key, value in after.items():
        if key.startswith(prefix) and 'output="http"' in key:
            label = key.split('le="', 1)[1].split('"', 1)[0]
            buckets.append((float("inf") if label == "+Inf" else float(label), value - before.get(key, 0.0)))
    buckets.sort()
    if not buckets or buckets[-1][1] <= 0:
        return float("nan")
    target = q * buckets[-1][1]
    for upper, count in buckets:
        if count >= target:
            return upper
    return float("inf")


async def settle(session: aiohttp.ClientSession, url: str) -> None:
    """Wait (bounded) until the sidecar has delivered everything it accepted."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        metrics = await scrape(session, url)
        if metrics.get('detector_output_queued{output="http"}', 1) == 0 and metrics.get("detector_ingest_queue_depth") == 0:
            return
        await asyncio.sleep(0.2)


async def measure(name: str, load: Load, session: aiohttp.ClientSession, url: str, pid: int, *, seconds: float,
                  concurrency: int, batch: int, rate: float | None) -> tuple[RunResult, range]:
    await load.run(seconds=2.0, concurrency=concurrency, batch=batch, rate=rate, result=RunResult("warmup"))
    await settle(session, url)
    result = RunResult(name)
    first_seq = load.seq
    before = await scrape(session, url)
    cpu_before, _ = proc_stats(pid)
    start = time.perf_counter()
    await load.run(seconds=seconds, concurrency=concurrency, batch=batch, rate=rate, result=result)
    result.seconds = time.perf_counter() - start
    cpu_after, _ = proc_stats(pid)
    await settle(session, url)
    after = await scrape(session, url)
    result.events_per_s = result.events / result.seconds
    result.sidecar_cpu_s = round(cpu_after - cpu_before, 2)
    if result.sidecar_cpu_s > 0:
        result.events_per_cpu_s = round(result.events / result.sidecar_cpu_s)
    result.sidecar_p99_ms = round(
        1000 * histogram_quantile(before, after, "detector_output_latency_seconds", 0.99), 1
    )
    return result, range(first_seq, load.seq)


def fill_latencies(result: RunResult, window: range, sent_at: dict[int, int], arrivals: dict[int, int]) -> None:
    latencies = [(arrivals[s] - sent_at[s]) / 1e6 for s in window if s in arrivals and s in sent_at]
    result.alerts = len(latencies)
    result.alerts_per_s = result.alerts / result.seconds if result.seconds else 0.0
    if latencies:
        result.latency_ms = {
            "p50": round(percentile(latencies, 50), 2),
            "p99": round(percentile(latencies, 99), 2),
            "max": round(max(latencies), 2),
            "mean": round(statistics.fmean(latencies), 2),
        }


async def main_async(duration: float, concurrency: int, batch: int, count: int, alert_share: float) -> dict[str, Any]:
    base = shared_dir()
    rules = [str(base / "falco" / "rules" / "falco_rules.yaml")]
    events = workload(count, alert_share)
    with tempfile.TemporaryDirectory(prefix="detector-load-") as tmp:
        workdir = Path(tmp)
        receiver = Receiver(workdir)
        receiver.start()
        port = _free_port()
        config = sidecar_config(workdir, port, receiver.port, rules)
        log = (workdir / "sidecar.log").open("wb")
        proc = subprocess.Popen(
            [sys.executable, "-c", "from detector.cli.main import main; main()", "run", "--config", str(config)],
            stdout=log, stderr=subprocess.STDOUT, cwd=ROOT,
        )
        runs: list[tuple[RunResult, range]] = []
        try:
            url = f"http://127.0.0.1:{port}"
            await wait_ready(url, proc)
            load = Load(events, port)
            async with aiohttp.ClientSession() as session:
                single = await measure("single", load, session, url, proc.pid, seconds=duration,
                                       concurrency=concurrency, batch=1, rate=None)
                runs.append(single)
                runs.append(await measure("batch", load, session, url, proc.pid, seconds=duration, concurrency=4,
                                          batch=batch, rate=None))
                runs.append(await measure("paced", load, session, url, proc.pid, seconds=duration,
                                          concurrency=concurrency, batch=1, rate=max(1.0, single[0].events_per_s / 2)))
            _, rss = proc_stats(proc.pid)
        finally:
            proc.terminate()
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
            log.close()
            arrivals = receiver.stop()
    for result, window in runs:
        fill_latencies(result, window, load.sent_at, arrivals)
    return {
        "rules": rules,
        "workload_events": len(events),
        "alert_share": alert_share,
        "load_average_after": os.getloadavg(),
        "runs": [asdict(r) for r, _ in runs],
        "sidecar_peak_rss_mb": round(rss / 2**20, 1),
        "cpus": os.cpu_count(),
    }


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@click.command()
@click.option("--duration", default=10.0, show_default=True, help="Seconds measured per run (after 2 s warm-up).")
@click.option("--concurrency", default=16, show_default=True, help="Connections for the single/paced runs.")
@click.option("--batch", default=100, show_default=True, help="Events per request in the batch run.")
@click.option("--events", "count", default=20_000, show_default=True, help="Distinct workload events (cycled).")
@click.option("--alert-share", default=0.05, show_default=True,
              help="Share of workload events written to fire an upstream rule (latency samples).")
@click.option("--receiver", nargs=2, type=(int, click.Path()), default=None, hidden=True)
def main(duration: float, concurrency: int, batch: int, count: int, alert_share: float,
         receiver: tuple[int, str] | None) -> None:
    if receiver is not None:
        run_receiver(receiver[0], Path(receiver[1]))
        return
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        report = runner.run(main_async(duration, concurrency, batch, count, alert_share))
    click.echo(f"{'run':<7} {'events/s':>9} {'ev/cpu-s':>9} {'alerts':>7} {'err':>4} {'p50 ms':>7} {'p99 ms':>7} "
               f"{'max ms':>7} {'in-sidecar p99 ms':>18}")
    for run in report["runs"]:
        lat = run["latency_ms"]
        click.echo(f"{run['name']:<7} {run['events_per_s']:>9.0f} {run['events_per_cpu_s']:>9.0f} {run['alerts']:>7} "
                   f"{run['errors']:>4} {lat.get('p50', float('nan')):>7} {lat.get('p99', float('nan')):>7} "
                   f"{lat.get('max', float('nan')):>7} {run['sidecar_p99_ms']:>18}")
    click.echo(f"sidecar peak RSS {report['sidecar_peak_rss_mb']} MB; {report['cpus']} CPUs shared by the sidecar, "
               "the load generator and the receiver")
    out = ROOT / "benchmarks" / "out"
    out.mkdir(exist_ok=True)
    (out / "sidecar_load.json").write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()
