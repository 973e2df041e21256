"""The field registry: which fields a source has, with Falco's types and argument rules.

``lookup(source, name, arg)`` resolves a field as libsinsp does, by the longest
field name that prefixes what was written (``evt.arg.flags`` is field
``evt.arg`` with name argument ``flags``), checks its argument rules and binds
it to an extractor.  A ``BoundField`` knows the key its value has in a flat
event and extracts a typed value, or ``None`` when the field is absent.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from detector.errors import ConditionCompileError, UnknownFieldError
from detector.fields.types import FieldType, list_coercer, native_class, scalar_coercer

ArgRule = Literal["none", "required", "allowed"]
ArgKind = Literal["index", "key", "name"]
# How the candidates of a multi-valued field combine: "any" (any ancestor) or "socket"
# (either endpoint for = and friends, both endpoints for !=).
MultiMode = Literal["any", "socket"]


@dataclass(frozen=True, slots=True)
class FieldInfo:
    """One field of a source, as libsinsp's ``filtercheck_field_info`` describes it."""

    name: str
    type: FieldType
    is_list: bool = False
    arg: ArgRule = "none"
    arg_kind: ArgKind | None = None
    filter_only: bool = False
    no_rhs: bool = False
    no_transformer: bool = False
    deprecated: bool = False
    description: str = ""

    @property
    def takes_name_arg(self) -> bool:
        """Whether the argument may be written after a dot (``evt.arg.flags``)."""
        return self.arg_kind == "name"


@dataclass(frozen=True, slots=True)
class Loader:
    """How a bound field's value is read from an event.

    ``plain``: ``event.get(key)`` then ``coerce`` unless the raw value is already of class
    ``native``; ``derived``: ``fn(event)`` returns the typed value (a tuple of candidates
    for multi-valued fields).
    """

    kind: Literal["plain", "derived"]
    key: str = ""
    coerce: Callable[[Any], Any] | None = None
    native: type | None = None
    fn: Callable[[Mapping[str, Any]], Any] | None = None


@dataclass(frozen=True, slots=True, eq=False)
class BoundField:
    """A field with its argument, ready to extract values from events of its source."""

    info: FieldInfo
    arg: str | None
    key: str
    source: str
    loader: Loader
    multi: MultiMode | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)

    @property
    def type(self) -> FieldType:
        return self.info.type

    @property
    def is_list(self) -> bool:
        return self.info.is_list

    @property
    def display(self) -> str:
        """The field as written: ``proc.aname[2]``, ``evt.arg.fd``."""
        return self.key

    def extract(self, event: Mapping[str, Any]) -> Any:
        """The typed value (``None`` when absent); a tuple of candidates for multi fields."""
        loader = self.loader
        if loader.kind == "plain":
            raw = event.get(loader.key)
            if raw is None:
                return None
            if loader.native is not None and raw.__class__ is loader.native:
                return raw
            assert loader.coerce is not None
            return loader.coerce(raw)
        assert loader.fn is not None
        return loader.fn(event)


class FieldArgumentError(ConditionCompileError):
    """A field's argument breaks its rules (missing, not allowed, malformed)."""


def field_text(name: str, arg: str | None) -> str:
    return name if arg is None else f"{name}[{arg}]"


def unknown_field(text: str) -> UnknownFieldError:
    return UnknownFieldError(f"filter_check called with nonexistent field {text}", field=text)


def plain_loader(key: str, info: FieldInfo, *, hex_strings: bool = False) -> Loader:
    if info.is_list:
        return Loader("plain", key=key, coerce=list_coercer(info.type))
    return Loader(
        "plain",
        key=key,
        coerce=scalar_coercer(info.type, hex_strings=hex_strings),
        native=native_class(info.type),
    )


Binder = Callable[[FieldInfo, "str | None", str], BoundField]

# Bound fields a source keeps for reuse (arguments make the set open-ended).
BOUND_CACHE_SIZE = 4096


class FieldSource:
    """The fields of one event source and how to bind them.

    ``binders`` maps a field name to a function building its ``BoundField``
    (derived fields); every other field is read from the event under its key.
    ``base`` lets a source extend another (tests register mock fields this way);
    ``kind`` is the builtin source whose event model it shares (a base's kind by
    default): ``syscall`` sources have event types and validate ``evt.type`` names.
    """

    def __init__(
        self,
        name: str,
        fields: Mapping[str, FieldInfo],
        *,
        binders: Mapping[str, Binder] | None = None,
        base: FieldSource | None = None,
        kind: str | None = None,
    ) -> None:
        merged: dict[str, FieldInfo] = dict(base.fields) if base is not None else {}
        merged.update(fields)
        self.name = name
        self.kind: str = kind if kind is not None else base.kind if base is not None else name
        self.fields: Mapping[str, FieldInfo] = merged
        self._binders: dict[str, Binder] = dict(base._binders) if base is not None else {}
        self._binders.update(binders or {})
        # Longest first, so the first prefix found is the longest (parse_field_name).
        self._dotted = sorted((n for n, i in merged.items() if i.takes_name_arg), key=len, reverse=True)
        self._lengths = sorted({len(n) for n in merged})
        self._bound: dict[tuple[str, str | None], BoundField] = {}
        # When every name has a dot, a prefix of a text ends past the text's first dot and
        # has the same head before it; most constants have no dot or no such head.
        self._heads: frozenset[str] | None = (
            frozenset(n[:n.index(".")] for n in merged) if all("." in n for n in merged) else None)

    def __repr__(self) -> str:
        return f"FieldSource({self.name!r}, {len(self.fields)} fields)"

    def field_prefix(self, text: str) -> str | None:
        """The shortest field name ``text`` starts with, if any (libsinsp's prefix match)."""
        heads = self._heads
        if heads is not None:
            dot = text.find(".")
            if dot == -1 or text[:dot] not in heads:
                return None
        fields = self.fields
        for length in self._lengths:
            if length > len(text):
                break
            if text[:length] in fields:
                return text[:length]
        return None

    def resolve(self, name: str, arg: str | None) -> tuple[FieldInfo, str | None, str]:
        """``(info, argument, key)`` for a field as written; raises on unknown fields and bad args."""
        info = self.fields.get(name)
        if info is None:
            for candidate in self._dotted:
                if name.startswith(candidate + ".") and len(name) > len(candidate) + 1:
                    if arg is not None:
                        raise unknown_field(field_text(name, arg))
                    info = self.fields[candidate]
                    return info, name[len(candidate) + 1 :], name
            raise unknown_field(field_text(name, arg))
        text = field_text(name, arg)
        if arg is None:
            if info.arg == "required":
                raise FieldArgumentError(
                    f"filter '{text}': {name} requires an argument but none provided"
                )
            return info, None, name
        if info.arg == "none":
            raise unknown_field(text)
        if info.arg_kind == "index":
            stripped = arg.strip()
            body = stripped[1:] if stripped[:1] in "+-" else stripped
            if not body.isascii() or not body.isdigit():
                raise FieldArgumentError(f"invalid number {arg}")
        return info, arg, text

    def bind(self, name: str, arg: str | None) -> BoundField:
        found = self._bound.get((name, arg))
        if found is not None:
            return found
        info, argument, key = self.resolve(name, arg)
        binder = self._binders.get(info.name)
        if binder is not None:
            return binder(info, argument, key)
        loader = plain_loader(key, info)
        bound = BoundField(info, argument, key, self.name, loader)
        if loader.coerce is None or getattr(loader.coerce, "__closure__", None) is None:
            # Immutable and made only of shared parts, so binding the field again could only
            # build an equal copy: reuse it (compiling a ruleset binds the same few hundred
            # fields thousands of times).  Fields with a coercion closure of their own are
            # bound afresh, since generated code tells such closures apart.
            if len(self._bound) >= BOUND_CACHE_SIZE:
                self._bound.clear()
            self._bound[(name, arg)] = bound
        return bound


@functools.cache
def _builtin(source: str) -> FieldSource | None:
    if source == "syscall":
        from detector.fields.syscall import syscall_source

        return syscall_source()
    if source == "k8s_audit":
        from detector.fields.k8s_source import k8s_audit_source

        return k8s_audit_source()
    return None


SOURCES: tuple[str, ...] = ("syscall", "k8s_audit")


def get_source(source: str | FieldSource) -> FieldSource:
    """The ``FieldSource`` for a source name (or the source itself)."""
    if isinstance(source, FieldSource):
        return source
    found = _builtin(source)
    if found is None:
        raise ConditionCompileError(f"unknown event source {source}")
    return found


def lookup(source: str | FieldSource, name: str, arg: str | None = None) -> BoundField:
    """The field ``name`` (with optional ``[arg]``) of ``source``, bound for extraction.

    Raises ``UnknownFieldError`` (``filter_check called with nonexistent field <name>``)
    or ``FieldArgumentError``.
    """
    return get_source(source).bind(name, arg)


def fields_for(source: str | FieldSource) -> Mapping[str, FieldInfo]:
    """Every field of ``source`` by name."""
    return get_source(source).fields
