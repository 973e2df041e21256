"""detector: Falco's rules, outside Falco's C++ core.

The public API is small and listed in ``__all__``; everything else is internal.
"""

from __future__ import annotations

from detector.codegen import Condition, compile_condition
from detector.errors import (
    ConditionCompileError,
    ConditionSyntaxError,
    DetectorError,
    MacroError,
    OutputFormatError,
)
from detector.language import parse as parse_condition
from detector.loader import LoadResult, Ruleset, RulesLoader, load_rules
from detector.outputs import Alert, OutputFormat
from detector.priority import Priority
from detector.sources import BadLine, BadLineStats, Record, read_records, recognize

__all__ = [
    "Alert",
    "BadLine",
    "BadLineStats",
    "OutputFormat",
    "OutputFormatError",
    "Record",
    "read_records",
    "recognize",
    "Condition",
    "ConditionCompileError",
    "ConditionSyntaxError",
    "DetectorError",
    "MacroError",
    "LoadResult",
    "Priority",
    "Ruleset",
    "RulesLoader",
    "compile_condition",
    "load_rules",
    "parse_condition",
]
