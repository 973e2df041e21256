"""detector: Falco's rules, outside Falco's C++ core.

The public API is small and listed in ``__all__``; everything else is internal.
"""

from __future__ import annotations

from detector.errors import ConditionCompileError, ConditionSyntaxError, DetectorError
from detector.language import parse as parse_condition
from detector.loader import LoadResult, RulesLoader, Ruleset, load_rules
from detector.priority import Priority

__all__ = [
    "ConditionCompileError",
    "ConditionSyntaxError",
    "DetectorError",
    "LoadResult",
    "Priority",
    "Ruleset",
    "RulesLoader",
    "load_rules",
    "parse_condition",
]
