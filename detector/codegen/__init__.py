"""Stage 3: type checks with Falco's messages, Python code generation, the reference interpreter,
event-type sets and compiled conditions."""

from __future__ import annotations

from detector.codegen.condition import CompiledCondition, Condition, compile_condition, compile_expr
from detector.codegen.evttypes import evttypes
from detector.codegen.interpreter import Interpreter, interpret

__all__ = [
    "CompiledCondition",
    "Condition",
    "Interpreter",
    "compile_condition",
    "compile_expr",
    "evttypes",
    "interpret",
]
