"""JSON lines in, records out: plain and gzip files, several of them, or stdin.

Each physical line is decoded and recognised on its own, so one bad line costs
only itself: it is skipped, counted by kind in :class:`BadLineStats` and handed
to ``on_bad`` with its file and line number, and reading goes on.  A file that
cannot be opened, or a gzip stream that turns out truncated or corrupt, is
reported the same way and reading continues with the next file.

Decoding works on bytes with orjson.  Two orjson behaviours are corrected:

* integers outside the 64-bit range silently become floats in orjson, so a
  value holding a float of that magnitude is re-decoded with the stdlib
  ``json`` module, which keeps integers exact (and integers orjson refuses as
  "infinity" get the same second chance);
* orjson accepts nesting up to 1024 levels, deeper than anything downstream
  should walk, so values nested deeper than ``max_depth`` are refused.

Duplicate keys follow orjson's rule (the last one wins), except ``source``,
whose duplication makes a line ambiguous and rejects it.  Escaped ``\\u0000``
inside strings is valid JSON and kept; a raw NUL byte is not.

With a *prefilter* (``read_records(..., prefilter=engine.line_prefilter())``) the
reader yields only the records that some rule may match: an ASCII line is first
decoded partially by the prefilter, into a struct chosen by its ``evt.type``,
and counted as an accepted syscall record without being yielded when the
struct's ``check()`` says no rule can match it (``detector.engine.prefilter``
says what such lines are checked for); when ``check()`` knows exactly which
rules match, the record carries them (``Record.matched``).  When the partial decoding fails, a type
not seen before is looked up in the raw bytes and handed to the prefilter.
Every other line takes the path above.
"""

from __future__ import annotations

import contextlib
import gzip
import io
import json
import sys
import zlib
from collections import Counter
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from pathlib import Path
from typing import IO, Any, Final, Protocol

import orjson

from detector.sources.recognize import recognize
from detector.sources.records import DEFAULT_SOURCES, BadLine, BadLineStats, Record, RecordRejected

DEFAULT_MAX_LINE_BYTES: Final = 8 * 1024 * 1024
DEFAULT_MAX_DEPTH: Final = 128
_CHUNK: Final = 1 << 20
_BOM: Final = b"\xef\xbb\xbf"
_GZIP_MAGIC: Final = b"\x1f\x8b"
# A float this large can only come from orjson turning an out-of-range integer into one.
_INT_RANGE_HI: Final = 9.223372036854775e18
_INT_RANGE_LO: Final = -9.223372036854775e18

BadLineCallback = Callable[[BadLine], None]
PathsArg = Sequence[str | Path] | str | Path


class PrefilterLike(Protocol):
    """What the reader needs of a prefilter (``detector.engine.prefilter.LinePrefilter``):
    ``decode`` turns a line into a struct whose ``check()`` is zero when no rule can match it,
    or raises one of ``errors``; ``plan`` is asked about a raw ``evt.type`` value not in
    ``plans`` yet (``decode`` may change then)."""

    plans: dict[bytes, Any]
    errors: tuple[type[BaseException], ...]

    @property
    def decode(self) -> Callable[[bytes], Any]: ...

    def plan(self, raw_type: bytes) -> Any: ...


_TYPE_KEY: Final = b'"evt.type":"'


class _Blank(Exception):
    """An empty or whitespace-only line: counted apart, never reported."""


# --- decoding one line -----------------------------------------------------------------------


def decode_line(data: bytes, *, max_depth: int = DEFAULT_MAX_DEPTH) -> Any:
    """Decode one JSON text; raise :class:`RecordRejected` when it cannot be used.

    An empty or blank input is rejected with kind ``blank``.
    """
    try:
        return _decode(data, max_depth)
    except _Blank:
        raise RecordRejected("blank", "empty line") from None


def _decode(data: bytes, max_depth: int) -> Any:
    try:
        value = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        return _decode_after_error(data, exc, max_depth)
    if type(value) is dict:
        kinds = set(map(type, value.values()))
        if float in kinds or dict in kinds or list in kinds:
            return _checked(data, value, max_depth)
        return value
    if type(value) is list or type(value) is float:
        return _checked(data, value, max_depth)
    return value


def _decode_after_error(data: bytes, exc: orjson.JSONDecodeError, max_depth: int) -> Any:
    msg = exc.msg
    if not data.strip():
        raise _Blank
    if data.startswith(_BOM):
        raise RecordRejected("bom", "line starts with a UTF-8 byte order mark")
    if b"\x00" in data:
        raise RecordRejected("nul_byte", f"raw NUL byte at byte {data.index(0)}")
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as uexc:
        raise RecordRejected("invalid_utf8", f"invalid UTF-8 at byte {uexc.start}") from None
    if "surrogate" in msg:
        raise RecordRejected("invalid_unicode", f"{msg} at character {exc.pos}")
    if "depth limit" in msg:
        raise RecordRejected("too_deep", f"nesting deeper than {max_depth} levels")
    if "infinity" in msg:
        # Either a huge literal (1e400: refused below) or an integer too long for a double.
        return _checked_stdlib(data, max_depth)
    # Positions count in the line without its newline ("unexpected end of data" at its end).
    pos = min(exc.pos, len(data) - 1) if data.endswith(b"\n") else exc.pos
    raise RecordRejected("invalid_json", f"{msg} at character {pos}")


def _checked(data: bytes, value: Any, max_depth: int) -> Any:
    """Depth limit, and a stdlib re-decode when a float may stand for an out-of-range integer."""
    suspicious = _walk(value, max_depth)
    if suspicious:
        return _checked_stdlib(data, max_depth)
    return value


def _walk(value: Any, max_depth: int) -> bool:
    """Raise when deeper than ``max_depth``; say whether a float of integer-overflow magnitude occurs."""
    suspicious = False
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > max_depth:
            raise RecordRejected("too_deep", f"nesting deeper than {max_depth} levels")
        children: Iterable[Any]
        if type(node) is dict:
            children = node.values()
        elif type(node) is list:
            children = node
        else:
            if type(node) is float and not _INT_RANGE_LO < node < _INT_RANGE_HI:
                suspicious = True
            continue
        for child in children:
            t = type(child)
            if t is dict or t is list:
                stack.append((child, depth + 1))
            elif t is float and not _INT_RANGE_LO < child < _INT_RANGE_HI:
                suspicious = True
    return suspicious


def _checked_stdlib(data: bytes, max_depth: int) -> Any:
    try:
        value = json.loads(data)
    except RecursionError:
        raise RecordRejected("too_deep", f"nesting deeper than {max_depth} levels") from None
    except ValueError as exc:
        raise RecordRejected("number_out_of_range", f"number cannot be represented: {exc}") from None
    _walk(value, max_depth)
    if _has_non_finite(value):
        raise RecordRejected("number_out_of_range", "number is infinite when parsed as a double")
    return value


def _has_non_finite(value: Any) -> bool:
    stack = [value]
    while stack:
        node = stack.pop()
        if type(node) is float:
            if node != node or node in (float("inf"), float("-inf")):
                return True
        elif type(node) is dict:
            stack.extend(node.values())
        elif type(node) is list:
            stack.extend(node)
    return False


def _duplicate_top_level_source(data: bytes) -> bool:
    seen: list[bool] = []

    def hook(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        seen.append(sum(1 for key, _ in pairs if key == "source") > 1)
        return dict(pairs)

    try:
        json.loads(data, object_pairs_hook=hook)
    except (ValueError, RecursionError):
        return False
    # The hook runs on inner objects first; the top-level object comes last.
    return bool(seen) and seen[-1]


# --- splitting a byte stream into lines ----------------------------------------------------------


class _Oversized:
    """Stands for a line longer than the limit, already dropped; only its length is kept."""

    __slots__ = ("length",)

    def __init__(self, length: int) -> None:
        self.length = length

    def __len__(self) -> int:
        return self.length


Line = bytes | _Oversized


def iter_line_blocks(read: Callable[[int], bytes], max_line_bytes: int) -> Iterator[tuple[list[Line], int, bool]]:
    """``(lines, offset, terminated)``: the complete lines of each chunk read, each with its
    ``\n`` (a trailing newline is JSON whitespace to both decoders), and at the end the
    unterminated last line, if any (``terminated`` false).

    ``offset`` is where the first of ``lines`` starts in the stream.  Memory stays within
    ``max_line_bytes`` plus one chunk: an over-long line is dropped as it arrives and only its
    length (without the newline) kept.  A read error ends the iteration after the partial line
    already read has been given out.  Lines are cut by ``BytesIO.readlines`` (a ``memchr``
    scan), several times faster than ``bytes.split``, which tests every byte in turn.
    """
    pending: list[bytes] = []
    pending_len = 0
    oversized = False
    offset = 0
    start = 0
    limit = max_line_bytes + 1  # a line and its newline
    try:
        while True:
            block = read(_CHUNK)
            if not block:
                break
            offset += len(block)
            parts: list[Line] = _cut(block).readlines()  # type: ignore[assignment]
            tail: bytes = b"" if block.endswith(b"\n") else parts.pop()  # type: ignore[assignment]
            if parts:
                if oversized:
                    parts[0] = _Oversized(pending_len + len(parts[0]) - 1)
                elif pending:
                    pending.append(parts[0])  # type: ignore[arg-type]
                    parts[0] = b"".join(pending)
                pending.clear()
                pending_len = 0
                oversized = False
                if max(map(len, parts)) > limit:
                    parts = [p if len(p) <= limit or p.__class__ is not bytes else _Oversized(len(p) - 1)
                             for p in parts]
                yield parts, start, True
                start = offset - len(tail)
            block = tail
            if block:
                pending_len += len(block)
                if oversized:
                    continue
                if pending_len > max_line_bytes:
                    oversized = True
                    pending.clear()
                else:
                    pending.append(block)
    except Exception:
        if pending:
            yield [b"".join(pending)], start, False
        raise
    if oversized:
        yield [_Oversized(pending_len)], start, False
    elif pending:
        yield [b"".join(pending)], start, False


_cut = io.BytesIO


def _line_size(line: Line) -> int:
    return len(line) if line.__class__ is bytes else len(line) + 1  # an oversized line kept no newline


class _BlockOffsets:
    """Byte offsets of the lines of one block, for messages about bad lines.  Asked in line order,
    it moves a cursor forward, so a block full of bad lines costs one pass, not one per line
    (a 1 MiB block of short bad lines is 100,000 lines)."""

    __slots__ = ("lines", "start", "first", "index", "offset")

    def __init__(self, lines: list[Line], start: int, first: int) -> None:
        self.lines = lines
        self.start = start
        self.first = first  # the line number of lines[0]
        self.index = 0
        self.offset = start

    def of(self, line: int) -> int:
        index = line - self.first
        if index < self.index:  # asked out of order: start again from the block's start
            self.index, self.offset = 0, self.start
        self.offset += sum(map(_line_size, self.lines[self.index:index]))
        self.index = index
        return self.offset


# --- opening inputs ------------------------------------------------------------------------------


def _open(path: str | Path, stack: contextlib.ExitStack) -> tuple[Callable[[int], bytes], Callable[[], int]]:
    """A ``read1`` for the (decompressed) stream, and a function giving the compressed bytes read so far."""
    raw: IO[bytes]
    if str(path) == "-":
        raw = sys.stdin.buffer
    else:
        raw = stack.enter_context(open(path, "rb"))  # noqa: SIM115 - closed by the exit stack
    peek = getattr(raw, "peek", None)
    head = peek(2)[:2] if peek is not None else b""
    if head == _GZIP_MAGIC:
        gz = stack.enter_context(gzip.GzipFile(fileobj=raw, mode="rb"))
        return gz.read1, raw.tell if str(path) != "-" else (lambda: -1)
    read1 = getattr(raw, "read1", raw.read)
    return read1, (lambda: -1)


# --- the reader ----------------------------------------------------------------------------------


def read_records(
    paths: PathsArg,
    *,
    max_line_bytes: int = DEFAULT_MAX_LINE_BYTES,
    max_depth: int = DEFAULT_MAX_DEPTH,
    sources: Collection[str] = DEFAULT_SOURCES,
    stats: BadLineStats | None = None,
    on_bad: BadLineCallback | None = None,
    prefilter: PrefilterLike | None = None,
    on_block: Callable[[], None] | None = None,
) -> Iterator[Record]:
    """Records from JSON-lines inputs, in order: each path in turn, ``"-"`` for stdin.

    Gzip input is recognised by its magic bytes, whatever the file name.  Pass ``stats`` to
    read the counters afterwards (they are complete once the iterator is exhausted or closed)
    and ``on_bad`` to hear about every rejected line as it happens.  ``prefilter``: see the
    module docstring (records it drops are counted in ``stats`` but not yielded);
    ``on_block`` is called after each block of lines (``stats`` is up to date then).
    """
    if isinstance(paths, str | Path):
        paths = [paths]
    counters = BadLineStats() if stats is None else stats
    for path in paths:
        yield from _read_stream(str(path), _open_path(path), max_line_bytes, max_depth, sources, counters,
                                on_bad, prefilter, on_block)


Opener = Callable[[contextlib.ExitStack], tuple[Callable[[int], bytes], Callable[[], int]]]


def read_stream(
    name: str,
    opener: Opener,
    *,
    max_line_bytes: int = DEFAULT_MAX_LINE_BYTES,
    max_depth: int = DEFAULT_MAX_DEPTH,
    sources: Collection[str] = DEFAULT_SOURCES,
    stats: BadLineStats,
    on_bad: BadLineCallback | None = None,
    prefilter: PrefilterLike | None = None,
    first_offset: int = 0,
    count_file: bool = False,
) -> Iterator[Record]:
    """``read_records`` over one stream that ``opener`` opens within an ``ExitStack`` (returning
    a ``read(n)`` and a compressed-position function): a block of a larger input, for
    ``replay --workers``.  Line numbers count from 1 within the block; offsets from
    ``first_offset``."""
    return _read_stream(name, opener, max_line_bytes, max_depth, sources, stats, on_bad, prefilter, None,
                        0, first_offset, count_file)


def open_input(path: str | Path, stack: contextlib.ExitStack) -> tuple[Callable[[int], bytes], Callable[[], int]]:
    """Open a path (``-``: stdin; gzip recognised by its magic bytes) as ``read_records`` does."""
    return _open(path, stack)


def _open_path(path: str | Path) -> Callable[[contextlib.ExitStack], tuple[Callable[[int], bytes], Callable[[], int]]]:
    return lambda stack: _open(path, stack)


def _read_stream(
    name: str,
    opener: Callable[[contextlib.ExitStack], tuple[Callable[[int], bytes], Callable[[], int]]],
    max_line_bytes: int,
    max_depth: int,
    sources: Collection[str],
    stats: BadLineStats,
    on_bad: BadLineCallback | None,
    prefilter: PrefilterLike | None = None,
    on_block: Callable[[], None] | None = None,
    first_line: int = 0,
    first_offset: int = 0,
    count_file: bool = True,
) -> Iterator[Record]:
    """The reader proper, over a stream ``opener`` opens; line numbers and offsets start after
    ``first_line``/``first_offset`` (a block of a larger input, see ``replay --workers``), and
    ``count_file`` false leaves ``stats.files`` alone (the block is not a whole file)."""
    loads = orjson.loads
    decode_error = orjson.JSONDecodeError
    new_record = tuple.__new__
    syscall_ok = "syscall" in sources
    plans = prefilter.plans if prefilter is not None and syscall_ok else None
    get_plan = prefilter.plan if prefilter is not None else None
    decode_partial = prefilter.decode if prefilter is not None else None
    partial_errors = prefilter.errors if prefilter is not None else ()
    type_key = _TYPE_KEY
    lineno = first_line
    # Counted locally on the hot path and added to ``stats`` once per chunk.
    counted = first_line
    accepted = blank = syscall_records = 0
    dropped = 0  # accepted syscall records the prefilter dropped
    other_sources: Counter[str] = Counter()
    where = _BlockOffsets([], 0, 0)

    def offset_of(line: int) -> int:
        return first_offset + where.of(line)

    def bad(kind: str, message: str, line: int, at: int | None) -> None:
        stats.by_kind[kind] += 1
        if on_bad is not None:
            on_bad(BadLine(name, line, kind, message, at))

    def item_rejected(exc: RecordRejected) -> None:
        stats.items_rejected += 1
        bad(exc.kind, exc.message, lineno, offset_of(lineno))

    def flush() -> None:
        nonlocal counted, accepted, blank, syscall_records, dropped
        accepted += dropped
        syscall_records += dropped
        dropped = 0
        stats.lines += lineno - counted
        counted = lineno
        stats.accepted_lines += accepted
        stats.blank_lines += blank
        stats.records += syscall_records + sum(other_sources.values())
        if syscall_records:
            stats.by_source["syscall"] += syscall_records
        stats.by_source.update(other_sources)
        accepted = blank = syscall_records = 0
        other_sources.clear()

    if count_file:
        stats.files += 1
    with contextlib.ExitStack() as stack:
        try:
            read, compressed_pos = opener(stack)
        except OSError as exc:
            stats.file_errors += 1
            bad("file_error", f"cannot open: {exc.strerror or exc}", 0, None)
            return
        try:
            for lines, start, terminated in iter_line_blocks(read, max_line_bytes):
                where = _BlockOffsets(lines, start, lineno + 1)
                for line in lines:
                    lineno += 1
                    if line.__class__ is not bytes:
                        bad("oversized", f"line of {len(line)} bytes is longer than {max_line_bytes}, skipped",
                            lineno, offset_of(lineno))
                        continue
                    if plans is not None and line.isascii():
                        # Prefilter: a flat syscall line no rule can match is counted here.
                        try:
                            matched = decode_partial(line).check()  # type: ignore[misc]
                            if not matched:
                                dropped += 1
                                continue
                            if matched < 0:
                                matched = None
                        except partial_errors:
                            matched = None
                            at = line.find(type_key)
                            if at >= 0:
                                at += 12
                                raw_type = line[at:line.find(b'"', at)]
                                if raw_type not in plans:
                                    get_plan(raw_type)  # type: ignore[misc]
                        decode_partial = prefilter.decode  # type: ignore[union-attr]  # a new type or a trained plan
                    else:
                        matched = None
                    # Fast path: a flat syscall field map with scalar values only.
                    try:
                        value = loads(line)
                    except decode_error as exc:
                        try:
                            value = _decode_after_error(line, exc, max_depth)
                        except _Blank:
                            blank += 1
                            continue
                        except RecordRejected as rej:
                            if terminated:
                                bad(rej.kind, rej.message, lineno, offset_of(lineno))
                            else:
                                bad("truncated", f"partial trailing record ({rej.message})", lineno,
                                    offset_of(lineno))
                            continue
                    else:
                        if (
                            value.__class__ is dict
                            and syscall_ok
                            and value
                            and "source" not in value
                            and "kind" not in value
                            and "rule" not in value
                            and "apiVersion" not in value
                        ):
                            kinds = set(map(type, value.values()))
                            if not (float in kinds or dict in kinds or list in kinds):
                                accepted += 1
                                syscall_records += 1
                                yield new_record(Record, ("syscall", value, name, lineno, matched))
                                continue
                        if value.__class__ in (dict, list, float):
                            try:
                                value = _checked(line, value, max_depth)
                            except RecordRejected as rej:
                                bad(rej.kind, rej.message, lineno, offset_of(lineno))
                                continue
                    # General path: alerts, audit events, other sources, nested values.
                    if (
                        value.__class__ is dict
                        and "source" in value
                        and line.count(b'"source"') > 1
                        and _duplicate_top_level_source(line)
                    ):
                        bad("duplicate_source", "the key 'source' appears more than once", lineno,
                            offset_of(lineno))
                        continue
                    try:
                        found = recognize(value, sources=sources, on_item_rejected=item_rejected)
                    except RecordRejected as rej:
                        bad(rej.kind, rej.message, lineno, offset_of(lineno))
                        continue
                    accepted += 1
                    for source, event in found:
                        if source == "syscall":
                            syscall_records += 1
                        else:
                            other_sources[source] += 1
                        yield new_record(Record, (source, event, name, lineno, None))
                flush()
                if on_block is not None:
                    on_block()
        except (EOFError, OSError, zlib.error) as exc:
            stats.file_errors += 1
            bad(*read_failure(exc, str(lineno), compressed_pos), lineno, None)
        finally:
            flush()


def read_failure(exc: BaseException, after: str, compressed_pos: Callable[[], int]) -> tuple[str, str]:
    """The kind and message of a read that failed after line ``after`` (``EOFError``: a
    compressed stream cut short; ``OSError``/``zlib.error``: corrupt or unreadable)."""
    where = _compressed_position(compressed_pos)
    if isinstance(exc, EOFError):
        return "gzip_truncated", f"compressed stream ends early after line {after} ({exc}); {where}"
    kind = "gzip_corrupt" if isinstance(exc, gzip.BadGzipFile | zlib.error) else "read_error"
    return kind, f"read failed after line {after}: {exc}; {where}"


def _compressed_position(compressed_pos: Callable[[], int]) -> str:
    """Where a compressed stream stood, for a message about it going wrong."""
    try:
        pos = compressed_pos()
    except (OSError, ValueError):
        pos = -1
    return f"at compressed byte {pos}" if pos >= 0 else "position unknown"
