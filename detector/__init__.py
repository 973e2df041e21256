"""detector: Falco's rules, outside Falco's C++ core.

The public API is small and listed in ``__all__``; everything else is internal.

- conditions: ``parse_condition``, ``compile_condition`` → ``Condition``
- rules: ``load_rules`` / ``RulesLoader`` → ``LoadResult`` (``.ruleset``, ``.errors``, ``.warnings``)
- evaluation: ``Engine(ruleset, EngineOptions(...))`` → ``Engine.process(event, source)`` → ``Alert``
- input: ``read_records`` (JSON lines, ``.gz``, stdin), ``recognize`` (one decoded object)
- errors: ``DetectorError`` and its located subclasses
"""

from __future__ import annotations

from detector.codegen import Condition, compile_condition
from detector.engine import Engine, EngineOptions, RuleSelection
from detector.errors import (
    ConditionCompileError,
    ConditionSyntaxError,
    DetectorError,
    MacroError,
    OutputFormatError,
)
from detector.explain import explain_condition, explain_rule
from detector.language import parse as parse_condition
from detector.lint import lint
from detector.loader import LoadResult, Ruleset, RulesLoader, load_rules
from detector.outputs import Alert, OutputFormat
from detector.priority import Priority
from detector.sources import BadLine, BadLineStats, Record, read_records, recognize

__all__ = [
    "Alert",
    "BadLine",
    "BadLineStats",
    "Condition",
    "ConditionCompileError",
    "ConditionSyntaxError",
    "DetectorError",
    "Engine",
    "EngineOptions",
    "LoadResult",
    "MacroError",
    "OutputFormat",
    "OutputFormatError",
    "Priority",
    "Record",
    "RuleSelection",
    "Ruleset",
    "RulesLoader",
    "compile_condition",
    "explain_condition",
    "explain_rule",
    "lint",
    "load_rules",
    "parse_condition",
    "read_records",
    "recognize",
]
