"""What the service needs from the stages below it, as small structural types.

The real implementations are ``detector.engine.Engine``, ``detector.loader.load_rules``,
``detector.outputs.alert.Alert`` and ``detector.sources``; the service is written against
these shapes so each piece can be exercised alone.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol

#: One decoded input record: the event source name and the event.
Record = tuple[str, Mapping[str, Any]]


class AlertLike(Protocol):
    @property
    def rule(self) -> str: ...

    @property
    def priority(self) -> Any: ...

    @property
    def source(self) -> str: ...

    @property
    def time_ns(self) -> int: ...

    def to_json(self) -> bytes: ...

    def to_text(self) -> str: ...


class EngineLike(Protocol):
    def process(self, event: Mapping[str, Any], source: str = "syscall") -> Sequence[AlertLike]: ...


class LoadResultLike(Protocol):
    @property
    def ruleset(self) -> Any: ...

    @property
    def errors(self) -> Sequence[Any]: ...

    @property
    def warnings(self) -> Sequence[Any]: ...


#: ``load_rules(*paths)``.
RulesLoader = Callable[..., LoadResultLike]

#: Builds an engine from a loaded ruleset and the service configuration: ``(ruleset, config) -> engine``.
EngineFactory = Callable[[Any, Any], EngineLike]

#: Called with each bad item of a list that also had good ones (an exception with a ``kind``).
ItemRejected = Callable[[Exception], None]

#: ``recognise(value, on_item_rejected=...)``: the records one decoded JSON value holds; raises
#: (``ValueError`` with a ``kind`` attribute) when the value as a whole is not an event.
Recogniser = Callable[..., list[Record]]
