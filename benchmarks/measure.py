"""Time one child process end to end and take its peak memory.

Wall time runs from just before the spawn to the child's exit, so interpreter start-up, imports and
rule loading count, as they do for a user.  CPU time (user + system of the child and everything it
waited for) comes with it: on a busy machine it moves far less than wall time.  Peak memory comes from two places:

- ``/usr/bin/time``'s maximum resident set size: the kernel's exact high-water mark of the largest
  process in the child's tree.  It is taken through ``time`` rather than from our own ``wait4``
  because Linux carries a process's RSS high-water mark across ``exec``: a child forked straight
  from this (large) Python process would report at least this process's size.  ``time`` is small,
  so what it forks starts near zero.  Without ``/usr/bin/time`` the polled figure below stands in;
- for runs that split work over worker processes, and only for those, a 100 ms psutil poll of the
  summed RSS of the child and all its descendants (approximate: a peak between polls is missed).
  Polling walks /proc, which costs CPU the measured process would otherwise have on a small
  machine, so single-process runs are not polled when ``/usr/bin/time`` is there.
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

try:
    import psutil
except ImportError:  # optional: the tree-wide figure is then left out
    psutil = None

TIME_BIN = shutil.which("time", path="/usr/bin:/bin")


@dataclass(frozen=True, slots=True)
class Sample:
    """One run of one command."""

    seconds: float
    cpu_seconds: float  # user + system time of the whole child tree, from wait4
    maxrss_bytes: int
    tree_peak_bytes: int | None
    returncode: int
    summary: dict[str, Any] | None  # the child's last stdout line, when it is JSON
    stderr_tail: str


@dataclass(slots=True)
class Measurement:
    samples: list[Sample] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return bool(self.samples) and all(s.returncode == 0 for s in self.samples)

    @property
    def median_seconds(self) -> float:
        return statistics.median(s.seconds for s in self.samples)

    @property
    def median_cpu_seconds(self) -> float:
        return statistics.median(s.cpu_seconds for s in self.samples)

    @property
    def peak_rss_bytes(self) -> int:
        return max(s.maxrss_bytes for s in self.samples)

    @property
    def tree_peak_bytes(self) -> int | None:
        peaks = [s.tree_peak_bytes for s in self.samples if s.tree_peak_bytes is not None]
        return max(peaks) if peaks else None


class _TreePoller(threading.Thread):
    """Samples the summed RSS of a process tree until told to stop."""

    def __init__(self, pid: int, *, include_root: bool, interval: float = 0.1) -> None:
        super().__init__(daemon=True)
        self.pid = pid
        self.include_root = include_root
        self.interval = interval
        self.peak = 0
        self._stop_event = threading.Event()

    def run(self) -> None:
        assert psutil is not None
        try:
            root = psutil.Process(self.pid)
        except psutil.Error:
            return
        while not self._stop_event.is_set():
            try:
                procs = root.children(recursive=True)
                if self.include_root:
                    procs.append(root)
                total = 0
                for proc in procs:
                    try:
                        total += proc.memory_info().rss
                    except psutil.Error:
                        pass
                self.peak = max(self.peak, total)
            except psutil.Error:
                return
            self._stop_event.wait(self.interval)

    def stop(self) -> int:
        self._stop_event.set()
        self.join()
        return self.peak


def run_once(argv: Sequence[str], *, scratch: Path, env: dict[str, str] | None = None, tree: bool = False) -> Sample:
    """Run ``argv`` to completion; its stdout and stderr go to files under ``scratch``.

    ``tree`` asks for the polled, summed RSS of the whole process tree as well.
    """
    scratch.mkdir(parents=True, exist_ok=True)
    out_path = scratch / "stdout.txt"
    err_path = scratch / "stderr.txt"
    time_path = scratch / "maxrss.txt"
    time_path.unlink(missing_ok=True)
    command = [TIME_BIN, "-f", "%M", "-o", str(time_path), *argv] if TIME_BIN else list(argv)
    with out_path.open("wb") as out, err_path.open("wb") as err:
        started = time.perf_counter()
        proc = subprocess.Popen(command, stdout=out, stderr=err, stdin=subprocess.DEVNULL, env=env)
        poll = psutil is not None and (tree or TIME_BIN is None)
        poller = _TreePoller(proc.pid, include_root=TIME_BIN is None) if poll else None
        if poller is not None:
            poller.start()
        # wait4 rather than Popen.wait: it also hands back the CPU time of the child's whole tree,
        # which other load on the machine disturbs far less than wall time.
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - started
        returncode = proc.returncode = os.waitstatus_to_exitcode(status)
        tree_peak = poller.stop() if poller is not None else None
    stdout = out_path.read_bytes()
    stderr = err_path.read_text(errors="replace")
    return Sample(
        seconds=seconds,
        cpu_seconds=usage.ru_utime + usage.ru_stime,
        maxrss_bytes=_time_maxrss(time_path) or tree_peak or 0,
        tree_peak_bytes=tree_peak or None,
        returncode=returncode,
        summary=_last_json_line(stdout),
        stderr_tail="\n".join(stderr.strip().splitlines()[-6:]),
    )


def _time_maxrss(path: Path) -> int | None:
    """The last number ``time -f %M`` wrote (kilobytes), in bytes; it may be preceded by a status note."""
    try:
        lines = path.read_text().split()
    except OSError:
        return None
    for word in reversed(lines):
        if word.isdigit():
            return int(word) * 1024
    return None


def measure(argv: Sequence[str], *, repeat: int, scratch: Path, env: dict[str, str] | None = None,
            tree: bool = False) -> Measurement:
    """``repeat`` runs, stopping early when one fails (a failure will not become a success)."""
    result = Measurement()
    for _ in range(repeat):
        sample = run_once(argv, scratch=scratch, env=env, tree=tree)
        result.samples.append(sample)
        if sample.returncode != 0:
            break
    return result


def _last_json_line(stdout: bytes) -> dict[str, Any] | None:
    for line in reversed(stdout.strip().splitlines()):
        try:
            value = orjson.loads(line)
        except orjson.JSONDecodeError:
            return None
        return value if isinstance(value, dict) else None
    return None
