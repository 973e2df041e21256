"""The compiler: collected items to a ``Ruleset`` (Falco's ``rule_loader::compiler``).

Order and semantics follow ``rule_loader_compiler.cpp``: lists (list-in-list by
visibility), then macros (parsed after list substitution, resolved by
visibility), then rules (exceptions, output checks, list substitution, parse,
macro expansion, warnings, compilation, event types), then unused warnings.
The first error stops the compilation unless ``all_errors`` is set.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from detector.codegen import CompiledCondition
from detector.language.ast import (
    And,
    BinaryCheck,
    Expr,
    FieldRef,
    ListValue,
    MacroRef,
    Node,
    Not,
    Or,
    Transform,
    Value,
)
from detector.language.frozen import constructor
from detector.language.lists import ListTable, Substituted, is_word
from detector.loader import codes
from detector.loader.collector import Collector
from detector.loader.context import Context, SourcedText
from detector.loader.exceptions import build_condition, exception_fields
from detector.loader.expand import expand_resolved, expanded_size
from detector.loader.infos import ExceptionInfo, MacroInfo, RuleInfo
from detector.loader.model import (
    CompiledList,
    CompiledMacro,
    CompiledRule,
    PluginRequirement,
    RuleException,
    Ruleset,
)
from detector.loader.options import LoaderOptions
from detector.loader.result import ResultBuilder, RuleLoadError
from detector.loader.toolchain import (
    CompilerWarning,
    ToolError,
    as_string,
    check_output,
    children,
    compile_condition,
    expand_macros,
    macro_refs,
    parse,
    span_start,
    walk,
)

_CONTAINER_INFO: Final = "%container.info"
_UNSAFE_PREFIXES: Final = ("ka.", "jevt.")
_EQUALITY_OPS: Final = frozenset({"==", "=", "!=", "in", "intersects", "pmatch"})
_UNKNOWN_MARKERS: Final = ("nonexistent field", "invalid formatting token", "unknown event type",
                           "unknown filter:")
_MANY_EVTTYPES: Final = 100


def _is_unknown_error(message: str) -> bool:
    return any(marker in message for marker in _UNKNOWN_MARKERS)


# Entries each memo of a ``CompileCache`` keeps before starting over: far more than the
# upstream rules need, small enough that a long-lived loader cannot grow without bound.
MEMO_LIMIT: Final = 16384


def _remember(memo: dict[Any, Any], key: Any, value: Any) -> None:
    if len(memo) >= MEMO_LIMIT:
        memo.clear()
    memo[key] = value


@dataclass(frozen=True, slots=True)
class Parsed:
    """A condition's AST and the macros it names (sorted)."""

    expr: Expr
    refs: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class _Expansion:
    """One macro expansion, kept with the objects its key names by ``id`` (so the ids stay theirs)."""

    expr: Expr
    bodies: tuple[Expr, ...]
    result: Expr
    size: int


@dataclass(frozen=True, slots=True)
class _Facts:
    """What the compiler needs from an expanded condition: its text and its warnings' causes."""

    expr: Expr
    printed: str
    deprecated: tuple[str, ...]
    unsafe_na: bool


@dataclass(slots=True)
class _Bodies:
    """Expanded macro bodies by ``id``: the fields their warnings are about (each entry keeps
    its body alive, so the ids stay theirs) and their text once a rule needed it."""

    causes: dict[int, _Facts] = field(default_factory=dict)
    texts: dict[int, str] = field(default_factory=dict)

    def clear(self) -> None:
        self.causes.clear()
        self.texts.clear()  # ids are only safe while their bodies are kept


@dataclass(slots=True)
class CompileCache:
    """Work reused across the recompilation after each loaded file.

    Every entry is keyed by what determines it: a text, or the identities of the
    (immutable) ASTs it was computed from.  Parses are shared by equal texts, so
    a rule or macro whose text and referenced macros did not change expands to
    the very same AST object, and everything computed from that is reused too.
    """

    parsed: dict[str, Parsed | ToolError] = field(default_factory=dict)
    outputs: dict[tuple[str, str], ToolError | None] = field(default_factory=dict)
    substituted: dict[str, Substituted] = field(default_factory=dict)
    lists_signature: tuple[tuple[str, tuple[str, ...]], ...] = ()
    list_table: ListTable = field(default_factory=lambda: ListTable(()))
    expansions: dict[tuple[int, ...], _Expansion] = field(default_factory=dict)
    expanded_facts: dict[int, _Facts] = field(default_factory=dict)
    bodies: _Bodies = field(default_factory=lambda: _Bodies())
    # keyed by the id of a rule's exceptions tuple, which the entry keeps
    rule_exceptions: dict[int, tuple[tuple[ExceptionInfo, ...], tuple[RuleException, ...], frozenset[str]]] = field(
        default_factory=dict)
    compiled: dict[tuple[str, str], tuple[CompiledCondition, tuple[CompilerWarning, ...]] | ToolError] = field(
        default_factory=dict)

    def parse(self, text: str) -> Parsed:
        hit = self.parsed.get(text)
        if hit is None:
            try:
                expr = parse(text)
                hit = Parsed(expr, tuple(sorted(macro_refs(expr))))
            except ToolError as exc:
                hit = exc
            _remember(self.parsed, text, hit)
        if isinstance(hit, ToolError):
            raise hit
        return hit

    def use_lists(self, lists: dict[str, tuple[str, ...]]) -> None:
        """The lists of this compilation.

        A substitution stays valid while no list named by one of its ``words`` is new
        or changed: lists keep their place when redefined and new ones come last, so
        the lists it went through are still tried in the same order with the same items.
        """
        signature = tuple(lists.items())
        if signature == self.lists_signature:
            return
        before = dict(self.lists_signature)
        changed = {name for name, items in signature if before.get(name) != items}
        self.lists_signature = signature
        self.list_table = ListTable(signature)
        if not all(is_word(name) for name in changed):
            self.substituted.clear()  # a name with a delimiter is looked for in every text
            return
        stale = [text for text, sub in self.substituted.items() if not changed.isdisjoint(sub.words)]
        for text in stale:
            del self.substituted[text]

    def substitute(self, text: str) -> Substituted:
        """List substitution with the lists given to ``use_lists``."""
        hit = self.substituted.get(text)
        if hit is None:
            hit = self.list_table.substitute(text)
            _remember(self.substituted, text, hit)
        return hit

    def expand(self, expr: Expr, refs: tuple[str, ...], resolved: Mapping[str, Expr],
               sizes: Mapping[str, int], max_nodes: int) -> tuple[Expr, int] | None:
        """``expand_resolved``, reused for the same AST and the same expanded macro bodies."""
        if len(resolved) != len(refs):
            return expand_resolved(expr, resolved, sizes, max_nodes=max_nodes)
        bodies = tuple(resolved[r] for r in refs)
        key = (id(expr), max_nodes, *map(id, bodies))
        hit = self.expansions.get(key)
        if hit is not None:
            return hit.result, hit.size
        fast = expand_resolved(expr, resolved, sizes, max_nodes=max_nodes)
        if fast is not None:
            _remember(self.expansions, key, _Expansion(expr, bodies, fast[0], fast[1]))
        return fast

    def facts(self, expr: Expr) -> _Facts:
        """The canonical text of an expanded condition and the fields its warnings are about.

        A condition is only walked down to the expanded macros it shares with others
        (``describe_macro``), whose text is written once.
        """
        hit = self.expanded_facts.get(id(expr))
        if hit is None:
            bodies = self.bodies
            deprecated, unsafe = _warning_causes(expr, bodies.causes)
            printed = as_string(expr, shared=bodies.causes, memo=bodies.texts)
            hit = _Facts(expr, printed, deprecated, unsafe)
            _remember(self.expanded_facts, id(expr), hit)
        return hit

    def describe_macro(self, expanded: Expr) -> None:
        """Note an expanded macro body, which the rules using it share."""
        bodies = self.bodies
        if id(expanded) not in bodies.causes:
            if len(bodies.causes) >= MEMO_LIMIT:
                bodies.clear()
            deprecated, unsafe = _warning_causes(expanded, bodies.causes)
            bodies.causes[id(expanded)] = _Facts(expanded, "", deprecated, unsafe)

    def exceptions(self, infos: tuple[ExceptionInfo, ...]) -> tuple[tuple[RuleException, ...], frozenset[str]]:
        """A rule's exceptions as the ruleset shows them, and the fields they use."""
        if not infos:
            return (), frozenset()
        hit = self.rule_exceptions.get(id(infos))
        if hit is None:
            hit = (infos, tuple(_public_exception(e) for e in infos), exception_fields(infos))
            _remember(self.rule_exceptions, id(infos), hit)
        return hit[1], hit[2]

    def check_output(self, fmt: str, source: str) -> None:
        key = (source, fmt)
        if key not in self.outputs:
            try:
                check_output(fmt, source)
                result = None
            except ToolError as exc:
                result = exc
            _remember(self.outputs, key, result)
        hit = self.outputs[key]
        if hit is not None:
            raise hit

    def compile(self, expr: Expr, printed: str, source: str,
                text: str) -> tuple[CompiledCondition, tuple[CompilerWarning, ...]]:
        # Keyed by the canonical text, not the AST: hashing a deeply nested AST walks it.
        key = (source, printed)
        hit = self.compiled.get(key)
        if hit is None:
            try:
                hit = compile_condition(expr, source=source, text=text)
            except ToolError as exc:
                hit = exc
            _remember(self.compiled, key, hit)
        if isinstance(hit, ToolError):
            raise hit
        return hit


class _Visible(Mapping[str, Expr]):
    """The macros defined before ``visibility``: what a macro may refer to.

    Macros already resolved (those earlier in definition order) are given expanded,
    as Falco resolves in place, so a long chain of macros costs linear time; the
    others (visible only through a redefinition) are given as parsed.  Broken
    macros are hidden: their own error is already reported.
    """

    __slots__ = ("_c", "_visibility")

    def __init__(self, compiler: Compiler, visibility: int) -> None:
        self._c = compiler
        self._visibility = visibility

    def __getitem__(self, name: str) -> Expr:
        c = self._c
        info = c.col.macros.get(name)
        if info is None or info.index >= self._visibility or name in c.broken_macros:
            raise KeyError(name)
        expanded = c.expanded_macros.get(name)
        return expanded if expanded is not None else c.parsed_macros[name]

    def __contains__(self, name: object) -> bool:
        # what __getitem__ would find, without raising (asked for every reference)
        c = self._c
        info = c.col.macros.get(name)  # type: ignore[call-overload]
        return (info is not None and info.index < self._visibility and name not in c.broken_macros
                and (name in c.expanded_macros or name in c.parsed_macros))

    def __iter__(self) -> Iterator[str]:
        return (n for n in self._c.parsed_macros if n in self)

    def __len__(self) -> int:
        return sum(1 for _ in self)


@dataclass(slots=True)
class _Condition:
    """A condition on its way to the compiler, with what is needed to place errors."""

    written: SourcedText
    substituted: Substituted

    def context_at(self, offset: int | None) -> Context:
        if offset is None:
            return self.written.context_at(0)
        return self.written.context_at(self.substituted.original_offset(offset))


# The models made on every compilation, without the frozen dataclasses' slow __init__.
_new_list: Final = constructor(CompiledList)
_new_macro: Final = constructor(CompiledMacro)


class Compiler:
    """One compilation of everything a collector holds."""

    def __init__(self, collector: Collector, result: ResultBuilder, options: LoaderOptions,
                 cache: CompileCache) -> None:
        self.col = collector
        self.result = result
        self.options = options
        self.cache = cache
        self.lists: dict[str, tuple[str, ...]] = {}
        self.used_lists: set[str] = set()
        self.parsed_macros: dict[str, Expr] = {}
        self.expanded_macros: dict[str, Expr] = {}
        self.macro_sizes: dict[str, int] = {}
        self.used_macros: set[str] = set()
        self.broken_macros: set[str] = set()
        self.rules: list[CompiledRule] = []
        self.failed = False

    # driver -----------------------------------------------------------------------------

    def compile(self) -> Ruleset:
        try:
            self._compile_lists()
            self._compile_macros()
            self._compile_rules()
        except RuleLoadError as exc:
            self.result.add(exc)
            self.failed = True
        if not self.failed:
            self._unused_warnings()
        return self._ruleset()

    def _guard(self, exc: RuleLoadError) -> None:
        """Record ``exc`` and go on (``all_errors``) or stop the compilation."""
        if not self.options.all_errors:
            raise exc
        self.result.add(exc)
        self.failed = True

    def _ruleset(self) -> Ruleset:
        lists = tuple(
            _new_list(name, items, name in self.used_lists, item.file, item.line)
            for name, items in self.lists.items()
            for item in (self.col.lists[name].ctx.item,)
        )
        macros = tuple(
            _new_macro(name, info.cond.text, self.expanded_macros[name], name in self.used_macros,
                       item.file, item.line, self.parsed_macros.get(name))
            for name, info in self.col.macros.items() if name in self.expanded_macros
            for item in (info.ctx.item,)
        )
        plugins = tuple(PluginRequirement(alts) for alts in self.col.required_plugin_versions)
        return Ruleset(tuple(self.rules), lists, macros, self.col.required_engine_version_text, plugins)

    # lists ------------------------------------------------------------------------------

    def _compile_lists(self) -> None:
        col_lists = self.col.lists
        for name, info in col_lists.items():
            if not any(item in col_lists for item in info.items):
                self.lists[name] = info.items  # no list inside: the items as they are
                continue
            items: list[str] = []
            for item in info.items:
                ref = col_lists.get(item)
                if ref is not None and ref.index < info.visibility:
                    self.used_lists.add(ref.name)
                    items.extend(ref.items)
                else:
                    items.append(item)
            self.lists[name] = tuple(items)
        self.cache.use_lists(self.lists)

    def _substitute(self, text: str) -> Substituted:
        sub = self.cache.substitute(text)
        self.used_lists |= sub.used
        return sub

    # macros -----------------------------------------------------------------------------

    def _compile_macros(self) -> None:
        conditions: dict[str, _Condition] = {}
        refs: dict[str, tuple[str, ...]] = {}
        for name, info in self.col.macros.items():
            cond = _Condition(info.cond, self._substitute(info.cond.text))
            try:
                parsed = self.cache.parse(cond.substituted.text)
                self.parsed_macros[name] = parsed.expr
                refs[name] = parsed.refs
                conditions[name] = cond
            except ToolError as exc:
                self.broken_macros.add(name)
                self._guard(RuleLoadError(codes.LOAD_ERR_COMPILE_CONDITION, exc.message,
                                          cond.context_at(exc.offset)))
        infos = self.col.macros
        for name, expr in self.parsed_macros.items():
            info = infos[name]
            visible = _Visible(self, info.visibility)
            try:
                self.expanded_macros[name] = expanded = self._expand(expr, refs[name], visible, name)
                self.cache.describe_macro(expanded)
            except ToolError as exc:
                self.broken_macros.add(name)
                if exc.macro is None or exc.macro not in self.broken_macros or exc.macro == name:
                    self._guard(self._macro_error(exc, expr, conditions[name], info))
                continue
            self.used_macros.update(refs[name])

    def _expand(self, expr: Expr, refs: tuple[str, ...], visible: Mapping[str, Expr],
                name: str | None) -> Expr:
        """``expr`` (naming macros ``refs``) expanded with the visible macros; records the size
        of macro ``name``."""
        limit = self.options.max_macro_nodes
        expanded = self.expanded_macros
        resolved = {r: expanded[r] for r in refs if r in expanded and r in visible and r != name}
        fast = self.cache.expand(expr, refs, resolved, self.macro_sizes, limit)
        if fast is not None:
            result, size = fast
        else:
            result = expand_macros(expr, visible, max_nodes=limit)
            size = expanded_size(result)
        if name is not None:
            self.macro_sizes[name] = size
        return result

    def _macro_error(self, exc: ToolError, expr: Expr, cond: _Condition,
                     info: MacroInfo | RuleInfo) -> RuleLoadError:
        """A macro resolution error placed at the offending reference of the condition as written."""
        offset = None
        if exc.macro is not None:
            for node in walk(expr):
                if isinstance(node, MacroRef) and node.name == exc.macro:
                    offset = span_start(node)
                    break
        if offset is None and exc.macro is None:
            offset = exc.offset
        return RuleLoadError(codes.LOAD_ERR_VALIDATE, exc.message, cond.context_at(offset))

    # rules ------------------------------------------------------------------------------

    def _compile_rules(self) -> None:
        for info in self.col.rules.values():
            if info.unknown_source:
                continue
            try:
                rule = self._compile_rule(info)
            except RuleLoadError as exc:
                self._guard(exc)
                continue
            if rule is not None:
                self.rules.append(rule)

    def _output(self, info: RuleInfo) -> tuple[str, tuple[tuple[str, str], ...]] | None:
        """The output with engine extras and ``%container.info`` handled; ``None`` = skip the rule."""
        output = info.output.text
        for extra in self.options.extra_outputs:
            if extra.applies(info.name, info.source, info.tags):
                output = f"{output} {extra.format}"
        if _CONTAINER_INFO in output:
            self.result.add_warning(codes.LOAD_DEPRECATED_ITEM, codes.WARNING_CONTAINER_INFO, info.ctx)
            output = output.replace(_CONTAINER_INFO, "")
        extra_fields = tuple(
            (f.key, f.format) for f in self.options.extra_output_fields
            if f.applies(info.name, info.source, info.tags)
        )
        try:
            self.cache.check_output(output, info.source)
        except ToolError as exc:
            ctx = info.output.context_at(exc.offset or 0, codes.RULE_OUTPUT_EXPRESSION)
            if _is_unknown_error(exc.message) and info.skip_if_unknown_filter:
                self.result.add_warning(codes.LOAD_UNKNOWN_FILTER, exc.message, ctx)
                return None
            raise RuleLoadError(codes.LOAD_ERR_COMPILE_OUTPUT, exc.message, ctx) from None
        self._deprecated_output_fields(output, info)
        for _, fmt in extra_fields:
            try:
                self.cache.check_output(fmt, info.source)
            except ToolError as exc:
                raise RuleLoadError(codes.LOAD_ERR_COMPILE_OUTPUT, exc.message,
                                    info.output.context_at(0, codes.RULE_OUTPUT_EXPRESSION)) from None
            self._deprecated_output_fields(fmt, info)
        return output, extra_fields

    def _deprecated_output_fields(self, output: str, info: RuleInfo) -> None:
        for name in codes.DEPRECATED_FIELDS:
            at = output.find(name)
            if at != -1:
                self.result.add_warning(
                    codes.LOAD_DEPRECATED_ITEM,
                    f"usage of deprecated field '{name}' has been detected in the rule output",
                    info.output.context_at(at, codes.RULE_OUTPUT_EXPRESSION))

    def _compile_rule(self, info: RuleInfo) -> CompiledRule | None:
        written = build_condition(info.cond, info.exceptions)
        built = self._output(info)
        if built is None:
            return None
        output, extra_fields = built
        cond = _Condition(written, self._substitute(written.text))
        try:
            parsed_refs = self.cache.parse(cond.substituted.text)
        except ToolError as exc:
            raise RuleLoadError(codes.LOAD_ERR_COMPILE_CONDITION, exc.message,
                                cond.context_at(exc.offset)) from None
        parsed, refs = parsed_refs.expr, parsed_refs.refs
        if self.broken_macros and not self.broken_macros.isdisjoint(refs):
            return None  # the macro's own error is already reported
        try:
            expr = self._expand(parsed, refs, self.expanded_macros, None)
        except ToolError as exc:
            raise self._macro_error(exc, parsed, cond, info) from None
        self.used_macros.update(refs)
        facts = self.cache.facts(expr)
        self._condition_warnings(parsed, facts, cond)
        printed = facts.printed
        try:
            compiled, warnings = self.cache.compile(expr, printed, info.source, cond.substituted.text)
        except ToolError as exc:
            ctx = cond.context_at(exc.offset)
            if info.skip_if_unknown_filter and (exc.unknown_field or _is_unknown_error(exc.message)):
                self.result.add_warning(codes.LOAD_UNKNOWN_FILTER, exc.message, ctx)
                return None
            raise RuleLoadError(codes.LOAD_ERR_COMPILE_CONDITION, exc.message, ctx) from None
        for w in warnings:
            offset = w.offset if w.offset is not None else _quoted_offset(w.message, cond.substituted.text)
            self.result.add_warning(codes.LOAD_COMPILE_CONDITION, w.message, cond.context_at(offset))
        evttypes: frozenset[str] | None = compiled.evttypes
        if info.source == "syscall" and info.warn_evttypes and (
                evttypes is None or len(evttypes) > _MANY_EVTTYPES):
            self.result.add_warning(codes.LOAD_NO_EVTTYPE, codes.WARNING_NO_EVTTYPE, info.ctx)
        public_exceptions, fields = self.cache.exceptions(info.exceptions)
        return CompiledRule(
            name=info.name,
            desc=info.desc,
            condition=info.cond.text,
            condition_compiled=printed,
            expr=expr,
            compiled=compiled,
            output=output,
            priority=info.priority,
            source=info.source,
            tags=info.tags,
            enabled=info.enabled,
            evttypes=evttypes,
            file=info.ctx.item.file,
            line=info.ctx.item.line,
            skip_if_unknown_filter=info.skip_if_unknown_filter,
            warn_evttypes=info.warn_evttypes,
            capture=info.capture,
            capture_duration=info.capture_duration,
            exceptions=public_exceptions,
            exception_fields=fields,
            extra_output_fields=extra_fields,
            id=len(self.rules),
        )

    # condition warnings (filter_warning_resolver) -----------------------------------------

    def _condition_warnings(self, parsed: Expr, facts: _Facts, cond: _Condition) -> None:
        if facts.unsafe_na:
            self.result.add_warning(codes.LOAD_UNSAFE_NA_CHECK, "", cond.context_at(None))
        for name in sorted(facts.deprecated, key=list(codes.DEPRECATED_FIELDS).index):
            self.result.add_warning(codes.LOAD_DEPRECATED_ITEM, codes.DEPRECATED_FIELDS[name],
                                    cond.context_at(self._field_origin(parsed, name)))

    def _field_origin(self, parsed: Expr, name: str) -> int | None:
        """Where the rule condition as written uses ``name``: the field itself or a macro that does."""
        for node in walk(parsed):
            if isinstance(node, FieldRef) and node.name == name:
                return span_start(node)
            if isinstance(node, MacroRef):
                body = self.expanded_macros.get(node.name)
                if body is not None and any(isinstance(n, FieldRef) and n.name == name
                                            for n in walk(body)):
                    return span_start(node)
        return None

    # unused -----------------------------------------------------------------------------

    def _unused_warnings(self) -> None:
        for name, minfo in self.col.macros.items():
            if name not in self.used_macros:
                self.result.add_warning(codes.LOAD_UNUSED_MACRO, codes.WARNING_UNUSED_MACRO, minfo.ctx)
        for name, linfo in self.col.lists.items():
            if name not in self.used_lists:
                self.result.add_warning(codes.LOAD_UNUSED_LIST, codes.WARNING_UNUSED_LIST, linfo.ctx)


def _warning_causes(expr: Expr, known: Mapping[int, _Facts]) -> tuple[tuple[str, ...], bool]:
    """The deprecated fields ``expr`` uses and whether it compares a ``ka.*`` field with ``<NA>``.

    ``known`` holds what subtrees (expanded macros) were already found to use, by ``id``.
    """
    deprecated: set[str] = set()
    unsafe = False
    stack: list[Node] = [expr]
    while stack:
        node = stack.pop()
        kind = node.__class__
        if kind is And or kind is Or or kind is Not:
            facts = known.get(id(node))
            if facts is not None:
                deprecated.update(facts.deprecated)
                unsafe = unsafe or facts.unsafe_na
            else:
                stack.extend(children(node))
        elif kind is BinaryCheck:
            if not unsafe:
                unsafe = _unsafe_na_check(node)  # type: ignore[arg-type]
            stack.append(node.left)  # type: ignore[union-attr]
            stack.append(node.right)  # type: ignore[union-attr]
        elif kind is FieldRef:
            if node.name in codes.DEPRECATED_FIELDS:  # type: ignore[union-attr]
                deprecated.add(node.name)  # type: ignore[union-attr]
        elif kind is Value or kind is ListValue or kind is MacroRef:
            continue
        else:
            stack.extend(children(node))
    return tuple(deprecated), unsafe


def _quoted_offset(message: str, text: str) -> int | None:
    """Where the value a compiler warning quotes (``'proc.pname' may be ...``) is in the condition."""
    start = message.find("'")
    end = message.find("'", start + 1)
    if start == -1 or end <= start + 1:
        return None
    at = text.find(message[start + 1:end])
    return None if at == -1 else at


def _last_field(node: Node) -> FieldRef | None:
    found: FieldRef | None = None
    for n in walk(node):
        if isinstance(n, FieldRef):
            found = n
    return found


def _unsafe_na_check(check: BinaryCheck) -> bool:
    """A ``ka.*``/``jevt.*`` field compared for equality with ``<NA>``."""
    left = _last_field(check.left) if isinstance(check.left, Transform) else check.left
    if not isinstance(left, FieldRef) or not left.name.startswith(_UNSAFE_PREFIXES):
        return False
    if check.op not in _EQUALITY_OPS:
        return False
    right = check.right
    if isinstance(right, Value):
        return right.text == "<NA>"
    if isinstance(right, ListValue):
        return "<NA>" in right.items
    return False


def _public_exception(ex: ExceptionInfo) -> RuleException:
    return RuleException(
        name=ex.name,
        fields=ex.fields.as_plain(),
        comps=ex.comps.as_plain(),
        values=tuple(v.as_plain() for v in ex.values),
    )
