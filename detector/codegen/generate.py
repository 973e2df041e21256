"""Python source generation for a checked condition.

The generated module defines ``_match(ev)``.  Constants are bound once into the
module namespace (frozensets for ``in``, tuples for prefix chains, compiled
RE2/glob matchers); each field is read from the event at most once per call:
fields every path reads are loaded by plain statements up front, the others
through a sentinel (``_U``) on first use.  A top-level ``and``/``or`` becomes a
sequence of early returns.  Subtrees deeper than ``SPLIT_DEPTH`` go into helper
functions so Python's own compiler never sees deeply nested expressions
(a helper reads the fields it needs itself).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from detector.codegen.check import (
    CAnd,
    CExpr,
    Check,
    CNot,
    ConstOperand,
    COr,
    FieldOperand,
    ListOperand,
    Operand,
    TransformOperand,
)
from detector.fields import operators as ops
from detector.fields.registry import BoundField
from detector.fields.types import NET_TYPES, Family, FieldType, family, int_range, int_spec

SPLIT_DEPTH = 24
# Modifier lists up to this size are unrolled inline; longer ones loop in a helper.
_INLINE_MODIFIER = 4


class FieldNotDecoded(Exception):
    """Struct mode: the code needs a field the struct was not given (the caller decodes in full)."""


def _not_decoded(key: str) -> Any:
    raise FieldNotDecoded(key)


@dataclass(frozen=True, slots=True)
class StructLayout:
    """How a struct-mode event holds fields: ``attrs`` maps a key to its attribute; keys in
    ``raw`` hold the raw JSON scalar (typed by the generated code), the others the field's typed
    value already (see ``struct_exact``)."""

    attrs: Mapping[str, str]
    raw: frozenset[str] = frozenset()
    # Derived fields (by key) computed from these attributes only, each holding a string or
    # None: checks on them are memoised on those values (``MEMO_LIMIT`` entries per check).
    derived: Mapping[str, tuple[str, ...]] = field(default_factory=dict)


MEMO_LIMIT = 4096


@dataclass(frozen=True, slots=True)
class Generated:
    source: str
    namespace: dict[str, Any]
    keys: tuple[str, ...]


class _Module:
    def __init__(self, struct: StructLayout | None = None) -> None:
        # Struct mode: the event is a decoded struct with one attribute per key; otherwise it is
        # a mapping read with ``.get``.
        self.struct = struct
        self.namespace: dict[str, Any] = {"_U": _UNSET}
        self.const_notes: list[str] = []
        self.helpers: list[str] = []
        self._counter = 0
        self._loaders: dict[str, str] = {}
        self._const_ids: dict[tuple[type, Any], str] = {}
        self.keys: dict[str, None] = {}

    def fresh(self, prefix: str) -> str:
        self._counter += 1
        return f"{prefix}{self._counter}"

    def const(self, value: Any, prefix: str = "K", note: str | None = None) -> str:
        try:
            ident: tuple[type, Any] | None = (type(value), value)
            hash(ident)
        except TypeError:
            ident = None
        if ident is not None and ident in self._const_ids:
            return self._const_ids[ident]
        name = self.fresh(prefix)
        self.namespace[name] = value
        shown = note if note is not None else _short_repr(value)
        self.const_notes.append(f"# {name} = {shown}")
        if ident is not None:
            self._const_ids[ident] = name
        return name

    def loader(self, bound: BoundField) -> str:
        """Name of a module-level function ``(ev) -> value`` for a field (one per key)."""
        found = self._loaders.get(bound.key)
        if found is not None:
            return found
        loader = bound.loader
        if loader.kind == "derived":
            assert loader.fn is not None
            name = self.const(loader.fn, "_f", note=f"<derived {bound.key}>")
        else:
            name = self.fresh("_ld")
            lines = [f"def {name}(ev):", f"    v = {self.raw_read(bound, 'ev.get')}"]
            lines.extend("    " + line for line in self.normalize_lines("v", bound))
            lines.append("    return v")
            self.helpers.append("\n".join(lines))
        self._loaders[bound.key] = name
        return name

    def raw_read(self, bound: BoundField, getter: str) -> str:
        """Code reading the raw value of a plain field: ``getter(key)``, or an attribute in struct
        mode (a key the struct lacks raises ``FieldNotDecoded``)."""
        key = bound.loader.key
        if self.struct is not None:
            attr = self.struct.attrs.get(key)
            if attr is None:
                return f"{self.const(_not_decoded, '_nd', note='<raise FieldNotDecoded>')}({key!r})"
            return f"ev.{attr}"
        return f"{getter}({key!r})"

    def exact_attribute(self, bound: BoundField) -> str | None:
        """In struct mode, ``ev.<attr>`` when the struct already holds the field's typed value."""
        struct = self.struct
        key = bound.loader.key
        if struct is None or not struct_exact(bound) or key in struct.raw or key not in struct.attrs:
            return None
        return f"ev.{struct.attrs[key]}"

    def normalize_lines(self, var: str, bound: BoundField) -> list[str]:
        """Statements turning a raw ``var`` into the field's typed value."""
        loader = bound.loader
        assert loader.coerce is not None
        coerce = self.const(loader.coerce, "_c", note=f"<coerce {bound.type.value}>")
        bounds = int_range(bound.type)
        if bound.is_list or (loader.native is None and bounds is None):
            return [f"if {var} is not None:", f"    {var} = {coerce}({var})"]
        if bounds is not None:
            low, high = bounds
            return [
                f"if {var} is not None and ({var}.__class__ is not int or not {low} <= {var} <= {high}):",
                f"    {var} = {coerce}({var})",
            ]
        native = self.const(loader.native, "_T", note=loader.native.__name__ if loader.native else None)
        return [f"if {var} is not None and {var}.__class__ is not {native}:", f"    {var} = {coerce}({var})"]


class _Unset:
    __slots__ = ()

    def __repr__(self) -> str:
        return "_U"


_UNSET = _Unset()


def _short_repr(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 100 else text[:97] + "..."


class _Function:
    """One generated function: its statements and which field variables it holds."""

    def __init__(self, module: _Module, name: str) -> None:
        self.module = module
        self.name = name
        self.lines: list[str] = []
        self.vars: dict[str, str] = {}
        self.loaded: set[str] = set()
        self.lazy: set[str] = set()
        self.uses_get = False

    def var_for(self, bound: BoundField) -> str:
        var = self.vars.get(bound.key)
        if var is None:
            var = f"v{len(self.vars)}"
            self.vars[bound.key] = var
            self.module.keys[bound.key] = None
        return var

    def field_expr(self, bound: BoundField) -> str:
        exact = self.module.exact_attribute(bound)
        if exact is not None:
            return exact
        var = self.var_for(bound)
        if var in self.loaded:
            return var
        self.lazy.add(var)
        loader = self.module.loader(bound)
        return f"({var} if {var} is not _U else ({var} := {loader}(ev)))"

    def preload(self, bound: BoundField) -> None:
        if self.module.exact_attribute(bound) is not None:
            return
        var = self.var_for(bound)
        if var in self.loaded:
            return
        body: list[str]
        if bound.loader.kind == "derived":
            body = [f"{var} = {self.module.loader(bound)}(ev)"]
        else:
            self.uses_get = self.module.struct is None
            body = [f"{var} = {self.module.raw_read(bound, '_get')}", *self.module.normalize_lines(var, bound)]
        if var in self.lazy:
            self.lines.append(f"if {var} is _U:")
            self.lines.extend("    " + line for line in body)
        else:
            self.lines.extend(body)
        self.loaded.add(var)

    def source(self, extra_init: Sequence[str] = (), init_at: int | None = None) -> str:
        """The function's text.  Lazy variables are set to ``_U`` at the top, or before line
        ``init_at`` when the lines before it never use them (their early returns skip the cost)."""
        head = [f"def {self.name}(ev):"]
        if self.uses_get:
            head.append("    _get = ev.get")
        inits = []
        if self.lazy:
            inits.append(" = ".join(sorted(self.lazy)) + " = _U")
        if extra_init:
            inits.append(" = ".join(extra_init) + " = _U")
        lines = list(self.lines)
        at = 0 if init_at is None else init_at
        lines[at:at] = inits
        return "\n".join(head + ["    " + line for line in lines])


def struct_exact(bound: BoundField) -> bool:
    """Whether a struct field declared with the field's own type (``str``, ``bool``, an integer
    range) holds exactly the typed value: true for plain scalar fields of those types."""
    if bound.loader.kind != "plain" or bound.is_list:
        return False
    return bound.loader.native in (str, bool) or int_spec(bound.type) is not None


def _certain_fields(node: CExpr) -> Iterator[BoundField]:
    """Fields read whenever ``node`` is evaluated (the left operand of its first check)."""
    while not isinstance(node, Check):
        node = node.children[0] if isinstance(node, CAnd | COr) else node.child
    if isinstance(node.lhs, FieldOperand):
        yield node.lhs.bound


class Generator:
    """Python source for checked conditions.

    ``shared`` maps ``id()`` of nodes evaluated more than once per call to a variable that
    memoises their value inside ``main`` (the bucket function); ``timers`` maps ``id()`` of
    nodes to a slot of the profiling accumulators (``_acc``/``_cnt``): such a node becomes a
    helper that adds its own running time.
    """

    def __init__(self, struct: StructLayout | None = None) -> None:
        self.module = _Module(struct)
        self._tmp = 0
        self.shared: dict[int, str] = {}
        self.timers: dict[int, int] = {}
        self.main: _Function | None = None
        self._memoising = False

    def temp(self) -> str:
        self._tmp += 1
        return f"t{self._tmp}"

    # -- functions -----------------------------------------------------------------------------

    def function(self, name: str, root: CExpr) -> str:
        fn = _Function(self.module, name)
        if isinstance(root, CAnd | COr):
            is_and = isinstance(root, CAnd)
            for child in root.children:
                for bound in _certain_fields(child):
                    fn.preload(bound)
                code = self.expr(child, fn, 1)
                if is_and:
                    fn.lines.append(f"if not ({code}):")
                    fn.lines.append("    return False")
                else:
                    fn.lines.append(f"if {code}:")
                    fn.lines.append("    return True")
            fn.lines.append("return True" if is_and else "return False")
        else:
            for bound in _certain_fields(root):
                fn.preload(bound)
            fn.lines.append(f"return {self.expr(root, fn, 0)}")
        return fn.source()

    def helper(self, node: CExpr) -> str:
        name = self.module.fresh("_h")
        self.module.helpers.append(self.function(name, node))
        return name

    # -- boolean structure ---------------------------------------------------------------------

    def expr(self, node: CExpr, fn: _Function, depth: int) -> str:
        if self.timers and id(node) in self.timers:
            return f"{self.timed_helper(node)}(ev)"
        memo = self.shared.get(id(node)) if fn is self.main else None
        code = self.plain_expr(node, fn, depth)
        if memo is None:
            return code
        return f"({memo} if {memo} is not _U else ({memo} := {code}))"

    def timed_helper(self, node: CExpr) -> str:
        slot = self.timers.pop(id(node))
        try:
            inner = self.helper(node)
        finally:
            self.timers[id(node)] = slot
        name = self.module.fresh("_pt")
        self.module.helpers.append("\n".join([
            f"def {name}(ev):",
            "    t0 = _clock()",
            f"    r = {inner}(ev)",
            f"    _acc[{slot}] += _clock() - t0",
            f"    _cnt[{slot}] += 1",
            "    return r",
        ]))
        return name

    def plain_expr(self, node: CExpr, fn: _Function, depth: int) -> str:
        if isinstance(node, Check):
            return self.check(node, fn)
        if depth >= SPLIT_DEPTH:
            return f"{self.helper(node)}(ev)"
        if isinstance(node, CNot):
            return f"not ({self.expr(node.child, fn, depth + 1)})"
        joiner = " and " if isinstance(node, CAnd) else " or "
        if not node.children:
            return "True" if isinstance(node, CAnd) else "False"
        return joiner.join(f"({self.expr(c, fn, depth + 1)})" for c in node.children)

    # -- operands ------------------------------------------------------------------------------

    def operand(self, operand: Operand, fn: _Function) -> str:
        if isinstance(operand, FieldOperand):
            return fn.field_expr(operand.bound)
        if isinstance(operand, ConstOperand):
            return self.module.const(operand.value)
        if isinstance(operand, ListOperand):
            items = ", ".join(self.operand(i, fn) for i in operand.items)
            return f"{self.module.const(ops.make_list, '_mklist', note='<make_list>')}({items})"
        return self.transform(operand, fn)

    def transform(self, operand: TransformOperand, fn: _Function) -> str:
        args = [self.operand(a, fn) for a in operand.args]
        const = self.module.const
        if operand.name == "join":
            return f"{const(ops.join, '_join', note='<join>')}({', '.join(args)})"
        if operand.name == "concat":
            return f"{const(ops.concat, '_concat', note='<concat>')}({', '.join(args)})"
        if operand.name == "getopt":
            selector = const(operand.selector)
            return f"{const(ops.getopt, '_getopt', note='<getopt>')}({args[0]}, {args[1]}, {selector})"
        inner = operand.args[0]
        apply = functools.partial(ops.apply_transformer, operand.name, is_list=inner.is_list)
        name = const(apply, "_tr", note=f"<{operand.name}{'[]' if inner.is_list else ''}>")
        return f"{name}({args[0]})"

    # -- checks ----------------------------------------------------------------------------------

    def check(self, check: Check, fn: _Function) -> str:
        inputs = self.memo_inputs(check)
        if inputs is not None:
            return f"{self.memo_helper(check, inputs)}(ev)"
        lhs = self.operand(check.lhs, fn)
        if check.op == "exists":
            return f"{lhs} is not None"
        var, test = self.bind_value(lhs, fn)
        multi = check.lhs.bound.multi if isinstance(check.lhs, FieldOperand) else None
        if check.rhs is not None:
            rhs = self.operand(check.rhs, fn)
            rvar = self.temp()
            compare = functools.partial(ops.compare_field, check.op, check.lhs.ftype, check.lhs.is_list)
            cmp_name = self.module.const(compare, "_cmp", note=f"<compare_field {check.op}>")
            return f"{test} and ({rvar} := {rhs}) is not None and {cmp_name}({var}, {rvar})"
        if multi is not None:
            cond = self.multi_helper(check, multi)
            return f"{test} and {cond}({var})"
        return f"{test} and {self.condition(check, var)}"

    def memo_inputs(self, check: Check) -> tuple[str, ...] | None:
        """Struct mode: the attributes a check on a derived field depends on, when it may be
        memoised on them (derived fields such as ``fd.ip`` parse addresses: costly, repetitive)."""
        struct = self.module.struct
        if struct is None or self._memoising or check.rhs is not None or not isinstance(check.lhs, FieldOperand):
            return None
        return struct.derived.get(check.lhs.bound.key)

    def memo_helper(self, check: Check, inputs: tuple[str, ...]) -> str:
        self._memoising = True
        try:
            inner = self.helper(check)
        finally:
            self._memoising = False
        table = self.module.const({}, "_memo", note="<memo table>")
        name = self.module.fresh("_mc")
        key = "(" + ", ".join(f"ev.{a}" for a in inputs) + ("," if len(inputs) == 1 else "") + ")"
        self.module.helpers.append("\n".join([
            f"def {name}(ev):",
            f"    k = {key}",
            f"    r = {table}.get(k, _U)",
            "    if r is _U:",
            f"        r = {inner}(ev)",
            f"        if len({table}) < {MEMO_LIMIT}:",
            f"            {table}[k] = r",
            "    return r",
        ]))
        return name

    def bind_value(self, expr: str, fn: _Function) -> tuple[str, str]:
        """A name holding the value of ``expr`` and the test that it is present."""
        if expr.isidentifier():
            return expr, f"{expr} is not None"
        var = self.temp()
        return var, f"({var} := {expr}) is not None"

    def multi_helper(self, check: Check, mode: str) -> str:
        """A function over the candidate values: any of them (all of them for ``!=`` on sockets)."""
        name = self.module.fresh("_m")
        cond = self.condition(check, "v")
        if mode == "socket" and check.op == "!=":
            body = [f"def {name}(cands):", "    for v in cands:", f"        if not ({cond}):",
                    "            return False", "    return True"]
        else:
            body = [f"def {name}(cands):", "    for v in cands:", f"        if {cond}:",
                    "            return True", "    return False"]
        self.module.helpers.append("\n".join(body))
        return name

    def condition(self, check: Check, var: str) -> str:
        """A boolean expression on a present value ``var`` for a check with literal right-hand values."""
        ftype = check.lhs.ftype
        op = check.op
        values = check.values
        const = self.module.const
        if check.lhs.is_list:
            members = const(frozenset(values))
            if op == "in":
                return f"{members}.issuperset({var})"
            return f"not {members}.isdisjoint({var})"
        if op in ("in", "intersects"):
            if ftype in NET_TYPES:
                return f"{const(ops.nets_matcher(values), '_nets', note=repr(values))}({var})"
            if len(values) == 1:
                return f"{var} == {const(values[0])}"
            return f"{var} in {const(frozenset(values))}"
        if op == "pmatch":
            matcher = ops.compile_pmatch(values)
            return f"{const(matcher, '_pm', note=f'<pmatch {values!r}>')}({var})"
        if check.modifier is None:
            return self.single(op, ftype, var, values[0])
        return self.modified(check, var)

    def prepared(self, op: str, ftype: FieldType, value: Any) -> Any:
        """The right-hand value in the form the operator's code wants."""
        if ftype in NET_TYPES:
            return ops.net_matcher(value)
        if op == "icontains":
            return ops.ascii_lower(value)
        if op == "glob":
            return ops.compile_glob(value)
        if op == "iglob":
            return ops.compile_glob(value, True)
        if op == "regex":
            return ops.compile_regex(value)
        return value

    def single(self, op: str, ftype: FieldType, var: str, value: Any) -> str:
        prepared = self.prepared(op, ftype, value)
        note = f"<matcher {op} {value!r}>" if callable(prepared) else None
        k = self.module.const(prepared, "K", note=note)
        return _template(op, ftype)(var, k)

    def modified(self, check: Check, var: str) -> str:
        op, ftype, values, modifier = check.op, check.lhs.ftype, check.values, check.modifier
        const = self.module.const
        if not values:
            return "False"
        plain_equality = ftype not in NET_TYPES and family(ftype) is not Family.OTHER
        if plain_equality and modifier == "anyof" and op in ops.EQ_OPS:
            return f"{var} in {const(frozenset(values))}"
        if plain_equality and modifier == "allof" and op == "!=":
            return f"{var} not in {const(frozenset(values))}"
        if plain_equality and modifier == "anyof" and op == "startswith" and family(ftype) is Family.STRING:
            return f"{var}.startswith({const(tuple(values))})"
        if plain_equality and modifier == "anyof" and op == "endswith" and family(ftype) is Family.STRING:
            return f"{var}.endswith({const(tuple(values))})"
        template = _template(op, ftype)
        prepared = [self.prepared(op, ftype, v) for v in values]
        if len(prepared) <= _INLINE_MODIFIER:
            conds = [f"({template(var, const(p, 'K', note=_note(op, v, p)))})" for p, v in zip(prepared, values, strict=True)]
            if modifier == "anyof":
                return "(" + " or ".join(conds) + ")"
            if modifier == "allof":
                return "(" + " and ".join(conds) + ")"
            return "(" + " + ".join(conds) + " == 1)"
        name = self.module.fresh("_mod")
        items = const(tuple(prepared), "K", note=_short_repr(tuple(values)))
        cond = template("v", "k")
        if modifier == "anyof":
            body = ["    for k in " + items + ":", f"        if {cond}:", "            return True", "    return False"]
        elif modifier == "allof":
            body = ["    for k in " + items + ":", f"        if not ({cond}):", "            return False",
                    "    return True"]
        else:
            body = ["    n = 0", "    for k in " + items + ":", f"        if {cond}:", "            n += 1",
                    "            if n > 1:", "                return False", "    return n == 1"]
        self.module.helpers.append("\n".join([f"def {name}(v):", *body]))
        return f"{name}({var})"


def _note(op: str, value: Any, prepared: Any) -> str | None:
    return f"<matcher {op} {value!r}>" if callable(prepared) else None


def _template(op: str, ftype: FieldType) -> Callable[[str, str], str]:
    """``(value, constant) -> code`` for one operator on one right-hand value."""
    if ftype in NET_TYPES:
        if op == "!=":
            return lambda v, k: f"not {k}({v})"
        return lambda v, k: f"{k}({v})"
    if op in ops.EQ_OPS:
        return lambda v, k: f"{v} == {k}"
    if op == "!=":
        return lambda v, k: f"{v} != {k}"
    if op in ops.ORDER_OPS:
        return lambda v, k: f"{v} {op} {k}"
    if op in ("contains", "bcontains"):
        return lambda v, k: f"{k} in {v}"
    if op == "icontains":
        return lambda v, k: f"{k} in _alower({v})"
    if op in ("startswith", "bstartswith"):
        return lambda v, k: f"{v}.startswith({k})"
    if op == "endswith":
        return lambda v, k: f"{v}.endswith({k})"
    if op in ("glob", "iglob", "regex"):
        return lambda v, k: f"{k}({v})"
    raise ValueError(f"no code for operator {op}")


def generate(root: CExpr, name: str = "_match") -> Generated:
    """Python source defining ``name(ev) -> bool`` for ``root``, and its namespace."""
    gen = Generator()
    gen.module.namespace["_alower"] = ops.ascii_lower
    main = gen.function(name, root)
    module = gen.module
    parts = ["\n".join(module.const_notes), *module.helpers, main]
    return Generated("\n\n".join(p for p in parts if p) + "\n", module.namespace, tuple(module.keys))
