"""The real stages the service runs on: the rules loader, the engine and the source recogniser."""

from __future__ import annotations

from typing import Any

from detector.service.protocols import EngineLike
from detector.service.service import Dependencies


def _engine_factory(ruleset: Any, min_priority: Any, hostname: str) -> EngineLike:
    from detector.engine import Engine

    engine: EngineLike = Engine(ruleset, min_priority=min_priority)
    return engine


def _load_rules(*paths: str) -> Any:
    from detector.loader import load_rules

    return load_rules(*paths)


def _recognise(value: Any, *, on_item_rejected: Any = None) -> list[Any]:
    from detector.sources.recognize import recognize

    return recognize(value, on_item_rejected=on_item_rejected)


def default_dependencies() -> Dependencies:
    return Dependencies(loader=_load_rules, engine_factory=_engine_factory, recognise=_recognise)
