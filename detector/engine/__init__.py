"""Stage 6: the event-type-indexed ruleset and the engine that runs it."""

from __future__ import annotations

from detector.engine.engine import Engine, EngineOptions
from detector.engine.selection import RuleSelection, SelectionAction, SelectionError

__all__ = ["Engine", "EngineOptions", "RuleSelection", "SelectionAction", "SelectionError"]
