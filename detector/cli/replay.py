"""``detector replay``: recorded event logs in, Falco's alerts out, then a summary.

Exit codes: 0 the replay ran to the end (bad input lines are reported, not
fatal); 1 the rules did not load, or an input could not be read at all;
2 a usage error (bad option or setting).
"""

from __future__ import annotations

import errno
import gc
import sys
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO, Literal

import click
import orjson

from detector.engine import Engine, SelectionAction
from detector.loader import load_rules
from detector.outputs.sinks import FileSink, StreamSink, open_sink
from detector.settings import KNOWN_KEYS, Settings, SettingsError
from detector.sources import BadLine, BadLineStats, read_records

MAX_BAD_LINES_SHOWN = 1000


@dataclass(slots=True)
class ReplaySummary:
    events: int = 0
    alerts: int = 0
    elapsed: float = 0.0
    stats: BadLineStats = field(default_factory=BadLineStats)
    by_rule: Counter[str] = field(default_factory=Counter)
    by_priority: Counter[str] = field(default_factory=Counter)
    # Sizes and limits of the engine's caches (process-dependent, like the timings).
    caches: dict[str, Any] = field(default_factory=dict)
    profile: dict[str, Any] | None = None

    @property
    def events_per_second(self) -> float:
        return self.events / self.elapsed if self.elapsed > 0 else 0.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "events": self.events,
            "alerts": self.alerts,
            "elapsed_seconds": round(self.elapsed, 6),
            "events_per_second": round(self.events_per_second, 1),
            "input": self.stats.as_dict(),
            "alerts_by_rule": dict(sorted(self.by_rule.items())),
            "alerts_by_priority": dict(sorted(self.by_priority.items())),
            "caches": self.caches,
            **({"profile": self.profile} if self.profile is not None else {}),
        }


def _settings(options: Sequence[str], json_output: bool) -> Settings:
    raw: dict[str, Any] = {}
    if options:
        # Falco's -o dot notation; imported only when used, as its package is the sidecar's
        from detector.service.overrides import apply_override

        for text in options:
            apply_override(raw, text)
    if json_output:
        raw["json_output"] = True
    unknown = sorted(set(raw) - KNOWN_KEYS)
    if unknown:
        raise SettingsError(unknown[0], "unknown setting for replay")
    return Settings.from_mapping(raw)


def _selection_actions(ctx: click.Context) -> list[SelectionAction]:
    """--enable-rule/--disable-rule/--enable-tag/--disable-tag in command-line order."""
    actions: list[tuple[int, SelectionAction]] = []
    argv = sys.argv
    flags: tuple[tuple[str, Literal["enable", "disable"], str], ...] = (
        ("--enable-rule", "enable", "rule"), ("--disable-rule", "disable", "rule"),
        ("--enable-tag", "enable", "tag"), ("--disable-tag", "disable", "tag"))
    for flag, verb, kind in flags:
        values = ctx.params.get(flag[2:].replace("-", "_")) or ()
        positions = [i for i, a in enumerate(argv) if a == flag or a.startswith(flag + "=")]
        for n, value in enumerate(values):
            pos = positions[n] if n < len(positions) else len(argv) + n
            action = SelectionAction(verb, rule=value) if kind == "rule" else SelectionAction(verb, tag=value)
            actions.append((pos, action))
    return [a for _, a in sorted(actions, key=lambda item: item[0])]


def _falco_flag_actions(run_tags: Sequence[str], disable_tags: Sequence[str],
                        disable_names: Sequence[str]) -> list[SelectionAction]:
    """Falco's -t/-T/-D as selection actions (applied before the --enable/--disable flags)."""
    actions: list[SelectionAction] = []
    if run_tags:
        actions.append(SelectionAction("disable", rule="*"))
        actions.extend(SelectionAction("enable", tag=tag) for tag in run_tags)
    actions.extend(SelectionAction("disable", tag=tag) for tag in disable_tags)
    for substring in disable_names:
        escaped = "".join(f"[{c}]" if c in "*?[]" else c for c in substring)
        actions.append(SelectionAction("disable", rule=f"*{escaped}*"))
    return actions


def print_summary(summary: ReplaySummary, stream: Any = None) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console(file=stream or sys.stderr, highlight=False, soft_wrap=True)
    table = Table(title="Replay summary", show_header=True, header_style="bold")
    table.add_column("what")
    table.add_column("count", justify="right")
    stats = summary.stats
    table.add_row("lines read", str(stats.lines))
    table.add_row("events evaluated", str(summary.events))
    for source, count in sorted(stats.by_source.items()):
        table.add_row(f"  source {source}", str(count))
    table.add_row("bad lines", str(stats.rejected_lines))
    for kind, count in sorted(stats.by_kind.items()):
        table.add_row(f"  {kind}", str(count))
    table.add_row("alerts", str(summary.alerts))
    for priority, count in sorted(summary.by_priority.items()):
        table.add_row(f"  priority {priority}", str(count))
    for rule, count in sorted(summary.by_rule.items(), key=lambda kv: (-kv[1], kv[0])):
        table.add_row(f"  rule {rule}", str(count))
    table.add_row("elapsed", f"{summary.elapsed:.3f} s")
    table.add_row("events/s", f"{summary.events_per_second:,.0f}")
    console.print(table)


def replay(engine: Any, inputs: Sequence[str], sink: Any, *, on_bad: Any = None,
           progress: Any = None, prefilter: bool = True) -> ReplaySummary:
    """Run ``inputs`` through ``engine`` writing every alert to ``sink``; returns the tally.

    ``engine`` is an ``Engine`` or anything with its ``process`` (the profiling engine);
    ``prefilter`` lets the reader drop, before decoding them in full, syscall lines that no
    enabled rule can match (``Engine.line_prefilter``).
    """
    summary = ReplaySummary()
    stats = summary.stats
    process = engine.process
    write = sink.write
    by_rule = summary.by_rule
    by_priority = summary.by_priority
    line_prefilter = engine.line_prefilter() if prefilter and isinstance(engine, Engine) else None
    started = time.perf_counter()
    alerts = 0

    def on_block() -> None:
        if progress is not None:
            progress(stats.records, alerts)

    for record in read_records(list(inputs), stats=stats, on_bad=on_bad, prefilter=line_prefilter,
                               on_block=on_block):
        found = process(record.event, record.source, record.matched)
        if found:
            for alert in found:
                write(alert)
                by_rule[alert.rule] += 1
                by_priority[alert.priority.title] += 1
            alerts += len(found)
    summary.events = stats.records
    summary.alerts = alerts
    summary.elapsed = time.perf_counter() - started
    if isinstance(engine, Engine):
        from detector.codegen.codecache import code_cache

        summary.caches = {"engine": engine.cache_stats,
                          "prefilter": line_prefilter.stats() if line_prefilter is not None else {},
                          "generated_code": code_cache().stats()}
    return summary


def replay_workers(engine: Engine, inputs: Sequence[str], sink: Any, fmt: Any, workers: int, *,
                   on_bad: Any = None, progress: Any = None) -> ReplaySummary:
    """``replay`` over ``workers`` processes (``replay_parallel``): same output, same tally."""
    from detector.cli.replay_parallel import replay_parallel

    started = time.perf_counter()
    tally = replay_parallel(engine, list(inputs), sink, fmt, workers, on_bad=on_bad, progress=progress)
    summary = ReplaySummary(events=tally.stats.records, alerts=tally.alerts, stats=tally.stats,
                            by_rule=tally.by_rule, by_priority=tally.by_priority, caches=tally.caches)
    summary.elapsed = time.perf_counter() - started
    return summary


@click.command("replay")
@click.option("-r", "--rules", "rules", multiple=True, required=True, metavar="RULES",
              help="Rules file or directory (*.yaml, *.yml); repeatable, loaded in order.")
@click.option("-o", "--option", "options", multiple=True, metavar="KEY=VALUE",
              help="Set a falco.yaml-style key: priority, rule_matching, json_output, json_include_*, "
                   "time_format_iso_8601, rules[N].enable|disable.rule|tag.")
@click.option("--json", "json_output", is_flag=True, help="Write alerts as Falco's JSON lines.")
@click.option("--output-file", type=click.Path(dir_okay=False), help="Write alerts to this file instead of stdout.")
@click.option("--summary-json", type=click.Path(dir_okay=False), help="Also write the summary as JSON here.")
@click.option("--no-summary", is_flag=True, help="Do not print the summary table.")
@click.option("--progress/--no-progress", default=None, help="Progress bar (default: when stderr is a terminal).")
@click.option("--enable-rule", multiple=True, metavar="PATTERN", help="Enable rules by name (* wildcards).")
@click.option("--disable-rule", multiple=True, metavar="PATTERN", help="Disable rules by name (* wildcards).")
@click.option("--enable-tag", multiple=True, metavar="TAG", help="Enable rules with this tag.")
@click.option("--disable-tag", multiple=True, metavar="TAG", help="Disable rules with this tag.")
@click.option("-t", "run_tags", multiple=True, metavar="TAG",
              help="As Falco's -t: only enable rules with this tag (repeatable).")
@click.option("-T", "falco_disable_tags", multiple=True, metavar="TAG",
              help="As Falco's -T: disable rules with this tag (repeatable).")
@click.option("-D", "falco_disable_names", multiple=True, metavar="SUBSTRING",
              help="As Falco's -D: disable rules whose name contains SUBSTRING (repeatable).")
@click.option("--workers", type=click.IntRange(min=1), default=1, show_default=True,
              help="Worker processes: the input is cut into blocks at line boundaries; output and "
                   "summary are those of one process.")
@click.option("--profile", is_flag=True,
              help="Time every rule and macro (instrumented, slower); print the costliest and add them "
                   "to --summary-json.")
@click.argument("inputs", nargs=-1, metavar="[FILE ... | -]")
@click.pass_context
def command(ctx: click.Context, rules: tuple[str, ...], options: tuple[str, ...], json_output: bool,
          output_file: str | None, summary_json: str | None, no_summary: bool, progress: bool | None,
          enable_rule: tuple[str, ...], disable_rule: tuple[str, ...], enable_tag: tuple[str, ...],
          disable_tag: tuple[str, ...], run_tags: tuple[str, ...], falco_disable_tags: tuple[str, ...],
          falco_disable_names: tuple[str, ...], workers: int, profile: bool, inputs: tuple[str, ...]) -> None:
    """Replay recorded events (JSON lines, plain or .gz; - or nothing = stdin) against rules."""
    try:
        settings = _settings(options, json_output)
    except Exception as exc:  # every settings problem is a usage error, never a traceback
        click.echo(f"Error: invalid option: {exc}", err=True)
        ctx.exit(2)
    if run_tags and (falco_disable_tags or falco_disable_names):
        click.echo("Error: You can not specify both disabled (-D/-T) and enabled (-t) rules", err=True)
        ctx.exit(1)
    selection = settings.engine.selection.extended(
        _falco_flag_actions(run_tags, falco_disable_tags, falco_disable_names) + _selection_actions(ctx)
    )

    log = _logger(settings.engine.time_format_iso_8601)
    for path in rules:
        log(f"Loading rules from {'folder' if Path(path).is_dir() else 'file'} {path}")
    result = load_rules(*rules)
    for diagnostic in result.warnings:
        click.echo(diagnostic.describe(), err=True)
    if result.errors:
        for diagnostic in result.errors:
            click.echo(diagnostic.describe(), err=True)
        click.echo(f"Error: {len(result.errors)} error(s) loading rules; nothing replayed", err=True)
        ctx.exit(1)

    from dataclasses import replace

    engine = Engine(result.ruleset, replace(settings.engine, selection=selection))
    if summary_json and not Path(summary_json).absolute().parent.is_dir():
        click.echo(f"Error: cannot write the summary to {summary_json}: no such directory", err=True)
        ctx.exit(1)
    try:
        sink = _open_outputs(settings, output_file)
    except OSError as exc:
        click.echo(f"Error: cannot open {output_file or 'the outputs'}: {exc.strerror or exc}", err=True)
        ctx.exit(1)
    # The loaded rules are long-lived objects by the hundred thousand: keep the cyclic garbage
    # collector from walking them again and again while events stream by.
    gc.freeze()

    shown = 0

    def on_bad(bad: BadLine) -> None:
        nonlocal shown
        shown += 1
        if shown <= MAX_BAD_LINES_SHOWN:
            click.echo(f"skipped {bad}", err=True)
        elif shown == MAX_BAD_LINES_SHOWN + 1:
            click.echo(f"(more bad lines: reporting stops at {MAX_BAD_LINES_SHOWN}; the summary counts all)",
                       err=True)

    show_progress = sys.stderr.isatty() if progress is None else progress
    paths = list(inputs) or ["-"]
    profiler = None
    if profile:
        from detector.engine.profile import ProfilingEngine

        profiler = ProfilingEngine(engine)
        if workers > 1:
            click.echo("note: --profile runs in one process; --workers ignored", err=True)
            workers = 1

    def run(progress_cb: Any) -> ReplaySummary:
        if workers > 1:
            return replay_workers(engine, paths, sink, settings.line_format, workers, on_bad=on_bad,
                                  progress=progress_cb)
        return replay(profiler or engine, paths, sink, on_bad=on_bad, progress=progress_cb)

    try:
        summary = _with_progress(run) if show_progress else run(None)
    except Exception as exc:  # a worker failure: reported, never a traceback
        from detector.cli.replay_parallel import WorkerError

        if not isinstance(exc, WorkerError):
            raise
        click.echo(f"Error: {exc}", err=True)
        ctx.exit(1)
    finally:
        sink.close()
    if profiler is not None:
        from detector.engine.profile import print_profile

        summary.profile = profiler.report()
        print_profile(profiler, top=None if no_summary else 25)
    if not no_summary:
        print_summary(summary)
    if summary_json:
        try:
            Path(summary_json).write_bytes(orjson.dumps(summary.as_dict(), option=orjson.OPT_INDENT_2) + b"\n")
        except OSError as exc:
            click.echo(f"Error: cannot write the summary to {summary_json}: {exc.strerror or exc}", err=True)
            ctx.exit(1)
    lost, why = _write_failures(sink)
    if lost:
        click.echo(f"Error: {lost} alert(s) could not be written ({why})", err=True)
        ctx.exit(1)
    if summary.stats.file_errors and summary.stats.files == summary.stats.file_errors:
        ctx.exit(1)


def _write_failures(sink: Any) -> tuple[int, str | None]:
    """Alerts an output failed to write (a closed stdout pipe does not count: ``| head`` is
    normal use), and the last reason."""
    failed = 0
    why = None
    for part in getattr(sink, "sinks", (sink,)):
        count = getattr(part, "failed", 0)
        if count:
            failed += count
            why = getattr(part, "last_error", None) or why
    return failed, why


def _logger(iso8601: bool) -> Any:
    """Falco-style log lines on stderr: ``<time>: <message>``."""

    def log(message: str) -> None:
        now = time.time()
        stamp = (time.strftime("%Y-%m-%dT%H:%M:%S%z", time.localtime(now)) if iso8601
                 else time.strftime("%a %b %d %H:%M:%S %Y", time.localtime(now)))
        click.echo(f"{stamp}: {message}", err=True)

    return log


def _open_outputs(settings: Settings, output_file: str | None) -> Any:
    """Falco's output channels; ``--output-file`` replaces stdout with that file."""
    channels = settings.channels
    fmt = settings.line_format
    sinks: list[Any] = []
    if output_file:
        target = open_sink(Path(output_file), fmt)
        if isinstance(target, FileSink):
            target.open()  # a path that cannot be written is an error before the replay, not after
        sinks.append(target)
    elif channels.stdout:
        if sys.stdout is None:  # started with stdout closed (``>&-``)
            raise OSError(errno.EBADF, "standard output is closed (use --output-file)")
        stdout: BinaryIO = sys.stdout.buffer
        sinks.append(StreamSink(stdout, fmt))
    if channels.file:
        sinks.append(FileSink(channels.file, fmt, keep_alive=channels.file_keep_alive))
    if len(sinks) == 1 and not channels.program:
        return sinks[0]
    # The program channel and the fan-out (which start and watch processes) only when used.
    from detector.outputs.channels import FanoutSink, ProgramSink

    if channels.program:
        sinks.append(ProgramSink(channels.program, fmt, keep_alive=channels.program_keep_alive))
    return sinks[0] if len(sinks) == 1 else FanoutSink(sinks)


def _with_progress(run: Any) -> ReplaySummary:
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    started = time.perf_counter()
    with Progress(SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(),
                  transient=True, console=None) as bar:
        task = bar.add_task("replaying", total=None)

        def progress(events: int, alerts: int) -> None:
            rate = events / max(time.perf_counter() - started, 1e-9)
            bar.update(task, description=f"{events:,} events  {rate:,.0f} events/s  {alerts:,} alerts")

        summary: ReplaySummary = run(progress)
        return summary
