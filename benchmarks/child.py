"""The bodies of the measured child processes, one mode each; ``run_all.py`` times whole processes.

    python benchmarks/child.py MODE FILE [--limit N] [--rules PATH ...]

Modes: ``lines`` (read lines only), ``orjson`` (read and parse every line), ``python``,
``rule-engine``, ``cel`` (parse, then evaluate the six conditions of ``peer_conditions.py``),
``detector-api`` (parse, then ``Engine.process`` with the rules given).  The last line on stdout is
a JSON summary: events seen, matches, and the seconds spent inside the loop.  Exit status 3 means
the mode cannot run here (a library or API is missing); the summary then carries ``unavailable``.
"""

from __future__ import annotations

import importlib
import sys
import time
from collections.abc import Callable, Iterator
from itertools import islice
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import click  # noqa: E402
import orjson  # noqa: E402

from benchmarks.peer_conditions import CONDITIONS, RULE_ENGINE_SYMBOLS  # noqa: E402

UNAVAILABLE = 3
Summary = dict[str, Any]


class Unavailable(Exception):
    """The mode needs something this environment does not have."""


def _lines(path: Path, limit: int | None) -> Iterator[bytes]:
    with path.open("rb") as handle:
        yield from (handle if limit is None else islice(handle, limit))


def run_lines(path: Path, limit: int | None) -> Summary:
    count = 0
    for _ in _lines(path, limit):
        count += 1
    return {"events": count}


def run_orjson(path: Path, limit: int | None) -> Summary:
    loads = orjson.loads
    count = 0
    for line in _lines(path, limit):
        loads(line)
        count += 1
    return {"events": count}


def _evaluate(path: Path, limit: int | None, predicates: list[tuple[str, Callable[[Any], bool]]],
              convert: Callable[[Any], Any] | None = None) -> Summary:
    """Parse each line and run every predicate on it, as an engine without an event-type index would."""
    loads = orjson.loads
    matches = dict.fromkeys((name for name, _ in predicates), 0)
    count = 0
    for line in _lines(path, limit):
        event = loads(line)
        if convert is not None:
            event = convert(event)
        count += 1
        for name, predicate in predicates:
            if predicate(event):
                matches[name] += 1
    return {"events": count, "matches": matches}


def run_python(path: Path, limit: int | None) -> Summary:
    return _evaluate(path, limit, [(c.name, c.python) for c in CONDITIONS])


def rule_engine_predicates() -> list[tuple[str, Callable[[Any], bool]]]:
    try:
        import rule_engine
    except ImportError as exc:
        raise Unavailable(f"rule-engine is not installed ({exc}); pip install -e '.[bench]'") from exc
    symbols = RULE_ENGINE_SYMBOLS

    def resolve(event: Any, name: str) -> Any:
        return event.get(symbols[name]) if event is not None else None

    context = rule_engine.Context(resolver=resolve, default_value=None)
    return [(c.name, rule_engine.Rule(c.rule_engine, context=context).matches) for c in CONDITIONS]


def run_rule_engine(path: Path, limit: int | None) -> Summary:
    return _evaluate(path, limit, rule_engine_predicates())


def cel_predicates() -> tuple[list[tuple[str, Callable[[Any], bool]]], Callable[[Any], Any]]:
    """CEL programs over an activation ``{"e": event}``; an evaluation error counts as no match.

    cel-python's default interpreted runner is used: its ``CompiledRunner`` fails to build these
    expressions (AttributeError in 0.5.0), so it is not an option for this comparison.
    """
    try:
        import celpy
    except ImportError as exc:
        raise Unavailable(f"cel-python is not installed ({exc}); pip install -e '.[bench]'") from exc
    env = celpy.Environment()

    def predicate_for(text: str) -> Callable[[Any], bool]:
        program = env.program(env.compile(text))

        def matches(activation: Any) -> bool:
            try:
                result = program.evaluate(activation)
            except celpy.CELEvalError:
                return False
            return isinstance(result, celpy.celtypes.BoolType) and bool(result)

        return matches

    def convert(event: Any) -> Any:
        return {"e": celpy.json_to_cel(event)}

    return [(c.name, predicate_for(c.cel)) for c in CONDITIONS], convert


def run_cel(path: Path, limit: int | None) -> Summary:
    predicates, convert = cel_predicates()
    return _evaluate(path, limit, predicates, convert)


def _event_source(event: Any) -> str:
    # A native audit.k8s.io Event carries kind/auditID; everything else here is a flat syscall map.
    return "k8s_audit" if isinstance(event, dict) and event.get("kind") == "Event" and "auditID" in event else "syscall"


def _detector_api() -> tuple[Any, Any]:
    """(load_rules, Engine), looked up by name: both are being built while this suite is written."""
    try:
        package = importlib.import_module("detector")
        engine_module = importlib.import_module("detector.engine")
    except ImportError as exc:
        raise Unavailable(f"detector is not importable ({exc})") from exc
    load_rules = getattr(package, "load_rules", None)
    if load_rules is None:
        try:
            load_rules = getattr(importlib.import_module("detector.loader"), "load_rules", None)
        except ImportError as exc:
            raise Unavailable(f"detector.load_rules is not importable yet ({exc})") from exc
    engine = getattr(engine_module, "Engine", None) or getattr(package, "Engine", None)
    if load_rules is None or engine is None:
        missing = " and ".join(n for n, v in (("load_rules", load_rules), ("engine.Engine", engine)) if v is None)
        raise Unavailable(f"detector has no {missing} yet")
    return load_rules, engine


def run_detector_api(path: Path, limit: int | None, rules: tuple[str, ...]) -> Summary:
    load_rules, engine_class = _detector_api()
    started = time.perf_counter()
    loaded = load_rules(*(Path(r) for r in rules))
    errors = list(getattr(loaded, "errors", ()) or ())
    if errors or getattr(loaded, "ruleset", None) is None:
        first = str(errors[0]) if errors else "no ruleset"
        raise click.ClickException(f"rules did not load ({len(errors)} errors; first: {first})")
    engine = engine_class(loaded.ruleset)
    load_seconds = time.perf_counter() - started
    loads = orjson.loads
    process = engine.process
    count = alerts = 0
    loop_started = time.perf_counter()
    for line in _lines(path, limit):
        event = loads(line)
        alerts += len(process(event, _event_source(event)))
        count += 1
    return {
        "events": count,
        "alerts": alerts,
        "load_seconds": load_seconds,
        "loop_seconds": time.perf_counter() - loop_started,
    }


_MODES: dict[str, Callable[[Path, int | None], Summary]] = {
    "lines": run_lines,
    "orjson": run_orjson,
    "python": run_python,
    "rule-engine": run_rule_engine,
    "cel": run_cel,
}


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.argument("mode", type=click.Choice([*_MODES, "detector-api"]))
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--limit", type=click.IntRange(min=0), default=None, help="Process only the first N lines.")
@click.option("--rules", "-r", multiple=True, help="Rules files or folders (detector-api only).")
def main(mode: str, path: Path, limit: int | None, rules: tuple[str, ...]) -> None:
    """Run one benchmark body and print its JSON summary."""
    started = time.perf_counter()
    try:
        if mode == "detector-api":
            summary = run_detector_api(path, limit, rules)
        else:
            summary = _MODES[mode](path, limit)
    except Unavailable as exc:
        click.echo(orjson.dumps({"unavailable": str(exc)}).decode())
        sys.exit(UNAVAILABLE)
    summary["seconds"] = time.perf_counter() - started
    click.echo(orjson.dumps(summary).decode())


if __name__ == "__main__":
    main()
