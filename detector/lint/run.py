"""``lint``: findings about a loaded ruleset that loading alone does not report.

Loading already gives Falco's warnings (``LOAD_UNUSED_MACRO`` and friends).  Lint looks at
the ruleset as a whole: what no rule reaches (even through other macros and lists), rules no
event can ever fire, items defined more than once, comparisons that cannot hold for the
field's type or domain, regexes a plain operator would do, and rules without an event type.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field

from detector.errors import DetectorError
from detector.fields.registry import SOURCES, FieldSource, get_source
from detector.language import as_string, macro_refs, parse, resolve_lists
from detector.language.ast import And, BinaryCheck, Expr, ListValue, Not, Or, UnaryCheck
from detector.language.lists import Substituted, substitute_lists
from detector.lint import findings as F
from detector.lint.checks import Problem, check_problems, unknown_field
from detector.lint.files import ItemRecord, RulesFiles
from detector.lint.findings import Finding, Severity
from detector.lint.never import never_true
from detector.loader.model import CompiledRule, LoadResult, Ruleset


@dataclass(slots=True)
class _Item:
    """A rule's or macro's condition as written, list-substituted and parsed (unexpanded)."""

    kind: str
    name: str
    condition: str
    file: str
    line: int
    sub: Substituted | None = None
    expr: Expr | None = None
    refs: frozenset[str] = frozenset()
    sources: set[str] = field(default_factory=set)


def _leaves(expr: Expr) -> Iterator[UnaryCheck | BinaryCheck]:
    stack = [expr]
    while stack:
        node = stack.pop()
        if isinstance(node, And | Or):
            stack.extend(reversed(node.children))
        elif isinstance(node, Not):
            stack.append(node.child)
        elif isinstance(node, UnaryCheck | BinaryCheck):
            yield node


def _exception_texts(rule: CompiledRule) -> str:
    parts: list[str] = []
    stack: list[object] = [ex.values for ex in rule.exceptions]
    while stack:
        cur = stack.pop()
        if isinstance(cur, str):
            parts.append(cur)
        elif isinstance(cur, tuple | list):
            stack.extend(cur)
    return " ".join(f"({p})" for p in parts)


class _Linter:
    def __init__(self, ruleset: Ruleset, files: RulesFiles) -> None:
        self.ruleset = ruleset
        self.files = files
        self.lists: dict[str, tuple[str, ...]] = {lst.name: lst.items for lst in ruleset.lists}
        self.findings: list[Finding] = []
        self.rules = [self._item("rule", r.name, r.condition, r.file, r.line) for r in ruleset.rules]
        self.macros = {m.name: self._item("macro", m.name, m.condition, m.file, m.line) for m in ruleset.macros}

    def _item(self, kind: str, name: str, condition: str, file: str, line: int) -> _Item:
        item = _Item(kind, name, condition, file, line)
        try:
            item.sub = substitute_lists(condition, self.lists.items())
            item.expr = parse(item.sub.text)
            item.refs = macro_refs(item.expr)
        except DetectorError:
            pass  # the loader accepted the item; a re-parse problem only costs this item's checks
        return item

    # locations ----------------------------------------------------------------------------

    def _record(self, kind: str, name: str) -> ItemRecord | None:
        records = [r for r in self.files.of(kind, name) if r.definition] or self.files.of(kind, name)
        return records[-1] if records else None

    def add(self, code: str, severity: Severity, message: str, kind: str, name: str, *,
            record: ItemRecord | None = None, item: _Item | None = None, offset: int | None = None,
            fallback: tuple[str, int] = ("", 0)) -> None:
        """Record a finding at a condition offset (``item``+``offset``), an item, or the fallback."""
        if item is not None and offset is not None and item.sub is not None:
            found = self.files.condition_offset(kind, name, item.condition, item.sub.original_offset(offset))
            if found is not None:
                file, at = found
                line, column = self.files.position(file, at)
                self.findings.append(Finding(code, message, severity, file, line, column, kind, name,
                                             self.files.snippet(file, at)))
                return
        record = record or self._record(kind, name)
        if record is not None:
            self.findings.append(Finding(code, message, severity, record.file, record.line, record.column,
                                         kind, name, self.files.snippet(record.file, record.node.start.offset)))
            return
        file, line = (item.file, item.line) if item is not None else fallback
        self.findings.append(Finding(code, message, severity, file, line, 1, kind, name))

    # passes -------------------------------------------------------------------------------

    def run(self) -> list[Finding]:
        reached_macros = self._reach_macros()
        self._unused_macros(reached_macros)
        self._unused_lists(reached_macros)
        self._duplicates()
        self._check_items()
        self._rule_level()
        order = F.SEVERITY_ORDER
        return sorted(dict.fromkeys(self.findings),
                      key=lambda f: (f.file, f.line, f.column, order[f.severity], f.code, f.message))

    def _reach_macros(self) -> set[str]:
        reached: set[str] = set()
        pending: list[tuple[str, str]] = [(ref, rule.source) for rule, item in zip(self.ruleset.rules, self.rules,
                                                                                    strict=True)
                                          for ref in item.refs]
        while pending:
            name, source = pending.pop()
            macro = self.macros.get(name)
            if macro is None or source in macro.sources:
                continue
            macro.sources.add(source)
            reached.add(name)
            pending.extend((ref, source) for ref in macro.refs)
        return reached

    def _unused_macros(self, reached: set[str]) -> None:
        referrers: dict[str, list[str]] = {}
        for macro in self.macros.values():
            for ref in macro.refs:
                referrers.setdefault(ref, []).append(macro.name)
        for name, macro in self.macros.items():
            if name in reached:
                continue
            users = sorted(set(referrers.get(name, ())))
            detail = (f"; only unused macro{'s' if len(users) > 1 else ''} {', '.join(users)} "
                      f"refer{'' if len(users) > 1 else 's'} to it") if users else ""
            self.add(F.LINT_UNUSED_MACRO, "warning", f"Macro '{name}' is not used by any rule{detail}",
                     "macro", name, item=macro)

    def _list_refs(self, name: str) -> set[str]:
        """Lists named among the raw items of ``name`` (list-in-list), over all its definitions."""
        names: set[str] = set()
        for rec in self.files.of("list", name):
            names.update(i for i in rec.items() if i in self.lists and i != name)
        return names

    def _unused_lists(self, reached_macros: set[str]) -> None:
        used: set[str] = set()
        for rule, item in zip(self.ruleset.rules, self.rules, strict=True):
            if item.sub is not None:
                used |= item.sub.used
            if rule.exceptions:
                used |= resolve_lists(_exception_texts(rule), self.lists)[1]
        for name in reached_macros:
            sub = self.macros[name].sub
            if sub is not None:
                used |= sub.used
        pending = list(used)
        while pending:
            for ref in self._list_refs(pending.pop()):
                if ref not in used:
                    used.add(ref)
                    pending.append(ref)
        referrers: dict[str, set[str]] = {}
        for macro in self.macros.values():
            for lst in (macro.sub.used if macro.sub is not None else ()):
                referrers.setdefault(lst, set()).add(f"macro {macro.name}")
        for lst in self.lists:
            for ref in self._list_refs(lst):
                referrers.setdefault(ref, set()).add(f"list {lst}")
        for name in self.lists:
            if name in used:
                continue
            users = sorted(referrers.get(name, ()))
            detail = f"; only unused items refer to it ({', '.join(users)})" if users else ""
            self.add(F.LINT_UNUSED_LIST, "warning", f"List '{name}' is not used by any rule{detail}",
                     "list", name, fallback=self._list_place(name))

    def _list_place(self, name: str) -> tuple[str, int]:
        lst = self.ruleset.list(name)
        return (lst.file, lst.line) if lst is not None else ("", 0)

    def _duplicates(self) -> None:
        codes = {"rule": F.LINT_DUPLICATE_RULE, "macro": F.LINT_DUPLICATE_MACRO, "list": F.LINT_DUPLICATE_LIST}
        seen: dict[tuple[str, str], ItemRecord] = {}
        for rec in self.files.records:
            if not rec.definition:
                continue
            key = (rec.kind, rec.name)
            first = seen.get(key)
            seen[key] = rec
            if first is None:
                continue
            where = f"{first.file}:{first.line}"
            same = _body(first) == _body(rec)
            severity: Severity = "info" if same and rec.kind != "rule" else "warning"
            if rec.kind == "rule":
                message = f"Rule '{rec.name}' is defined again; this definition replaces the one at {where}"
            elif same:
                message = f"{rec.kind.capitalize()} '{rec.name}' is defined again, identical to the one at {where}"
            else:
                message = (f"{rec.kind.capitalize()} '{rec.name}' is defined again, differently from {where}; "
                           f"the last definition applies to every rule, those loaded before it included")
            self.add(codes[rec.kind], severity, message, rec.kind, rec.name, record=rec)

    def _check_items(self) -> None:
        by_name = {r.name: r for r in self.ruleset.rules}
        for item in self.rules:
            rule = by_name[item.name]
            self._check_item(item, [get_source(rule.source)])
        for macro in self.macros.values():
            sources = [get_source(s) for s in sorted(macro.sources)] or self._guess_sources(macro)
            self._check_item(macro, sources)

    def _guess_sources(self, macro: _Item) -> list[FieldSource]:
        """Sources for a macro no rule uses: the first builtin one that knows all its fields."""
        if macro.expr is None:
            return []
        candidates = [get_source(s) for s in SOURCES]
        scored = [(sum(1 for c in _leaves(macro.expr) if unknown_field(c, s) is not None), i, s)
                  for i, s in enumerate(candidates)]
        best = min(scored, key=lambda t: (t[0], t[1]))[2]
        for check in _leaves(macro.expr):
            problem = unknown_field(check, best)
            if problem is not None:
                self._report(macro, Problem(F.LINT_UNKNOWN_FIELD, f"{problem} (source {best.name})", check))
        return [best]

    def _check_item(self, item: _Item, sources: Iterable[FieldSource]) -> None:
        if item.expr is None:
            return
        origin = _ListOrigin(item, self.lists)
        for source in sources:
            for check in _leaves(item.expr):
                for problem in check_problems(check, source, origin):
                    self._report(item, problem)

    def _report(self, item: _Item, problem: Problem) -> None:
        severity: Severity = "warning" if problem.code in (F.LINT_EMPTY_LIST, F.LINT_REGEX_SIMPLE) else "error"
        if problem.code == F.LINT_EMPTY_NAMED_LIST:
            severity = "info"
        span = problem.node.span
        self.add(problem.code, severity, problem.message, item.kind, item.name, item=item,
                 offset=span.start if span is not None else None)

    def _empty_list_labels(self, rule: _Item) -> dict[str, str]:
        """How the empty-list checks of a rule and the macros it reaches were written."""
        labels = _empty_list_labels_of(rule, self.lists)
        seen: set[str] = set()
        pending = list(rule.refs)
        while pending:
            name = pending.pop()
            macro = self.macros.get(name)
            if macro is None or name in seen:
                continue
            seen.add(name)
            for key, value in _empty_list_labels_of(macro, self.lists).items():
                labels.setdefault(key, value)
            pending.extend(macro.refs)
        return labels

    def _rule_level(self) -> None:
        for rule, item in zip(self.ruleset.rules, self.rules, strict=True):
            source = get_source(rule.source)
            if source.kind == "syscall" and rule.evttypes is not None and not rule.evttypes:
                self.add(F.LINT_NEVER_FIRES, "error",
                         f"Rule '{rule.name}' can never fire: no event type satisfies its evt.type checks",
                         "rule", rule.name, item=item, offset=None)
                continue
            why = never_true(rule.expr, source, self._empty_list_labels(item))
            if why is not None:
                self.add(F.LINT_NEVER_FIRES, "error", f"Rule '{rule.name}' can never fire: {why}",
                         "rule", rule.name, item=item, offset=None)
                continue
            if source.kind == "syscall" and rule.evttypes is None:
                severity: Severity = "warning" if rule.warn_evttypes else "info"
                self.add(F.LINT_NO_EVTTYPE, severity,
                         f"Rule '{rule.name}' has no event-type restriction: the engine evaluates it on "
                         f"every event (add an evt.type check{'' if rule.warn_evttypes else '; warn_evttypes is off'})",
                         "rule", rule.name, item=item, offset=None)


def _empty_list_labels_of(item: _Item, lists: Mapping[str, tuple[str, ...]]) -> dict[str, str]:
    origin = _ListOrigin(item, lists)
    labels: dict[str, str] = {}
    if item.expr is None:
        return labels
    for check in _leaves(item.expr):
        if isinstance(check, BinaryCheck) and isinstance(check.right, ListValue) and not check.right.items:
            names = origin(check.right)
            if names:
                middle = f" {check.op} {check.modifier} " if check.modifier else f" {check.op} "
                labels.setdefault(as_string(check), f"{as_string(check.left)}{middle}({', '.join(names)})")
    return labels


class _ListOrigin:
    """The list names an empty list literal of an item was written with."""

    def __init__(self, item: _Item, lists: Mapping[str, tuple[str, ...]]) -> None:
        self.item = item
        self.lists = lists

    def __call__(self, node: ListValue) -> tuple[str, ...]:
        sub, span = self.item.sub, node.span
        if sub is None or span is None:
            return ()
        start = sub.original_offset(span.start)
        end = sub.original_offset(max(span.end - 1, span.start))
        written = self.item.condition[start:end + 1]
        names = [w for w in written.strip("() \t\n").replace(",", " ").split() if w in self.lists]
        return tuple(dict.fromkeys(names))


def _body(rec: ItemRecord) -> object:
    if rec.kind == "list":
        return rec.items()
    node = rec.scalar("condition")
    cond: object = " ".join(node.text.split()) if node is not None else None
    if node is not None:
        try:
            cond = parse(node.text)  # the same condition however it is parenthesised or laid out
        except DetectorError:
            pass
    if rec.kind == "macro":
        return cond
    return cond, tuple((k, v.text if v.is_scalar else None) for k, v in rec.node.pairs if k.is_scalar)


def lint(target: Ruleset | LoadResult, *, texts: Mapping[str, str] | None = None) -> list[Finding]:
    """Lint findings for a ruleset (or a ``load_rules`` result), sorted by file and position.

    The rules files are re-read by the names the loader recorded (``texts`` supplies contents
    for names that are not paths, such as rules loaded from text); a file that cannot be read
    only makes its findings less precisely placed.
    """
    if isinstance(target, LoadResult):
        ruleset = target.ruleset
        labels = [f.name for f in target.files]
    else:
        ruleset = target
        labels = []
    labels += [r.file for r in ruleset.rules] + [m.file for m in ruleset.macros] + [lst.file for lst in ruleset.lists]
    if texts:
        labels += list(texts)
    files = RulesFiles(labels, texts)
    return _Linter(ruleset, files).run()
