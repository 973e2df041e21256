"""``detector match -c CONDITION [FILE ...]``: the events of JSON-lines files a condition matches.

Matching events are echoed to stdout as JSON lines, the count goes to
stderr.  A bad condition prints Falco's error with a caret and exits 2; a
line that is not a JSON object is skipped and reported with its line number.
"""

from __future__ import annotations

import gzip
import io
import sys
import zlib
from collections.abc import Iterator
from contextlib import ExitStack
from typing import IO, BinaryIO

import click
import orjson

from detector.codegen.condition import Condition, compile_condition
from detector.errors import ConditionError, DetectorError

EXIT_BAD_CONDITION = 2
_GZIP_MAGIC = b"\x1f\x8b"


def _open(path: str, stack: ExitStack) -> BinaryIO | io.BufferedIOBase:
    if path == "-":
        return sys.stdin.buffer
    raw = stack.enter_context(open(path, "rb"))
    # Sniff the magic rather than trust the name: exports are often gzip without ".gz".
    if raw.peek(2)[:2] == _GZIP_MAGIC:
        unzipped = gzip.GzipFile(fileobj=raw)
        stack.callback(unzipped.close)
        return unzipped
    return raw


def _lines(path: str) -> Iterator[tuple[int, bytes]]:
    with ExitStack() as stack:
        yield from enumerate(_open(path, stack), 1)


class _Stats:
    def __init__(self) -> None:
        self.read = 0
        self.matched = 0
        self.bad = 0


def _bad(stats: _Stats, where: str, message: str) -> None:
    stats.bad += 1
    click.echo(f"{where}: skipped: {message}", err=True)


def _scan(path: str, condition: Condition, stats: _Stats, out: IO[bytes]) -> None:
    name = "<stdin>" if path == "-" else path
    matches = condition.matches
    try:
        for number, line in _lines(path):
            stripped = line.strip()
            if not stripped:
                continue
            try:
                event = orjson.loads(stripped)
            except orjson.JSONDecodeError as exc:
                _bad(stats, f"{name}:{number}", f"invalid JSON ({exc})")
                continue
            if not isinstance(event, dict):
                _bad(stats, f"{name}:{number}", f"not a JSON object ({type(event).__name__})")
                continue
            stats.read += 1
            try:
                hit = matches(event)
            except Exception as exc:  # an event no condition should choke on: report, go on
                _bad(stats, f"{name}:{number}", f"cannot evaluate ({type(exc).__name__}: {exc})")
                continue
            if hit:
                stats.matched += 1
                out.write(stripped + b"\n")
    except (OSError, EOFError, zlib.error) as exc:
        _bad(stats, name, f"cannot read ({exc})")


@click.command("match")
@click.option("-c", "--condition", "condition_text", required=True, help="Falco condition to evaluate.")
@click.option("--source", default="syscall", show_default=True, help="Event source of the condition's fields.")
@click.argument("files", nargs=-1, type=click.Path(dir_okay=False, allow_dash=True))
def command(condition_text: str, source: str, files: tuple[str, ...]) -> None:
    """Print the events of FILES (JSON lines, plain or .gz; '-' or none: stdin) that CONDITION matches."""
    try:
        condition = compile_condition(condition_text, source=source)
    except ConditionError as exc:
        click.echo(f"error: {exc.describe()}", err=True)
        sys.exit(EXIT_BAD_CONDITION)
    except DetectorError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(EXIT_BAD_CONDITION)
    stats = _Stats()
    out = sys.stdout.buffer
    for path in files or ("-",):
        _scan(path, condition, stats, out)
    out.flush()
    bad = f", {stats.bad} bad line{'s' if stats.bad != 1 else ''} skipped" if stats.bad else ""
    click.echo(f"{stats.matched} of {stats.read} events matched{bad}", err=True)
