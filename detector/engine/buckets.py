"""Compiled buckets: for each event type seen, one function evaluating all of that type's rules.

A bucket is built the first time its type is seen (``BucketCache.get``): the
type's candidate rules come from the ``EventTypeIndex``, their ``evt.type``
checks are folded for the type, and ``detector.codegen.bucket`` writes the
function.  Types whose folded rules are the same (``open``, ``openat`` and
``openat2`` usually are) share one compiled function.  Both caches are
bounded; past the limits an event is evaluated rule by rule instead.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar

from detector.codegen.bucket import TypeFolder, generate_bucket, is_type_check
from detector.codegen.check import CAnd, CExpr, Check, CNot, COr
from detector.codegen.codecache import compile_cached
from detector.engine.index import EventTypeIndex

DEFAULT_MAX_TYPES = 4096
DEFAULT_MAX_FUNCTIONS = 256


class _BucketRule(Protocol):
    @property
    def evttypes(self) -> frozenset[str] | None: ...

    @property
    def checked(self) -> Any: ...

    @property
    def matches(self) -> Callable[[Any], bool]: ...


R = TypeVar("R", bound=_BucketRule)


@dataclass(frozen=True, slots=True)
class Bucket(Generic[R]):
    """The rules an event type can match (bit ``i`` of ``evaluate``'s mask is ``rules[i]``)."""

    rules: tuple[R, ...]
    evaluate: Callable[[Any], int]
    python_source: str


def type_checks(roots: Sequence[Any]) -> tuple[Check, ...]:
    """The distinct ``evt.type``-only checks of some conditions, in first-seen order."""
    found: dict[Any, Check] = {}
    stack: list[CExpr] = [r for r in reversed(roots) if r is not None]
    while stack:
        node = stack.pop()
        if isinstance(node, Check):
            if is_type_check(node) and node.node not in found:
                found[node.node] = node
        elif isinstance(node, CNot):
            stack.append(node.child)
        elif isinstance(node, CAnd | COr):
            stack.extend(reversed(node.children))
    return tuple(found.values())


def compile_source(source: str, namespace: dict[str, Any], name: str) -> Callable[[Any], Any]:
    # Our own generated code; its constants are already bound in the namespace.
    exec(compile_cached(source, f"<{name}>"), namespace)
    fn: Callable[[Any], Any] = namespace[name]
    return fn


def _one_by_one(rules: Sequence[_BucketRule]) -> Callable[[Any], int]:
    checks = tuple(r.matches for r in rules)

    def evaluate(event: Any) -> int:
        mask = 0
        for bit, matches in enumerate(checks):
            if matches(event):
                mask |= 1 << bit
        return mask

    return evaluate


class BucketCache(Generic[R]):
    """Buckets of one source, built lazily per event type and bounded."""

    def __init__(self, source: str, index: EventTypeIndex[R], *, max_types: int = DEFAULT_MAX_TYPES,
                 max_functions: int = DEFAULT_MAX_FUNCTIONS, folder: TypeFolder | None = None) -> None:
        self.source = source
        self.index = index
        self.max_types = max_types
        self.max_functions = max_functions
        self.folder = folder or TypeFolder()
        self._by_type: dict[str | None, Bucket[R]] = {}
        self._by_signature: dict[Any, Bucket[R]] = {}
        self._checks: dict[tuple[int, ...], tuple[Check, ...]] = {}
        self.misses = 0

    @property
    def built(self) -> Mapping[str | None, Bucket[R]]:
        """The buckets built so far by event type (read-only use: ``get`` adds to it)."""
        return self._by_type

    def stats(self) -> dict[str, int]:
        return {
            "event_types": len(self._by_type),
            "event_types_limit": self.max_types,
            "functions": len(self._by_signature),
            "functions_limit": self.max_functions,
            "over_limit_lookups": self.misses,
        }

    def get(self, evttype: str | None) -> Bucket[R] | None:
        found = self._by_type.get(evttype)
        if found is not None:
            return found
        if len(self._by_type) >= self.max_types:
            self.misses += 1
            return None
        rules = self.index.for_type(evttype)
        fold = self.source == "syscall" and evttype is not None
        signature = self.signature(rules, evttype if fold else None)
        bucket = self._by_signature.get(signature)
        if bucket is None:
            if len(self._by_signature) >= self.max_functions:
                self.misses += 1
                return None
            bucket = self._build(rules, evttype if fold else None)
            self._by_signature[signature] = bucket
        self._by_type[evttype] = bucket
        return bucket

    def signature(self, rules: tuple[R, ...], evttype: str | None) -> Any:
        """What decides a bucket's code: its rules and how their type checks come out."""
        ids = tuple(id(r) for r in rules)
        if evttype is None:
            return ids, None
        checks = self._checks.get(ids)
        if checks is None:
            checks = self._checks[ids] = type_checks([r.checked for r in rules])
        return ids, tuple(self.folder.decide(c, evttype) for c in checks)

    def _build(self, rules: tuple[R, ...], evttype: str | None) -> Bucket[R]:
        roots = [r.checked for r in rules]
        if any(root is None for root in roots):
            return Bucket(rules, _one_by_one(rules), "")
        folded = [self.folder.fold(root, evttype) for root in roots] if evttype is not None else roots
        code = generate_bucket(folded, ids=self.folder.check_ids)
        return Bucket(rules, compile_source(code.source, code.namespace, code.name), code.source)
