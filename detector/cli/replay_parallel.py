"""``detector replay --workers N``: several processes over large inputs, output as one process writes it.

The parent loads the rules and builds the engine, then forks N workers that
inherit it.  Inputs are cut into blocks at line boundaries:

* a plain regular file is cut by byte offsets (the parent only seeks to find
  the newline after each cut; workers read their range themselves);
* gzip and stdin are read (and decompressed) by the parent, which ships blocks
  of whole lines to the workers.

Each block goes to the worker with the fewest blocks outstanding (one slowed by
other load gets fewer); each worker decodes, evaluates and renders its blocks in
order and sends back the alert lines, its counters and its bad lines (numbered
within the block).  The parent takes results as they come, writes them in
block order, renumbers bad lines by the lines before the block, and writes the
alert lines to the outputs: the output is byte for byte what one process
writes, in the same order, and the summary is the same except timings and
cache sizes.  At most ``IN_FLIGHT`` blocks per worker are unanswered and twice
as many per worker sent and not yet written, so memory stays bounded whatever
the input size.
"""

from __future__ import annotations

import collections
import contextlib
import io
import multiprocessing
import os
import stat
import sys
import time
import zlib
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from multiprocessing.connection import wait as wait_ready
from typing import Any

from detector.engine import Engine
from detector.outputs.sinks import LineFormat
from detector.sources import BadLine, BadLineStats
from detector.sources.jsonlines import DEFAULT_MAX_LINE_BYTES, open_input, read_failure, read_stream

IN_FLIGHT = 3
MIN_BLOCK = 1 << 20
MAX_BLOCK = 4 << 20  # small enough that the last blocks leave little idle time
_READ = 1 << 20
_GZIP_MAGIC = b"\x1f\x8b"


class _Rendered:
    """An alert already rendered by a worker: sinks ask it for its line and get it back."""

    __slots__ = ("data",)

    def __init__(self, data: bytes) -> None:
        self.data = data

    def to_json(self, options: Any = None) -> bytes:
        return self.data

    def to_text(self, *, iso8601: bool | None = None, tz: Any = None, escape: bool = True) -> str:
        return self.data.decode("utf-8")


@dataclass(frozen=True, slots=True)
class _Range:
    path: str
    name: str
    start: int
    end: int


@dataclass(frozen=True, slots=True)
class _Bytes:
    name: str
    data: bytes
    start: int


@dataclass(frozen=True, slots=True)
class _Oversized:
    name: str
    length: int
    start: int


Task = _Range | _Bytes | _Oversized


@dataclass(slots=True)
class BlockResult:
    stats: BadLineStats
    bad: list[BadLine]
    lines: list[bytes]
    by_rule: Counter[str]
    by_priority: Counter[str]
    caches: dict[str, Any] = field(default_factory=dict)
    error: str | None = None


@dataclass(frozen=True, slots=True)
class _Job:
    engine: Engine
    fmt: LineFormat
    max_line_bytes: int


def _range_opener(task: _Range) -> Callable[[contextlib.ExitStack], tuple[Callable[[int], bytes], Callable[[], int]]]:
    def opener(stack: contextlib.ExitStack) -> tuple[Callable[[int], bytes], Callable[[], int]]:
        handle = stack.enter_context(open(task.path, "rb"))  # noqa: SIM115 - closed by the stack
        handle.seek(task.start)
        remaining = task.end - task.start

        def read(n: int) -> bytes:
            nonlocal remaining
            if remaining <= 0:
                return b""
            data = handle.read(min(n, remaining))
            remaining -= len(data)
            return data

        return read, (lambda: -1)

    return opener


def _bytes_opener(data: bytes) -> Callable[[contextlib.ExitStack], tuple[Callable[[int], bytes], Callable[[], int]]]:
    return lambda stack: (io.BytesIO(data).read, (lambda: -1))


def run_block(job: _Job, prefilter: Any, task: Task) -> BlockResult:
    """What a worker does with one block (also usable in-process, for tests)."""
    stats = BadLineStats()
    bad: list[BadLine] = []
    out: list[bytes] = []
    by_rule: Counter[str] = Counter()
    by_priority: Counter[str] = Counter()
    if isinstance(task, _Oversized):
        stats.lines = 1
        stats.by_kind["oversized"] = 1
        bad.append(BadLine(task.name, 1, "oversized",
                           f"line of {task.length} bytes is longer than {job.max_line_bytes}, skipped", task.start))
        return BlockResult(stats, bad, out, by_rule, by_priority)
    opener = _range_opener(task) if isinstance(task, _Range) else _bytes_opener(task.data)
    line = job.fmt.line
    process = job.engine.process
    for record in read_stream(task.name, opener, max_line_bytes=job.max_line_bytes, stats=stats,
                              on_bad=bad.append, prefilter=prefilter, first_offset=task.start):
        for alert in process(record.event, record.source, record.matched):
            out.append(line(alert)[:-1])
            by_rule[alert.rule] += 1
            by_priority[alert.priority.title] += 1
    caches = {"engine": job.engine.cache_stats, "prefilter": prefilter.stats() if prefilter is not None else {}}
    return BlockResult(stats, bad, out, by_rule, by_priority, caches)


def _worker(job: _Job, conn: Any) -> None:
    prefilter = job.engine.line_prefilter()
    while True:
        try:
            task = conn.recv()
        except EOFError:
            return
        if task is None:
            return
        try:
            result = run_block(job, prefilter, task)
        except Exception as exc:  # noqa: BLE001 - reported by the parent, never a traceback
            result = BlockResult(BadLineStats(), [], [], Counter(), Counter(), error=f"{type(exc).__name__}: {exc}")
        conn.send(result)


# --- cutting inputs into blocks ---------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _FileEvent:
    """Something the parent reports itself, in order: a file it could not open or read to the end."""

    name: str
    kind: str
    message: str  # may hold "{line}": filled with the lines read so far when reported
    counts_error: bool = True


Item = Task | _FileEvent


def _block_size(size: int, workers: int) -> int:
    return max(MIN_BLOCK, min(MAX_BLOCK, size // (workers * 8) + 1))


def _file_blocks(path: str, size: int, workers: int) -> Iterator[_Range]:
    """Byte ranges of a plain file, each ending just after a newline (the last at the end)."""
    block = _block_size(size, workers)
    start = 0
    with open(path, "rb") as handle:
        while start < size:
            cut = start + block
            if cut >= size:
                yield _Range(path, path, start, size)
                return
            handle.seek(cut)
            while True:
                piece = handle.read(65536)
                if not piece:
                    cut = size
                    break
                at = piece.find(b"\n")
                if at >= 0:
                    cut += at + 1
                    break
                cut += len(piece)
            yield _Range(path, path, start, cut)
            start = cut


def _stream_blocks(name: str, read: Callable[[int], bytes], block: int, max_line_bytes: int) -> Iterator[Task]:
    """Blocks of whole lines from a stream the parent reads; an over-long line becomes a marker.

    A read error propagates after the lines read so far (and the partial last line) are given out.
    """
    pending = bytearray()
    offset = 0  # stream offset of pending[0]
    skipping = 0  # bytes of an over-long line being dropped

    def tail() -> Iterator[Task]:
        if skipping:
            yield _Oversized(name, skipping, offset - skipping)
        elif pending:
            yield _Bytes(name, bytes(pending), offset)

    try:
        while True:
            chunk = read(_READ)
            if not chunk:
                break
            if skipping:
                at = chunk.find(b"\n")
                if at < 0:
                    skipping += len(chunk)
                    offset += len(chunk)
                    continue
                yield _Oversized(name, skipping + at, offset - skipping)
                offset += at + 1
                skipping = 0
                chunk = chunk[at + 1:]
            pending += chunk
            last = pending.rfind(b"\n")
            if last >= 0 and (last + 1 >= block or len(pending) - last - 1 > max_line_bytes):
                data = bytes(pending[: last + 1])
                yield _Bytes(name, data, offset)
                offset += len(data)
                del pending[: last + 1]
                last = -1
            if last < 0 and len(pending) > max_line_bytes:
                skipping = len(pending)
                offset += len(pending)
                pending.clear()
    except GeneratorExit:
        raise
    except BaseException:
        yield from tail()
        raise
    yield from tail()


def _items(paths: Sequence[str], workers: int, max_line_bytes: int) -> Iterator[tuple[int, Item]]:
    """``(input index, item)`` for every input in order: its blocks, or what went wrong with it."""
    for index, path in enumerate(paths):
        name = str(path)
        if name != "-":
            try:
                with open(name, "rb") as handle:
                    info = os.fstat(handle.fileno())
                    magic = handle.read(2)
            except OSError as exc:
                yield index, _FileEvent(name, "file_error", f"cannot open: {exc.strerror or exc}")
                continue
            if stat.S_ISREG(info.st_mode) and magic != _GZIP_MAGIC:
                for r in _file_blocks(name, info.st_size, workers):
                    yield index, r
                continue
        with contextlib.ExitStack() as stack:
            try:
                read, compressed_pos = open_input(name, stack)
            except OSError as exc:
                yield index, _FileEvent(name, "file_error", f"cannot open: {exc.strerror or exc}")
                continue
            block = _block_size(8 * MAX_BLOCK, workers)
            try:
                for task in _stream_blocks(name, read, block, max_line_bytes):
                    yield index, task
            except (EOFError, OSError, zlib.error) as exc:
                # "{line}": filled in by the parent with the lines read so far
                yield index, _FileEvent(name, *read_failure(exc, "{line}", compressed_pos))


# --- the parent -------------------------------------------------------------------------------


@dataclass(slots=True)
class ParallelTally:
    stats: BadLineStats
    alerts: int = 0
    by_rule: Counter[str] = field(default_factory=Counter)
    by_priority: Counter[str] = field(default_factory=Counter)
    caches: dict[str, Any] = field(default_factory=dict)


class WorkerError(RuntimeError):
    """A worker failed or died; the message says which block."""


def replay_parallel(engine: Engine, paths: Sequence[str], sink: Any, fmt: LineFormat, workers: int, *,
                    on_bad: Callable[[BadLine], None] | None = None,
                    progress: Callable[[int, int], None] | None = None,
                    max_line_bytes: int = DEFAULT_MAX_LINE_BYTES) -> ParallelTally:
    """Replay ``paths`` over ``workers`` processes; alerts go to ``sink`` in input order."""
    ctx = multiprocessing.get_context("fork")
    job = _Job(engine, fmt, max_line_bytes)
    conns = []
    procs = []
    for _ in range(workers):
        parent_end, child_end = ctx.Pipe()
        proc = ctx.Process(target=_worker, args=(job, child_end), daemon=True)
        proc.start()
        child_end.close()
        conns.append(parent_end)
        procs.append(proc)
    tally = ParallelTally(BadLineStats())
    stats = tally.stats
    # (worker or -1 for a parent event, input index, item, block number), in input order
    pending: collections.deque[tuple[int, int, Item, int]] = collections.deque()
    # Each worker's blocks not received yet, in the order sent (a worker answers in that order).
    unanswered: list[collections.deque[int]] = [collections.deque() for _ in range(workers)]
    received: dict[int, BlockResult] = {}  # results come in any order; merged in block order
    line_base: dict[int, int] = {}
    sent = 0
    write = sink.write
    worker_of = {id(conn): w for w, conn in enumerate(conns)}
    window = 2 * IN_FLIGHT * workers

    def died(worker: int, exc: BaseException) -> WorkerError:
        """A worker's pipe broke: it was killed or ran out of memory."""
        procs[worker].join(1)
        return WorkerError(f"worker {worker + 1} of {workers} exited unexpectedly "
                           f"(exit code {procs[worker].exitcode}): {exc or type(exc).__name__}")

    def receive(worker: int) -> None:
        try:
            result = conns[worker].recv()
        except (EOFError, OSError) as exc:
            raise died(worker, exc) from exc
        received[unanswered[worker].popleft()] = result

    def merge_ready() -> None:
        while pending and (pending[0][0] < 0 or pending[0][3] in received):
            worker, index, item, number = pending.popleft()
            merge(index, item, None if worker < 0 else received.pop(number))

    def merge(index: int, item: Item, result: BlockResult | None) -> None:
        name = item.name
        base = line_base.get(index, 0)
        if result is None:
            assert isinstance(item, _FileEvent)
            stats.file_errors += 1
            stats.by_kind[item.kind] += 1
            if on_bad is not None:
                line = base if "{line}" in item.message else 0
                on_bad(BadLine(name, line, item.kind, item.message.replace("{line}", str(base)), None))
            return
        if result.error is not None:
            raise WorkerError(f"worker failed on a block of {name}: {result.error}")
        for data in result.lines:
            write(_Rendered(data))
        tally.alerts += len(result.lines)
        tally.by_rule.update(result.by_rule)
        tally.by_priority.update(result.by_priority)
        part = result.stats
        stats.lines += part.lines
        stats.accepted_lines += part.accepted_lines
        stats.blank_lines += part.blank_lines
        stats.records += part.records
        stats.file_errors += part.file_errors
        stats.items_rejected += part.items_rejected
        stats.by_kind.update(part.by_kind)
        stats.by_source.update(part.by_source)
        if on_bad is not None:
            for bad in result.bad:
                on_bad(BadLine(bad.file, bad.line + base if bad.line else 0, bad.kind, bad.message, bad.offset))
        line_base[index] = base + part.lines
        for key, value in result.caches.items():
            tally.caches[key] = _max_stats(tally.caches.get(key), value)
        if progress is not None:
            progress(stats.records, tally.alerts)

    def wait_for_any() -> None:
        """Take whatever results are ready (blocking until one is), then merge what is in order.
        Some worker is always busy here: ``merge_ready`` leaves at the head of ``pending`` only a
        block not received yet."""
        busy = [conns[w] for w in range(workers) if unanswered[w]]
        assert busy, "nothing to wait for"
        for conn in wait_ready(busy):
            receive(worker_of[id(conn)])
        merge_ready()

    try:
        counted = -1
        for index, item in _items(paths, workers, max_line_bytes):
            if index != counted:
                counted = index
                stats.files += 1
            if isinstance(item, _FileEvent):
                pending.append((-1, index, item, -1))
                merge_ready()
                continue
            # A shipped block is large: send it only to an idle worker, so that neither side can
            # block on a full pipe while the other does too.  Ranges are a few bytes.  The next
            # block goes to the least busy worker (a worker slowed by other load gets fewer); at
            # most IN_FLIGHT blocks a worker are unanswered, and at most ``window`` blocks are
            # sent and not yet written, which bounds the results kept waiting for an earlier one
            # while leaving a fast worker room to run ahead of a slow one.
            limit = 1 if isinstance(item, _Bytes) else IN_FLIGHT
            while True:
                worker = min(range(workers), key=lambda w: len(unanswered[w]))
                if len(unanswered[worker]) < limit and len(pending) < window:
                    break
                wait_for_any()
            try:
                conns[worker].send(item)
            except OSError as exc:
                raise died(worker, exc) from exc
            unanswered[worker].append(sent)
            pending.append((worker, index, item, sent))
            sent += 1
        while pending:
            wait_for_any()
    finally:
        for conn in conns:
            with contextlib.suppress(OSError):
                conn.send(None)
        deadline = time.monotonic() + 5
        for proc in procs:
            proc.join(max(0.0, deadline - time.monotonic()))
            if proc.is_alive():
                proc.terminate()
                proc.join()
        for conn in conns:
            conn.close()
    return tally


def _max_stats(old: Any, new: Any) -> Any:
    """Cache sizes from several workers: the largest of each figure."""
    if isinstance(new, dict):
        old = old if isinstance(old, dict) else {}
        return {k: _max_stats(old.get(k), v) for k, v in new.items()}
    if isinstance(new, int) and isinstance(old, int):
        return max(old, new)
    return new


__all__ = ["ParallelTally", "WorkerError", "replay_parallel", "run_block"]

if sys.platform == "win32":  # pragma: no cover - fork is what the design relies on
    raise ImportError("replay --workers needs fork()")
