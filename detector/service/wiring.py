"""The real stages the service runs on: the rules loader, the engine and the source recogniser."""

from __future__ import annotations

from typing import Any

from detector.service.config import ServiceConfig
from detector.service.protocols import EngineLike
from detector.service.service import Dependencies


def _engine_factory(ruleset: Any, config: ServiceConfig) -> EngineLike:
    from detector.engine import Engine, EngineOptions

    options = EngineOptions(
        priority=config.priority,
        rule_matching="all" if config.rule_matching == "all" else "first",
        hostname=config.hostname,
        time_format_iso_8601=config.time_format_iso_8601,
    )
    engine: EngineLike = Engine(ruleset, options)
    return engine


def _load_rules(*paths: str) -> Any:
    from detector.loader import load_rules

    return load_rules(*paths)


def _recognise(value: Any, *, on_item_rejected: Any = None) -> list[Any]:
    from detector.sources.recognize import recognize

    return recognize(value, on_item_rejected=on_item_rejected)


def default_dependencies() -> Dependencies:
    return Dependencies(loader=_load_rules, engine_factory=_engine_factory, recognise=_recognise)
