"""The event-type index: for each event type, the enabled rules that can match it, in load order.

Falco puts every rule in the list of each event type its condition can match
(a rule whose condition says nothing about the type is in all of them) and
runs a type's list in load order.  Lists are built lazily per type seen, so a
stream touching ten event types costs ten small lists, not four hundred.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Generic, Protocol, TypeVar


class _Indexable(Protocol):
    @property
    def evttypes(self) -> frozenset[str] | None: ...


R = TypeVar("R", bound=_Indexable)


class EventTypeIndex(Generic[R]):
    """Rules of one source bucketed by event type.

    The number of buckets is bounded by the number of distinct event types
    (``max_types``); past it, an unseen type is answered without caching.
    """

    __slots__ = ("_rules", "_by_type", "_max_types", "_any_type")

    def __init__(self, rules: Sequence[R], *, max_types: int = 4096) -> None:
        self._rules: tuple[R, ...] = tuple(rules)
        self._by_type: dict[str | None, tuple[R, ...]] = {}
        self._max_types = max_types
        # Events without a type (or sources without types) see rules that ask nothing of the type.
        self._any_type: tuple[R, ...] = tuple(r for r in self._rules if r.evttypes is None)

    @property
    def rules(self) -> tuple[R, ...]:
        return self._rules

    @property
    def cached_types(self) -> int:
        return len(self._by_type)

    def for_type(self, evttype: str | None) -> tuple[R, ...]:
        found = self._by_type.get(evttype)
        if found is not None:
            return found
        if evttype is None:
            found = self._any_type
        else:
            found = tuple(r for r in self._rules if r.evttypes is None or evttype in r.evttypes)
        if len(self._by_type) < self._max_types:
            self._by_type[evttype] = found
        return found
