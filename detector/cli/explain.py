"""``detector explain``: why a rule or condition did or did not match events.

    detector explain --rule NAME -r RULES [-r ...] (-e JSON | FILE ...) [--line N] [--expand] [--json]
    detector explain -c CONDITION [--source S] [-r RULES] (-e JSON | FILE ...)

Events are anything ``detector replay`` reads (flat field maps, Falco alerts, Kubernetes audit
events and lists), as JSON lines (plain or gzip) or one JSON document per file.  Exit status:
0 when every event was explained, 2 for a usage error, rules or a condition that do not load,
or no event to explain.
"""

from __future__ import annotations

import gzip
import json
import sys
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, NoReturn

import click
from rich.console import Console

from detector.errors import ConditionError, DetectorError
from detector.explain import (
    EventLabel,
    Explainer,
    Explanation,
    Target,
    condition_target,
    document_json,
    explanation_lines,
    rule_target,
)
from detector.explain.render import summary_line, target_header
from detector.loader import load_rules
from detector.loader.model import Ruleset
from detector.sources import BadLine, RecordRejected, decode_line, read_records, recognize

EXIT_USAGE = 2
_GZIP_MAGIC = b"\x1f\x8b"
# A file no line of which is an event is tried as one JSON document, up to this size.
_MAX_DOCUMENT_BYTES = 64 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class _Event:
    label: EventLabel
    source: str
    event: Any


def _fail(message: str) -> NoReturn:
    click.echo(f"error: {message}", err=True)
    sys.exit(EXIT_USAGE)


def _warn(message: str) -> None:
    click.echo(f"warning: {message}", err=True)


# --- events ----------------------------------------------------------------------------------


def _inline_events(texts: tuple[str, ...]) -> list[_Event]:
    out: list[_Event] = []
    for number, text in enumerate(texts, 1):
        where = f"--event #{number}"
        try:
            pairs = recognize(decode_line(text.encode("utf-8", "surrogatepass")))
        except RecordRejected as exc:
            _fail(f"{where}: not an event ({exc.kind}): {exc.message}")
        except UnicodeEncodeError as exc:
            _fail(f"{where}: not valid text ({exc.reason})")
        for item, (source, event) in enumerate(pairs, 1):
            label = EventLabel(number, item=item if len(pairs) > 1 else None)
            out.append(_Event(label, source, event))
    return out


def _whole_document(path: str) -> list[tuple[str, Any]] | None:
    """The events of a file holding one (pretty-printed) JSON document, or ``None``."""
    try:
        with open(path, "rb") as fh:
            data = fh.read(_MAX_DOCUMENT_BYTES + 1)
        if data.startswith(_GZIP_MAGIC):
            data = gzip.decompress(data)
    except (OSError, EOFError, zlib.error):
        return None
    if len(data) > _MAX_DOCUMENT_BYTES:
        return None
    try:
        return recognize(decode_line(data))
    except RecordRejected:
        return None


def _file_events(path: str, lines: frozenset[int], counter: list[int]) -> Iterator[_Event]:
    bad: list[BadLine] = []
    found = False
    last_line, item = 0, 0
    for record in read_records([path], on_bad=bad.append):
        found = True
        if lines and record.line not in lines:
            continue
        item = item + 1 if record.line == last_line else 1
        last_line = record.line
        counter[0] += 1
        yield _Event(EventLabel(counter[0], path, record.line, item if item > 1 else None),
                     record.source, record.event)
    if not found and bad and path != "-" and bad[0].kind not in ("file_error",):
        pairs = _whole_document(path)
        if pairs is not None:
            if lines and 1 not in lines:
                return
            for number, (source, event) in enumerate(pairs, 1):
                counter[0] += 1
                yield _Event(EventLabel(counter[0], path, None, number), source, event)
            return
    for b in bad:
        if b.kind != "blank" and (not lines or b.line in lines or b.line == 0):
            _warn(f"{b}: skipped")


# --- targets ---------------------------------------------------------------------------------


def _load(paths: tuple[str, ...]) -> Ruleset:
    result = load_rules(*paths)
    if result.errors:
        for diag in result.errors:
            click.echo(diag.describe(), err=True)
        _fail(f"the rules do not load ({len(result.errors)} error{'s' if len(result.errors) != 1 else ''})")
    return result.ruleset


def _target(condition: str | None, rule_name: str | None, rules: tuple[str, ...], source: str) -> Target:
    ruleset = _load(rules) if rules else None
    try:
        if rule_name is not None:
            assert ruleset is not None
            return rule_target(ruleset, rule_name)
        assert condition is not None
        return condition_target(condition, source=source, ruleset=ruleset)
    except ConditionError as exc:
        _fail(exc.describe())
    except DetectorError as exc:
        _fail(str(exc))


# --- output ----------------------------------------------------------------------------------


def _explain_all(explainer: Explainer, events: list[_Event]) -> list[tuple[_Event, Explanation]]:
    done: list[tuple[_Event, Explanation]] = []
    for ev in events:
        try:
            done.append((ev, explainer.explain(ev.event, ev.source)))
        except (DetectorError, ValueError, TypeError, KeyError) as exc:  # an event no rule should choke on
            _warn(f"{ev.label.text}: cannot evaluate ({type(exc).__name__}: {exc})")
    return done


def _print_text(target: Target, done: list[tuple[_Event, Explanation]], expand: bool, color: bool) -> None:
    console = Console(highlight=False, soft_wrap=True, force_terminal=True) if color else None

    def emit(line: Any) -> None:
        if console is not None:
            console.print(line)
        else:
            click.echo(line.plain)

    for line in target_header(target):
        emit(line)
    for ev, expl in done:
        click.echo("")
        for line in explanation_lines(ev.label, expl, ev.event, expand=expand):
            emit(line)
    if len(done) > 1:
        click.echo("")
        emit(summary_line([e for _, e in done], target))


@click.command(name="explain")
@click.option("-c", "--condition", help="A condition to explain (instead of --rule).")
@click.option("--rule", "rule_name", metavar="NAME", help="The rule to explain (needs -r).")
@click.option("-r", "--rules", multiple=True, type=click.Path(), metavar="PATH",
              help="Rules file or directory (repeatable, loaded in order). With -c, lends its lists and macros.")
@click.option("--source", help="Event source of -c's fields (default: the first event's, else syscall).")
@click.option("-e", "--event", "inline", multiple=True, metavar="JSON", help="An event written inline (repeatable).")
@click.option("--line", "lines", multiple=True, type=click.IntRange(min=1), metavar="N",
              help="Only the events on line N of each FILE (repeatable).")
@click.option("--expand", is_flag=True, help="Show every macro and every branch expanded.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document (schema detector-explain/1).")
@click.option("--color/--no-color", default=None, help="Colour the text output (default: when stdout is a terminal).")
@click.argument("files", nargs=-1, type=click.Path(dir_okay=False, allow_dash=True))
def command(condition: str | None, rule_name: str | None, rules: tuple[str, ...], source: str | None,
            inline: tuple[str, ...], lines: tuple[int, ...], expand: bool, as_json: bool, color: bool | None,
            files: tuple[str, ...]) -> None:
    """Show why a rule fired or did not fire (or a condition matched) on events."""
    if (condition is None) == (rule_name is None):
        raise click.UsageError("give exactly one of -c/--condition and --rule")
    if rule_name is not None and not rules:
        raise click.UsageError("--rule needs the rules files (-r PATH)")
    if not inline and not files:
        raise click.UsageError("give events: -e JSON or one or more FILEs ('-' for stdin)")
    events = _inline_events(inline)
    counter = [len(events)]
    for path in files:
        events.extend(_file_events(path, frozenset(lines), counter))
    if not events:
        _fail("no events to explain" + (f" on line{'s' if len(lines) > 1 else ''} "
                                        f"{', '.join(map(str, lines))}" if lines else ""))
    target = _target(condition, rule_name, rules, source or events[0].source)
    done = _explain_all(Explainer(target), events)
    if as_json:
        click.echo(json.dumps(document_json(target, [(ev.label, e) for ev, e in done]), indent=2,
                              ensure_ascii=False))
    else:
        _print_text(target, done, expand, sys.stdout.isatty() if color is None else color)
    if not done:
        sys.exit(EXIT_USAGE)
