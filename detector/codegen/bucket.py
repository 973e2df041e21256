"""One function per (source, event type) evaluating every rule of that type at once.

``generate_bucket`` takes the checked conditions of the rules an event type can
match, in load order, and writes ``_bucket(ev) -> int``: a bit mask with bit
``i`` set when rule ``i`` matches.  Falco's ``rule_matching`` is then a matter
of picking the lowest bit (``first``) or every bit (``all``).

What makes it faster than calling each rule's function in turn:

* the event type is known inside a bucket, so checks that read only
  ``evt.type`` are decided at generation time and folded away (``open_read``'s
  ``evt.type in (open, openat, openat2)`` disappears from the ``openat``
  bucket, a rule whose type checks turn false for this type is dropped);
* identical subtrees (macros such as ``spawned_process``, ``container``,
  ``open_write``, or any repeated check) are recognised structurally;
  conjuncts shared by several rules become one ``if`` guarding all of them
  (chosen greedily, most shared first), and subtrees used more than once are
  evaluated at most once per event (a memo variable);
* every field is read from the event once per call;
* most rules of a type have a selective condition that must hold, such as
  ``fd.name in (...)``, ``proc.name = x`` or ``fd.name startswith /etc``.  The
  function first reads those fields and looks their values up in tables built
  at generation time (dictionaries of values, ``startswith``/``endswith``
  tuples), giving the set of rules still possible; an event for which it is
  empty (most events) costs a few lookups, and the others evaluate only the
  possible rules.

Conditions are pure, so evaluating their conjuncts in another order or once
instead of several times gives the same booleans; the bit mask holds every
match, so both ``rule_matching`` modes see the same set of rules as rule-by-rule
evaluation.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from detector.codegen.check import CAnd, CExpr, Check, CNot, COr, FieldOperand, deep_recursion
from detector.codegen.codecache import compile_cached
from detector.codegen.generate import Generator, StructLayout, _certain_fields, _Function
from detector.fields import operators as ops
from detector.fields.registry import BoundField
from detector.fields.types import STRING_TYPES, Family, family, int_spec

# Conjunct groups nest at most this deep (each level is one indentation of the generated code).
MAX_GROUP_DEPTH = 24
# A rule whose condition is a constant after folding: always true / never true.
Folded = CExpr | bool


@dataclass(frozen=True, slots=True)
class BucketSource:
    """Generated code for one bucket: ``source`` defines ``name``; ``fields`` are the bound fields
    it reads (for declaring a struct); ``live`` the positions of rules that can still match."""

    source: str
    namespace: dict[str, Any]
    name: str
    fields: tuple[BoundField, ...]
    live: tuple[int, ...]
    dims: tuple[tuple[str, ...], ...] = ()


def is_type_check(check: Check) -> bool:
    """A check whose value depends on nothing but the event's ``evt.type``."""
    lhs = check.lhs
    return (
        isinstance(lhs, FieldOperand)
        and lhs.bound.loader.kind == "plain"
        and lhs.bound.loader.key == "evt.type"
        and not lhs.bound.is_list
        and check.rhs is None
    )


class TypeFolder:
    """Decides ``evt.type`` checks for a known type, by running each check's own generated code
    on an event holding only that type (so the answer is the generated code's, by construction)."""

    def __init__(self) -> None:
        self._compiled: dict[Any, Any] = {}
        self.check_ids = CheckIds()  # shared by the buckets folded with this folder

    def decide(self, check: Check, evttype: str) -> bool:
        fn = self._compiled.get(check.node)
        if fn is None:
            gen = Generator()
            source = gen.function("_match", check)
            module = gen.module
            text = "\n\n".join(p for p in ("\n".join(module.const_notes), *module.helpers, source) if p)
            namespace = module.namespace
            exec(compile_cached(text, "<type check>"), namespace)
            fn = self._compiled[check.node] = namespace["_match"]
        return bool(fn({"evt.type": evttype}))

    def fold(self, node: CExpr, evttype: str) -> Folded:
        with deep_recursion(_depth_hint(node)):
            return self._fold(node, evttype)

    def _fold(self, node: CExpr, evttype: str) -> Folded:
        if isinstance(node, Check):
            return self.decide(node, evttype) if is_type_check(node) else node
        if isinstance(node, CNot):
            child = self._fold(node.child, evttype)
            if isinstance(child, bool):
                return not child
            return node if child is node.child else CNot(child)
        is_and = isinstance(node, CAnd)
        kept: list[CExpr] = []
        changed = False
        for c in node.children:
            folded = self._fold(c, evttype)
            if isinstance(folded, bool):
                changed = True
                if folded != is_and:
                    return folded  # false in an and, true in an or
                continue
            changed = changed or folded is not c
            kept.append(folded)
        if not kept:
            return is_and
        if len(kept) == 1:
            return kept[0]
        if not changed:
            return node
        return CAnd(tuple(kept)) if is_and else COr(tuple(kept))


def _depth_hint(node: CExpr) -> int:
    best = 0
    stack: list[tuple[CExpr, int]] = [(node, 1)]
    while stack:
        n, d = stack.pop()
        best = max(best, d)
        if isinstance(n, CAnd | COr):
            stack.extend((c, d + 1) for c in n.children)
        elif isinstance(n, CNot):
            stack.append((n.child, d + 1))
    return best


class CheckIds:
    """Structural ids of the checks' syntax nodes, shared by the buckets of an engine.

    Interning a bucket's subtrees keys each check by its syntax node, whose structural hash
    walks the whole node (a list of 200 names included); the same nodes come back in the
    buckets of every event type, so the hash is taken once per node object.  Bounded by the
    number of check nodes in the ruleset.
    """

    def __init__(self) -> None:
        self._by_id: dict[int, tuple[Any, int]] = {}  # the node is kept: its id stays its own
        self._by_node: dict[Any, int] = {}

    def of(self, node: Any) -> int:
        found = self._by_id.get(id(node))
        if found is not None:
            return found[1]
        sid = self._by_node.setdefault(node, len(self._by_node))
        self._by_id[id(node)] = (node, sid)
        return sid


class _Interner:
    """Structural identity of subtrees: equal subtrees (same checks, same shape) get one id."""

    def __init__(self, ids: CheckIds | None = None) -> None:
        self._check_ids = ids if ids is not None else CheckIds()
        self._ids: dict[Any, int] = {}
        self.of: dict[int, int] = {}  # id(node) -> structural id
        self.nodes: dict[int, CExpr] = {}  # structural id -> first node seen

    def intern(self, root: CExpr) -> int:
        # Post-order without recursion: conditions can nest deeply.
        stack: list[tuple[CExpr, bool]] = [(root, False)]
        while stack:
            node, done = stack.pop()
            if id(node) in self.of:
                continue
            if isinstance(node, Check):
                key: Any = ("c", self._check_ids.of(node.node), node.op, node.modifier)
            elif not done:
                stack.append((node, True))
                kids = node.children if isinstance(node, CAnd | COr) else (node.child,)
                stack.extend((k, False) for k in kids)
                continue
            elif isinstance(node, CNot):
                key = ("n", self.of[id(node.child)])
            else:
                key = ("a" if isinstance(node, CAnd) else "o", tuple(self.of[id(c)] for c in node.children))
            sid = self._ids.get(key)
            if sid is None:
                sid = self._ids[key] = len(self._ids)
                self.nodes[sid] = node
            self.of[id(node)] = sid
        return self.of[id(root)]


def conjuncts(node: CExpr) -> list[CExpr]:
    """The top-level ``and`` terms of a condition, nested ``and``s flattened."""
    out: list[CExpr] = []
    stack = [node]
    while stack:
        n = stack.pop()
        if isinstance(n, CAnd):
            stack.extend(reversed(n.children))
        else:
            out.append(n)
    return out


@dataclass(slots=True)
class _Rule:
    bit: int
    terms: list[int]  # structural ids of its remaining conjuncts, in written order
    written: list[int] = field(default_factory=list)  # all its conjuncts, in written order
    # Conjuncts a dimension decides exactly, left out of ``terms``, by the dimension's fields.
    decided: dict[tuple[str, ...], int] = field(default_factory=dict)

    def without_dimensions(self, kept: set[tuple[str, ...]]) -> None:
        """Put back the conjuncts of dimensions that will not be evaluated."""
        back = {t for key, t in self.decided.items() if key not in kept}
        if back:
            keep = set(self.terms) | back
            self.terms = [t for t in self.written if t in keep]


@dataclass(slots=True)
class _Group:
    """``if <gate>: <rules and sub-groups>`` (gate None: the top level)."""

    gate: int | None
    groups: list[_Group]
    rules: list[_Rule]


def _group(rules: list[_Rule], gate: int | None, depth: int, late: frozenset[int] = frozenset()) -> _Group:
    """Rules sharing a term nested under it, the most shared first (``late`` terms only after
    every other: see ``generate_bucket``)."""
    node = _Group(gate, [], [])
    pending = rules
    while depth < MAX_GROUP_DEPTH and len(pending) > 1:
        counts: Counter[int] = Counter()
        first_at: dict[int, int] = {}
        for r in pending:
            for pos, t in enumerate(r.terms):
                counts[t] += 1
                first_at[t] = min(first_at.get(t, pos), pos)
        if not counts:
            break
        best = max(counts, key=lambda t: (t not in late, counts[t], -first_at[t], -t))
        if counts[best] < 2:
            break
        inside = [_Rule(r.bit, [t for t in r.terms if t != best]) for r in pending if best in r.terms]
        pending = [r for r in pending if best not in r.terms]
        node.groups.append(_group(inside, best, depth + 1, late))
    node.rules.extend(pending)
    return node


def _walk_ids(interner: _Interner, sid: int) -> Iterator[int]:
    """Structural ids of a subtree, root first (each occurrence, so repeated uses count)."""
    stack = [interner.nodes[sid]]
    while stack:
        n = stack.pop()
        yield interner.of[id(n)]
        if isinstance(n, CAnd | COr):
            stack.extend(n.children)
        elif isinstance(n, CNot):
            stack.append(n.child)


def _worth_sharing(node: CExpr) -> bool:
    """Memoising costs a test and a store: only worth it for more than one plain comparison."""
    if isinstance(node, Check):
        return node.rhs is not None or node.op in ("regex", "glob", "iglob", "pmatch", "icontains") or (
            node.modifier is not None or not isinstance(node.lhs, FieldOperand)
        )
    return True


@dataclass(frozen=True, slots=True)
class _Atom:
    """A check a table lookup can decide: ``field <kind> values``.

    ``exact``: the lookup gives the check's value; otherwise only a condition the check implies
    (the literal prefix of a glob)."""

    bound: BoundField
    kind: str  # "exact", "prefix", "suffix" or "contains"
    values: tuple[Any, ...]
    exact: bool = True


# Cheaper kinds first: a dictionary lookup, a C-level tuple test, a substring scan.
_KIND_RANK = {"exact": 0, "prefix": 1, "suffix": 1, "contains": 2}
_MAX_CONTAINS = 8
_MAX_ATOMS = 64


def _atom(node: CExpr) -> _Atom | None:
    """The table form of a check, when its generated code is a plain ``==``/``in``/``startswith``/
    ``endswith``/substring test on the field's own value (see ``Generator.condition``)."""
    if not isinstance(node, Check) or node.rhs is not None or not isinstance(node.lhs, FieldOperand):
        return None
    bound = node.lhs.bound
    if bound.is_list or bound.multi is not None or not node.values:
        return None
    is_string = bound.type in STRING_TYPES
    op, modifier = node.op, node.modifier
    exact_ok = is_string or family(bound.type) is Family.BOOL or int_spec(bound.type) is not None
    if exact_ok and ((op in ops.EQ_OPS and modifier in (None, "anyof")) or (op == "in" and modifier is None)):
        return _Atom(bound, "exact", tuple(node.values))
    if not is_string or modifier not in (None, "anyof") or (modifier is None and len(node.values) != 1):
        return None
    if op == "startswith":
        return _Atom(bound, "prefix", tuple(node.values))
    if op == "endswith":
        return _Atom(bound, "suffix", tuple(node.values))
    if op == "contains" and modifier is None:
        return _Atom(bound, "contains", tuple(node.values))
    if op == "glob" and modifier is None:
        # A case-sensitive glob matches only values starting with its literal head.
        pattern = node.values[0]
        head = pattern[: min((pattern.index(c) for c in "*?[\\" if c in pattern), default=len(pattern))]
        if head and head != pattern:
            return _Atom(bound, "prefix", (head,), exact=False)
    return None


def _atoms_score(atoms: Sequence[_Atom]) -> tuple[int, int, int]:
    return (max(_KIND_RANK[a.kind] for a in atoms), len({a.bound.key for a in atoms}), len(atoms))


def _necessary(node: CExpr, depth: int = 0) -> tuple[list[_Atom], bool] | None:
    """Atoms whose disjunction ``node`` implies, and whether it is equivalent to ``node``."""
    atom = _atom(node)
    if atom is not None:
        return [atom], atom.exact
    if depth > 8:
        return None
    if isinstance(node, COr):
        atoms: list[_Atom] = []
        exact = True
        for child in node.children:
            found = _necessary(child, depth + 1)
            if found is None:
                return None
            atoms.extend(found[0])
            exact = exact and found[1]
        if len(atoms) > _MAX_ATOMS or sum(1 for a in atoms if a.kind == "contains") > _MAX_CONTAINS:
            return None
        return atoms, exact
    if isinstance(node, CAnd):
        options = [found for found in (_necessary(c, depth + 1) for c in node.children) if found is not None]
        if not options:
            return None
        return min(options, key=lambda o: _atoms_score(o[0]))[0], False
    return None


def _prefix_mask(items: tuple[tuple[str, int], ...], value: str) -> int:
    mask = 0
    for prefix, bits in items:
        if value.startswith(prefix):
            mask |= bits
    return mask


def _suffix_mask(items: tuple[tuple[str, int], ...], value: str) -> int:
    mask = 0
    for suffix, bits in items:
        if value.endswith(suffix):
            mask |= bits
    return mask


class _Dimension:
    """Rules constrained by atoms on one set of fields: per field, the lookup tables."""

    def __init__(self, fields: tuple[str, ...]) -> None:
        self.fields = fields
        self.bounds: dict[str, BoundField] = {}
        self.members = 0
        self.exact_only = True
        self.tables: dict[tuple[str, str], dict[Any, int]] = {}

    def add(self, atoms: Sequence[_Atom], bit: int) -> None:
        self.members |= 1 << bit
        for atom in atoms:
            self.bounds.setdefault(atom.bound.key, atom.bound)
            self.exact_only = self.exact_only and atom.kind == "exact"
            table = self.tables.setdefault((atom.bound.key, atom.kind), {})
            for value in atom.values:
                table[value] = table.get(value, 0) | (1 << bit)


class _Analysis:
    """A bucket's rules as conjunct lists over interned subtrees, and their dimensions."""

    def __init__(self, roots: Sequence[Folded], ids: CheckIds | None = None) -> None:
        self.interner = _Interner(ids)
        self.always: list[int] = []
        self.rules: list[_Rule] = []
        for bit, root in enumerate(roots):
            if root is True:
                self.always.append(bit)
            elif root is not False:
                self.interner.intern(root)
                terms = list(dict.fromkeys(self.interner.of[id(c)] for c in conjuncts(root)))
                self.rules.append(_Rule(bit, terms, list(terms)))
        self.everyone = sum(1 << r.bit for r in self.rules)
        # Dimensions: each rule's terms that table lookups decide (or imply), grouped by the
        # fields they read.  ``c`` starts with every rule and each dimension keeps only the rules
        # whose looked-up condition holds (or that say nothing about those fields).
        dims: dict[tuple[str, ...], _Dimension] = {}
        for r in self.rules:
            taken: dict[tuple[str, ...], tuple[Any, ...]] = {}
            for t in r.terms:
                found = _necessary(self.interner.nodes[t])
                if found is None:
                    continue
                atoms, exact = found
                key = tuple(sorted({a.bound.key for a in atoms}))
                score = (not exact, _atoms_score(atoms))
                if key not in taken or score < taken[key][0]:
                    taken[key] = (score, t, atoms, exact)
            for key, (_, t, atoms, exact) in taken.items():
                dims.setdefault(key, _Dimension(key)).add(atoms, r.bit)
                if exact:
                    r.terms = [x for x in r.terms if x != t]
                    r.decided[key] = t
        self.dims = sorted(dims.values(), key=lambda d: (not d.exact_only, -d.members.bit_count(), d.fields))


def bucket_dimensions(roots: Sequence[Folded], *, ids: CheckIds | None = None,
                      ) -> tuple[tuple[tuple[str, ...], tuple[BoundField, ...]], ...]:
    """The dimensions of a bucket (in default order): their keys and the fields they read."""
    return tuple((d.fields, tuple(d.bounds[k] for k in d.fields)) for d in _Analysis(roots, ids).dims)


def generate_bucket(
    roots: Sequence[Folded],
    *,
    struct: StructLayout | None = None,
    name: str = "_bucket",
    mode: str = "full",
    order: Sequence[tuple[str, ...]] | None = None,
    ids: CheckIds | None = None,
) -> BucketSource:
    """Source of ``name(ev)`` for rules ``roots`` (already folded for the bucket's type).

    ``mode``: ``"full"`` returns the match mask (bit ``i`` set when ``roots[i]`` matches);
    ``"probe"`` returns the tuple of every dimension's mask of still-possible rules (for
    learning which lookups reject most events); ``"filter"`` evaluates only the dimensions in
    ``order`` and returns the mask of rules still possible (0: no rule can match; a rule that is
    always true makes it non-zero).  ``order`` restricts the dimensions to those listed, in
    that order, in every mode.  ``struct`` selects struct mode (see ``Generator``); ``ids``
    shares check ids between the buckets of an engine (``CheckIds``).
    """
    gen = Generator(struct)
    gen.module.namespace["_alower"] = ops.ascii_lower
    plan = _Analysis(roots, ids)
    interner, rules, always = plan.interner, plan.rules, plan.always
    live = tuple(sorted(always + [r.bit for r in rules]))
    dims = plan.dims
    if order is not None:
        rank = {key: i for i, key in enumerate(order)}
        chosen = [d for d in dims if d.fields in rank]
        chosen.sort(key=lambda d: rank[d.fields])
        dims = chosen
        # A rule's conjunct decided by a dimension left out is evaluated with the rule again,
        # so that the mask stays exact ("full" mode) rather than a superset.
        kept = {d.fields for d in dims}
        for r in rules:
            r.without_dimensions(kept)
    fn = _Function(gen.module, name)
    gen.main = fn
    lines = fn.lines
    if mode == "probe":
        masks = _emit_dimensions(gen, fn, dims, plan.everyone, probe=True)
        lines.append(f"return ({', '.join(masks)}{',' if len(masks) == 1 else ''})")
        return _finish(gen, fn, [], name, interner, live, dims)
    if mode == "filter":
        lines.append("m = 0")
        if always:
            lines.append(f"return {sum(1 << b for b in always)}")
        else:
            _emit_dimensions(gen, fn, dims, plan.everyone)
            lines.append("return c")
        return _finish(gen, fn, [], name, interner, live, dims)
    late: frozenset[int] = frozenset()
    if struct is not None:
        # A term reading a field the struct lacks raises (the line then takes the full path);
        # the other terms of an ``and`` can still make it false.  Evaluated first, they decide
        # such lines here: the terms of a conjunction are side-effect free, any order gives
        # the same result.
        late = frozenset(t for r in rules for t in r.terms if not _readable(interner.nodes[t], struct))
        for r in rules:
            r.terms.sort(key=late.__contains__)  # stable: written order otherwise
    tree = _group(rules, None, 0, late)

    # Count how often each subtree would be emitted, to decide what to memoise.
    uses: Counter[int] = Counter()

    def count(group: _Group) -> None:
        if group.gate is not None:
            uses.update(_walk_ids(interner, group.gate))
        for sub in group.groups:
            count(sub)
        for r in group.rules:
            for t in r.terms:
                uses.update(_walk_ids(interner, t))

    count(tree)
    memo_vars: dict[int, str] = {
        sid: f"s{sid}" for sid, n in sorted(uses.items()) if n > 1 and _worth_sharing(interner.nodes[sid])
    }
    # Every occurrence of a memoised subtree maps to the same variable.
    for node_id, sid in interner.of.items():
        var = memo_vars.get(sid)
        if var is not None:
            gen.shared[node_id] = var

    lines.append("m = 0")
    if always:
        lines.append(f"m |= {sum(1 << b for b in always)}")
    if not rules:
        lines.append("return m")
    else:
        _emit_dimensions(gen, fn, dims, plan.everyone)
        if not dims:
            first = _first_term(tree)
            if first is not None:
                for bound in _certain_fields(interner.nodes[first]):
                    fn.preload(bound)

    tree_starts = len(lines)

    def term(sid: int) -> str:
        return gen.expr(interner.nodes[sid], fn, 1)

    def emit(group: _Group, indent: str) -> None:
        body = indent
        if group.gate is not None:
            lines.append(f"{indent}if c & {_mask_of(group)} and ({term(group.gate)}):")
            body = indent + "    "
        for sub in group.groups:
            emit(sub, body)
        for r in group.rules:
            conds = [f"c & {1 << r.bit}", *(f"({term(t)})" for t in r.terms)]
            lines.append(f"{body}if {' and '.join(conds)}:")
            lines.append(f"{body}    m |= {1 << r.bit}")

    if rules:
        emit(tree, "")
    lines.append("return m")
    lazy_before = any(v in line for line in lines[:tree_starts] for v in fn.lazy)
    return _finish(gen, fn, list(memo_vars.values()), name, interner, live, dims,
                   None if lazy_before else tree_starts)


def _finish(gen: Generator, fn: _Function, memo_vars: list[str], name: str, interner: _Interner,
            live: tuple[int, ...], dims: Sequence[_Dimension], init_at: int | None = None) -> BucketSource:
    main = fn.source(memo_vars, init_at)
    module = gen.module
    text = "\n\n".join(p for p in ("\n".join(module.const_notes), *module.helpers, main) if p) + "\n"
    return BucketSource(text, module.namespace, name, bucket_fields(list(interner.nodes.values())), live,
                        tuple(d.fields for d in dims))


def _mask_of(group: _Group) -> int:
    mask = 0
    for r in group.rules:
        mask |= 1 << r.bit
    for sub in group.groups:
        mask |= _mask_of(sub)
    return mask


def _emit_dimensions(gen: Generator, fn: _Function, dims: Sequence[_Dimension], everyone: int,
                     *, probe: bool = False) -> list[str]:
    """``c``: the rules still possible after the table lookups; return early when none is.
    ``probe``: compute every dimension's mask into its own variable (returned), no early return."""
    const = gen.module.const
    lines = fn.lines
    lines.append(f"c = {everyone}")
    masks: list[str] = []
    for dim in dims:
        lines.append("d = 0")
        for key in dim.fields:
            # Read (and normalise) the field here, once: later uses take the variable as it is.
            fn.preload(dim.bounds[key])
            value = fn.field_expr(dim.bounds[key])
            if not value.isidentifier():
                lines.append(f"{gen.temp()} = {value}")
                value = f"t{gen._tmp}"
            exact = dim.tables.get((key, "exact"))
            if exact:
                lines.append(f"d |= {const(exact, 'X', note=f'<{len(exact)} values of {key}>')}.get({value}, 0)")
            rest = [(kind, dim.tables[(key, kind)]) for kind in ("prefix", "suffix", "contains")
                    if (key, kind) in dim.tables]
            if not rest:
                continue
            lines.append(f"if {value} is not None:")
            for kind, table in rest:
                if kind == "contains":
                    for needle, bits in sorted(table.items()):
                        lines.append(f"    if {const(needle)} in {value}:")
                        lines.append(f"        d |= {bits}")
                    continue
                helper, method = (_prefix_mask, "startswith") if kind == "prefix" else (_suffix_mask, "endswith")
                items = tuple(sorted(table.items()))
                lines.append(f"    if {value}.{method}({const(tuple(v for v, _ in items))}):")
                lines.append(f"        d |= {const(helper, f'_{kind}', note=f'<{kind} mask>')}({const(items)}, {value})")
        if probe:
            masks.append(gen.temp())
            lines.append(f"{masks[-1]} = d | {everyone & ~dim.members}")
            continue
        lines.append(f"c &= d | {everyone & ~dim.members}")
        lines.append("if not c:")
        lines.append("    return m")
    return masks


def _first_term(group: _Group) -> int | None:
    if group.gate is not None:
        return group.gate
    if group.groups:
        return group.groups[0].gate
    if group.rules and group.rules[0].terms:
        return group.rules[0].terms[0]
    return None


def _readable(node: CExpr, struct: StructLayout) -> bool:
    """Whether struct-mode code reads every field of ``node`` without needing the full event."""
    for bound in bucket_fields([node]):
        if bound.loader.kind == "plain":
            if bound.loader.key not in struct.attrs:
                return False
        elif bound.key not in struct.derived:
            return False
    return True


def bucket_fields(roots: Sequence[Folded]) -> tuple[BoundField, ...]:
    """The fields some conditions read, one per key, in first-seen order."""
    seen: dict[str, BoundField] = {}
    stack: list[CExpr] = [r for r in reversed(roots) if not isinstance(r, bool)]
    while stack:
        node = stack.pop()
        if isinstance(node, Check):
            for operand in (node.lhs, node.rhs):
                for bound in _operand_fields(operand):
                    seen.setdefault(bound.key, bound)
        elif isinstance(node, CNot):
            stack.append(node.child)
        else:
            stack.extend(reversed(node.children))
    return tuple(seen.values())


def _operand_fields(operand: Any) -> Iterator[BoundField]:
    if operand is None:
        return
    if isinstance(operand, FieldOperand):
        yield operand.bound
        return
    for attr in ("args", "items"):
        for sub in getattr(operand, attr, ()) or ():
            yield from _operand_fields(sub)
