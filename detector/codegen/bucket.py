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
* every field is read from the event once per call.

Conditions are pure, so evaluating their conjuncts in another order or once
instead of several times gives the same booleans; the bit mask holds every
match, so both ``rule_matching`` modes see the same set of rules as rule-by-rule
evaluation.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from detector.codegen.check import CAnd, CExpr, Check, CNot, COr, FieldOperand, deep_recursion
from detector.codegen.generate import Generator, _certain_fields, _Function
from detector.fields import operators as ops
from detector.fields.registry import BoundField

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

    def decide(self, check: Check, evttype: str) -> bool:
        fn = self._compiled.get(check.node)
        if fn is None:
            gen = Generator()
            source = gen.function("_match", check)
            module = gen.module
            text = "\n\n".join(p for p in ("\n".join(module.const_notes), *module.helpers, source) if p)
            namespace = module.namespace
            exec(compile(text, "<type check>", "exec"), namespace)
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


class _Interner:
    """Structural identity of subtrees: equal subtrees (same checks, same shape) get one id."""

    def __init__(self) -> None:
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
                key: Any = ("c", node.node, node.op, node.modifier)
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


@dataclass(slots=True)
class _Group:
    """``if <gate>: <rules and sub-groups>`` (gate None: the top level)."""

    gate: int | None
    groups: list[_Group]
    rules: list[_Rule]


def _group(rules: list[_Rule], gate: int | None, depth: int) -> _Group:
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
        best = max(counts, key=lambda t: (counts[t], -first_at[t], -t))
        if counts[best] < 2:
            break
        inside = [_Rule(r.bit, [t for t in r.terms if t != best]) for r in pending if best in r.terms]
        pending = [r for r in pending if best not in r.terms]
        node.groups.append(_group(inside, best, depth + 1))
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


def generate_bucket(
    roots: Sequence[Folded],
    *,
    struct: Mapping[str, str] | None = None,
    name: str = "_bucket",
) -> BucketSource:
    """Source of ``name(ev) -> int`` for rules ``roots`` (already folded for the bucket's type).

    Bit ``i`` of the result is set when ``roots[i]`` matches.  ``struct`` selects struct mode
    (see ``Generator``).
    """
    gen = Generator(struct)
    gen.module.namespace["_alower"] = ops.ascii_lower
    interner = _Interner()
    always: list[int] = []
    rules: list[_Rule] = []
    for bit, root in enumerate(roots):
        if root is True:
            always.append(bit)
        elif root is False:
            continue
        else:
            assert not isinstance(root, bool)
            interner.intern(root)
            terms = list(dict.fromkeys(interner.of[id(c)] for c in conjuncts(root)))
            rules.append(_Rule(bit, terms))
    live = tuple(sorted(always + [r.bit for r in rules]))
    tree = _group(rules, None, 0)

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
    fn = _Function(gen.module, name)
    gen.main = fn
    memo_vars: dict[int, str] = {
        sid: f"s{sid}" for sid, n in sorted(uses.items()) if n > 1 and _worth_sharing(interner.nodes[sid])
    }
    # Every occurrence of a memoised subtree maps to the same variable.
    for node_id, sid in interner.of.items():
        var = memo_vars.get(sid)
        if var is not None:
            gen.shared[node_id] = var

    lines = fn.lines
    lines.append("m = 0")
    if always:
        lines.append(f"m |= {sum(1 << b for b in always)}")
    first = _first_term(tree)
    if first is not None:
        for bound in _certain_fields(interner.nodes[first]):
            fn.preload(bound)

    def term(sid: int) -> str:
        return gen.expr(interner.nodes[sid], fn, 1)

    def emit(group: _Group, indent: str) -> None:
        body = indent
        if group.gate is not None:
            lines.append(f"{indent}if {term(group.gate)}:")
            body = indent + "    "
            if not group.groups and not group.rules:
                lines.append(f"{body}pass")
        for sub in group.groups:
            emit(sub, body)
        for r in group.rules:
            if not r.terms:
                lines.append(f"{body}m |= {1 << r.bit}")
            else:
                cond = " and ".join(f"({term(t)})" for t in r.terms)
                lines.append(f"{body}if {cond}:")
                lines.append(f"{body}    m |= {1 << r.bit}")

    emit(tree, "")
    lines.append("return m")
    main = fn.source(list(memo_vars.values()))
    module = gen.module
    text = "\n\n".join(p for p in ("\n".join(module.const_notes), *module.helpers, main) if p) + "\n"
    fields = tuple(_fields_of(interner))
    return BucketSource(text, module.namespace, name, fields, live)


def _first_term(group: _Group) -> int | None:
    if group.gate is not None:
        return group.gate
    if group.groups:
        return group.groups[0].gate
    if group.rules and group.rules[0].terms:
        return group.rules[0].terms[0]
    return None


def _fields_of(interner: _Interner) -> Iterator[BoundField]:
    seen: set[str] = set()
    for node in interner.nodes.values():
        if isinstance(node, Check):
            for operand in (node.lhs, node.rhs):
                for bound in _operand_fields(operand):
                    if bound.key not in seen:
                        seen.add(bound.key)
                        yield bound


def _operand_fields(operand: Any) -> Iterator[BoundField]:
    if operand is None:
        return
    if isinstance(operand, FieldOperand):
        yield operand.bound
        return
    for attr in ("args", "items"):
        for sub in getattr(operand, attr, ()) or ():
            yield from _operand_fields(sub)
