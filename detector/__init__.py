"""detector: Falco's rules, outside Falco's C++ core.

The public API is small and listed in ``__all__``; everything else is internal.

- conditions: ``parse_condition``, ``compile_condition`` → ``Condition``
- rules: ``load_rules`` / ``RulesLoader`` → ``LoadResult`` (``.ruleset``, ``.errors``, ``.warnings``)
- evaluation: ``Engine(ruleset, EngineOptions(...))`` → ``Engine.process(event, source)`` → ``Alert``
- input: ``read_records`` (JSON lines, ``.gz``, stdin), ``recognize`` (one decoded object)
- errors: ``DetectorError`` and its located subclasses

The names are imported on first use (PEP 562): ``import detector`` or a command that
needs one stage does not pay for importing every stage.
"""

from __future__ import annotations

import sys
from importlib import import_module
from types import ModuleType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
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

#: public name -> (module, attribute in it)
_EXPORTS: dict[str, tuple[str, str]] = {
    "Alert": ("detector.outputs", "Alert"),
    "BadLine": ("detector.sources", "BadLine"),
    "BadLineStats": ("detector.sources", "BadLineStats"),
    "Condition": ("detector.codegen", "Condition"),
    "ConditionCompileError": ("detector.errors", "ConditionCompileError"),
    "ConditionSyntaxError": ("detector.errors", "ConditionSyntaxError"),
    "DetectorError": ("detector.errors", "DetectorError"),
    "Engine": ("detector.engine", "Engine"),
    "EngineOptions": ("detector.engine", "EngineOptions"),
    "LoadResult": ("detector.loader", "LoadResult"),
    "MacroError": ("detector.errors", "MacroError"),
    "OutputFormat": ("detector.outputs", "OutputFormat"),
    "OutputFormatError": ("detector.errors", "OutputFormatError"),
    "Priority": ("detector.priority", "Priority"),
    "Record": ("detector.sources", "Record"),
    "RuleSelection": ("detector.engine", "RuleSelection"),
    "Ruleset": ("detector.loader", "Ruleset"),
    "RulesLoader": ("detector.loader", "RulesLoader"),
    "compile_condition": ("detector.codegen", "compile_condition"),
    "explain_condition": ("detector.explain", "explain_condition"),
    "explain_rule": ("detector.explain", "explain_rule"),
    "lint": ("detector.lint", "lint"),
    "load_rules": ("detector.loader", "load_rules"),
    "parse_condition": ("detector.language", "parse"),
    "read_records": ("detector.sources", "read_records"),
    "recognize": ("detector.sources", "recognize"),
}

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


def __getattr__(name: str) -> Any:
    target = _EXPORTS.get(name)
    if target is None:
        raise AttributeError(f"module 'detector' has no attribute {name!r}")
    value = getattr(import_module(target[0]), target[1])
    # Cached as a module global, so __getattr__ runs once per name.
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


class _Package(ModuleType):
    def __setattr__(self, name: str, value: Any) -> None:
        # The import system binds each loaded submodule as an attribute of this package.
        # The public ``lint`` function shares its name with the ``detector.lint`` package;
        # the function keeps the name (as when it was imported eagerly): ``__getattr__``
        # finds it once the submodule is not bound over it.
        if name == "lint" and isinstance(value, ModuleType):
            return
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package
