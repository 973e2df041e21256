"""``replay --profile``: what each rule and each macro costs.

The profiling engine evaluates every candidate rule of an event separately
(not the shared per-type function the engine normally runs), timing each
call, so a rule's time is what it costs on its own.  Macros are found in each
rule's expanded condition by structure (a subtree equal to a macro's expanded
body is that macro) and compiled as timed helpers, so a macro's time is the
time spent inside it, summed over every rule that uses it (inclusive of the
macros inside it).  Instrumentation makes everything slower; compare the
figures with each other, not with an unprofiled run.

Alerts are the engine's own: the same ``rule_matching`` and the same rendering.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from detector.codegen.check import CAnd, CExpr, CNot, COr
from detector.codegen.generate import Generator
from detector.engine.engine import Engine
from detector.fields import operators as ops
from detector.language.ast import And, Expr, Not, Or
from detector.loader.model import CompiledRule, Ruleset
from detector.outputs.alert import Alert


@dataclass(frozen=True, slots=True)
class CostLine:
    """One rule's or macro's totals."""

    name: str
    kind: str  # "rule" or "macro"
    evaluations: int
    seconds: float
    matches: int = 0
    source: str = ""

    @property
    def mean_us(self) -> float:
        return self.seconds / self.evaluations * 1e6 if self.evaluations else 0.0

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "name": self.name,
            "evaluations": self.evaluations,
            "seconds": round(self.seconds, 6),
            "mean_us": round(self.mean_us, 3),
        }
        if self.kind == "rule":
            out["source"] = self.source
            out["matches"] = self.matches
        return out


class _Timed:
    __slots__ = ("rule", "fn", "total", "calls", "matches")

    def __init__(self, rule: CompiledRule, fn: Any) -> None:
        self.rule = rule
        self.fn = fn
        self.total = 0
        self.calls = 0
        self.matches = 0


def _macro_marks(expr: Expr, checked: CExpr, macros: Mapping[Expr, int]) -> dict[int, int]:
    """``id()`` of the checked nodes that are a macro's body, with the macro's slot.

    The checked tree mirrors the AST node for node (and/or/not/check), so both are walked
    together."""
    marks: dict[int, int] = {}
    stack: list[tuple[Any, Any]] = [(expr, checked)]
    while stack:
        node, twin = stack.pop()
        slot = macros.get(node)
        if slot is not None:
            marks.setdefault(id(twin), slot)
        if isinstance(node, And | Or) and isinstance(twin, CAnd | COr) and len(node.children) == len(twin.children):
            stack.extend(zip(node.children, twin.children, strict=True))
        elif isinstance(node, Not) and isinstance(twin, CNot):
            stack.append((node.child, twin.child))
    return marks


class ProfilingEngine:
    """Wraps an ``Engine``: the same alerts, with every rule and macro timed."""

    def __init__(self, engine: Engine, ruleset: Ruleset | None = None) -> None:
        self.engine = engine
        ruleset = ruleset or engine.ruleset
        self.macro_names: list[str] = []
        slots: dict[Expr, int] = {}
        for macro in ruleset.macros:
            if macro.expr not in slots:
                slots[macro.expr] = len(self.macro_names)
                self.macro_names.append(macro.name)
            else:
                self.macro_names[slots[macro.expr]] += f" = {macro.name}"
        self.acc = [0] * len(self.macro_names)
        self.cnt = [0] * len(self.macro_names)
        self._timed: dict[int, _Timed] = {}
        for rule in engine.enabled_rules():
            self._timed[id(rule)] = _Timed(rule, self._instrument(rule, slots))
        self._first = engine.options.rule_matching == "first"

    def _instrument(self, rule: CompiledRule, slots: Mapping[Expr, int]) -> Any:
        checked = rule.compiled.checked
        if checked is None:
            return rule.compiled.matches
        gen = Generator()
        gen.timers = _macro_marks(rule.expr, checked, slots)
        namespace = gen.module.namespace
        namespace.update({"_alower": ops.ascii_lower, "_clock": time.perf_counter_ns,
                          "_acc": self.acc, "_cnt": self.cnt})
        main = gen.function("_match", checked)
        module = gen.module
        text = "\n\n".join(p for p in ("\n".join(module.const_notes), *module.helpers, main) if p)
        exec(compile(text, f"<profile {rule.name}>", "exec"), namespace)
        return namespace["_match"]

    def process(self, event: Mapping[str, Any], source: str = "syscall", matched: int | None = None) -> list[Alert]:
        # ``matched`` (what a prefilter found) is ignored: profiling times every rule itself.
        candidates = self.engine.candidates(event, source)
        clock = time.perf_counter_ns
        hits = []
        for active in candidates:
            timed = self._timed.get(id(active.rule))
            if timed is None:
                continue
            start = clock()
            hit = timed.fn(event)
            timed.total += clock() - start
            timed.calls += 1
            if hit:
                timed.matches += 1
                hits.append(active)
        if self._first:
            hits = hits[:1]
        return self.engine.alerts_for(hits, event, source)

    def rule_costs(self) -> list[CostLine]:
        lines = [CostLine(t.rule.name, "rule", t.calls, t.total / 1e9, t.matches, t.rule.source)
                 for t in self._timed.values()]
        return sorted(lines, key=lambda c: (-c.seconds, c.name))

    def macro_costs(self) -> list[CostLine]:
        lines = [CostLine(name, "macro", self.cnt[i], self.acc[i] / 1e9)
                 for i, name in enumerate(self.macro_names) if self.cnt[i]]
        return sorted(lines, key=lambda c: (-c.seconds, c.name))

    def report(self) -> dict[str, Any]:
        return {
            "note": "each candidate rule evaluated on its own with timing; macros timed inside rules "
                    "(inclusive); instrumented, so compare figures with each other",
            "rules": [c.as_dict() for c in self.rule_costs()],
            "macros": [c.as_dict() for c in self.macro_costs()],
        }


def print_profile(profiler: ProfilingEngine, stream: Any = None, top: int | None = None) -> None:
    """The two tables, most expensive first."""
    import sys

    from rich.console import Console
    from rich.table import Table

    out = stream or sys.stderr
    console = Console(file=out, highlight=False, width=None if out.isatty() else 140)
    for title, lines in (("Rule cost", profiler.rule_costs()), ("Macro cost", profiler.macro_costs())):
        total = sum(c.seconds for c in lines) or 1.0
        table = Table(title=title, show_header=True, header_style="bold")
        table.add_column("name", no_wrap=True)
        for column in ("evaluations", "matches", "total ms", "µs/eval", "share"):
            table.add_column(column, justify="right")
        shown: Sequence[CostLine] = lines if top is None else lines[:top]
        for c in shown:
            table.add_row(c.name, f"{c.evaluations:,}", f"{c.matches:,}" if c.kind == "rule" else "",
                          f"{c.seconds * 1e3:,.1f}", f"{c.mean_us:,.2f}", f"{c.seconds / total:.1%}")
        console.print(table)
