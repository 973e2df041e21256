"""Stage 4: rules files to a ``Ruleset``, with Falco's semantics and diagnostics.

Reader (YAML with positions) -> collector (define/append/override/enable, kept
across files) -> compiler (lists, macros, exceptions, outputs, conditions).
"""

from __future__ import annotations

from detector.loader.api import RulesLoader, load_rules
from detector.loader.model import (
    CompiledList,
    CompiledMacro,
    CompiledRule,
    Diagnostic,
    FileResult,
    LoadResult,
    Location,
    PluginRequirement,
    RuleException,
    Ruleset,
)
from detector.loader.options import ExtraOutput, ExtraOutputField, LoaderOptions

__all__ = [
    "CompiledList",
    "CompiledMacro",
    "CompiledRule",
    "Diagnostic",
    "ExtraOutput",
    "ExtraOutputField",
    "FileResult",
    "LoadResult",
    "LoaderOptions",
    "Location",
    "PluginRequirement",
    "RuleException",
    "Ruleset",
    "RulesLoader",
    "load_rules",
]
