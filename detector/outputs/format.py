"""Falco's output format strings: ``"Shell spawned (user=%user.name cmd=%proc.cmdline)"``.

The syntax is libsinsp's ``sinsp_evt_formatter``:

* ``%<field>`` with an optional ``[arg]`` or, for fields like ``evt.arg``, ``.name``; the
  field is the longest known field name the text starts with, so ``%proc.nameand`` is
  ``proc.name`` followed by ``and``;
* ``%<width><field>`` pads with spaces or cuts to ``width`` bytes;
* ``%<transformer>(...)`` with ``tolower``, ``toupper``, ``b64``, ``basename``, ``len``,
  ``concat`` and ``join``, nestable, blanks allowed inside the parentheses;
* every ``%`` starts a token: there is no escape for a literal percent sign;
* a leading ``*`` is accepted and ignored: Falco always formats outputs with absent
  values shown as ``<NA>``.

Errors carry libsinsp's messages (``invalid formatting token ...``,
``... is filter only and cannot be used as a display field``, ...).

``output_fields`` (:meth:`OutputFormat.values`) holds one entry per field as written, with
the untransformed value, the way Falco leaves ``resolve_transformed_fields`` off; time
fields (``evt.time`` and friends) are the event timestamp in nanoseconds there, as
libsinsp's ``extract_as_js`` gives them.

Rendering walks the parsed nodes; for ``dict`` events (what the readers produce) it runs
code generated for the format on first use instead (``detector.outputs.compiled``).
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final, Protocol

from detector.errors import DetectorError, OutputFormatError
from detector.fields.registry import BoundField, FieldInfo, fields_for, lookup
from detector.fields.types import STRING_TYPES, FieldType
from detector.outputs import compiled, transformers
from detector.outputs.timestamps import event_time_ns
from detector.outputs.values import NA, JsonValue, json_of, text_of

#: Fields whose JSON value is the event timestamp in nanoseconds rather than their text.
TIME_FIELDS: Final = frozenset({"evt.time", "evt.time.s", "evt.time.iso8601", "evt.datetime", "evt.datetime.s"})

_FIELD_CHARS: Final = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.")
_NAME_CHARS: Final = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_")
_DIGITS: Final = frozenset("0123456789")
_BLANKS: Final = " \t\r\n"


class _Node(Protocol):
    @property
    def key(self) -> str: ...
    @property
    def ftype(self) -> FieldType: ...
    @property
    def is_list(self) -> bool: ...

    def eval(self, event: Mapping[str, Any]) -> Any: ...


@dataclass(frozen=True, slots=True)
class _Field:
    key: str
    bound: BoundField
    ftype: FieldType
    is_list: bool
    any_of: bool

    def eval(self, event: Mapping[str, Any]) -> Any:
        try:
            return self.bound.extract(event)
        except Exception:  # noqa: BLE001 - a malformed event must not stop the alert
            return None


@dataclass(frozen=True, slots=True)
class _Literal:
    key: str
    ftype: FieldType = FieldType.CHARBUF
    is_list: bool = False

    def eval(self, event: Mapping[str, Any]) -> Any:
        return self.key


@dataclass(frozen=True, slots=True)
class _Unary:
    key: str
    name: str
    arg: _Node
    ftype: FieldType
    is_list: bool

    def eval(self, event: Mapping[str, Any]) -> Any:
        return transformers.UNARY_FUNCS[self.name](self.arg.eval(event))


@dataclass(frozen=True, slots=True)
class _Concat:
    key: str
    args: tuple[_Node, ...]
    ftype: FieldType = FieldType.CHARBUF
    is_list: bool = False

    def eval(self, event: Mapping[str, Any]) -> Any:
        parts = []
        for arg in self.args:
            value = arg.eval(event)
            if value is None:
                return None
            parts.append(text_of(value, is_list=arg.is_list))
        return "".join(parts)


@dataclass(frozen=True, slots=True)
class _Join:
    key: str
    sep: str
    items: tuple[_Node, ...]
    ftype: FieldType = FieldType.CHARBUF
    is_list: bool = False

    def eval(self, event: Mapping[str, Any]) -> Any:
        parts: list[str] = []
        for item in self.items:
            value = item.eval(event)
            if value is None:
                continue
            if isinstance(value, tuple | list):
                parts.extend(text_of(v) for v in value if v is not None)
            else:
                parts.append(text_of(value))
        return self.sep.join(parts)


@dataclass(frozen=True, slots=True)
class _Token:
    node: _Node
    width: int


Piece = str | _Token


class _Parser:
    """One pass over a format string, building literal pieces and tokens."""

    def __init__(self, fmt: str, source: str, base: int, original: str) -> None:
        self.fmt = fmt
        self.n = len(fmt)
        self.source = source
        self.base = base
        self.original = original
        try:
            self.fields: Mapping[str, FieldInfo] = fields_for(source)
        except DetectorError as exc:
            raise OutputFormatError(str(exc), original, 0) from None
        self.resolution: dict[str, _Node] = {}

    def error(self, message: str, at: int) -> OutputFormatError:
        return OutputFormatError(message, self.original, self.base + at)

    def parse(self) -> list[Piece]:
        fmt, n = self.fmt, self.n
        pieces: list[Piece] = []
        literal_start = 0
        i = 0
        while i < n:
            if fmt[i] != "%":
                i += 1
                continue
            if literal_start != i:
                pieces.append(fmt[literal_start:i])
            if i == n - 1:
                raise self.error("invalid formatting syntax: formatting cannot end with a %", i)
            j = i + 1
            width = 0
            if fmt[j] in _DIGITS:
                k = j
                while k < n and fmt[k] in _DIGITS:
                    k += 1
                if k == n:
                    raise self.error("invalid formatting syntax: formatting cannot end with a number", i)
                width = int(fmt[j:k])
                j = k
            node, end = self.operand(j, top=True)
            pieces.append(_Token(node, width))
            i = literal_start = end
        if literal_start < n:
            pieces.append(fmt[literal_start:])
        return pieces

    # --- operands ---------------------------------------------------------------------------

    def operand(self, pos: int, *, top: bool = False) -> tuple[_Node, int]:
        for name in transformers.NAMES:
            end_name = pos + len(name)
            if end_name + 1 < self.n and self.fmt.startswith(name, pos) and self.fmt[end_name] == "(":
                node, end = self.transformer(name, pos, end_name + 1)
                if top:
                    self.resolve(node)
                return node, end
        field, end = self.field(pos)
        if top:
            self.resolve(field)
        return field, end

    def resolve(self, node: _Node) -> None:
        """Record the output_fields keys a token contributes (libsinsp's resolution tokens)."""
        inner = node
        while isinstance(inner, _Unary):
            inner = inner.arg
        self.resolution.setdefault(node.key, node)
        if isinstance(inner, _Field):
            self.resolution.setdefault(inner.key, inner)
        elif isinstance(inner, _Concat | _Join):
            for arg in inner.args if isinstance(inner, _Concat) else inner.items:
                if not isinstance(arg, _Literal):
                    self.resolve(arg)

    def field(self, pos: int) -> tuple[_Field, int]:
        fmt, n = self.fmt, self.n
        end = pos
        while end < n and fmt[end] in _FIELD_CHARS:
            end += 1
        run = fmt[pos:end]
        name = ""
        for k in range(len(run), 0, -1):
            if run[:k] in self.fields:
                name = run[:k]
                break
        if not name:
            raise self.error(f"invalid formatting token {fmt[pos:]}", pos)
        info = self.fields[name]
        p = pos + len(name)
        written = name
        arg: str | None = None
        if p < n and fmt[p] == "[" and info.arg != "none":
            close = fmt.find("]", p + 1)
            if close == -1:
                raise self.error(f"invalid formatting token {fmt[pos:]}", pos)
            arg = fmt[p + 1 : close]
            p = close + 1
        elif info.takes_name_arg and p < n and fmt[p] == ".":
            q = p + 1
            while q < n and fmt[q] in _NAME_CHARS:
                q += 1
            bound = self.name_arg(name, p + 1, q)
            if bound is not None:
                written, p = fmt[pos:bound], bound
        try:
            field = lookup(self.source, written, arg)
        except DetectorError as exc:
            raise self.error(str(exc), pos) from None
        if field.info.filter_only:
            raise self.error(f"{fmt[pos:]} is filter only and cannot be used as a display field", pos)
        return (
            _Field(fmt[pos:p], field, field.info.type, field.info.is_list, field.multi == "any"),
            p,
        )

    def name_arg(self, name: str, start: int, stop: int) -> int | None:
        """End of the longest ``.name`` argument the field accepts (``evt.arg.flagsx`` is ``flags``)."""
        for q in range(stop, start, -1):
            try:
                lookup(self.source, f"{name}.{self.fmt[start:q]}")
            except DetectorError:
                continue
            return q
        return None

    def skip_blanks(self, pos: int) -> int:
        while pos < self.n and self.fmt[pos] in _BLANKS:
            pos += 1
        return pos

    def close(self, pos: int) -> int:
        """Past the ``)`` that should follow ``pos`` (blanks allowed before it)."""
        at = self.skip_blanks(pos)
        if at >= self.n or self.fmt[at] != ")":
            # libsinsp quotes the text from the last character it consumed.
            raise self.error(f"missing closing transformer parenthesis: {self.fmt[max(pos - 1, 0):]}", at)
        return at + 1

    def transformer(self, name: str, start: int, pos: int) -> tuple[_Node, int]:
        pos = self.skip_blanks(pos)
        if name in transformers.UNARY:
            arg, pos = self.operand(pos)
            end = self.close(pos)
            try:
                ftype, is_list = transformers.result_type(name, arg.ftype, arg.is_list)
            except transformers.TransformerTypeError as exc:
                raise self.error(str(exc), start) from None
            return _Unary(f"{name}({arg.key})", name, arg, ftype, is_list), end
        if name == "concat":
            args: list[_Node] = []
            while True:
                item, pos = self.item(pos)
                args.append(item)
                pos = self.skip_blanks(pos)
                if pos < self.n and self.fmt[pos] == ",":
                    pos = self.skip_blanks(pos + 1)
                    continue
                break
            end = self.close(pos)
            if len(args) < 2:
                raise self.error("transformer 'concat' requires at least two arguments", start)
            for a in args:
                if a.is_list or a.ftype not in STRING_TYPES:
                    raise self.error(str(transformers.type_error(a.ftype, "concat")), start)
            key = "concat(" + ",".join(a.key for a in args) + ")"
            return _Concat(key, tuple(args)), end
        if name == "join":
            sep, pos = self.literal(pos)
            pos = self.skip_blanks(pos)
            if pos >= self.n or self.fmt[pos] != ",":
                raise self.error("transformer 'join' requires a separator and a list", start)
            pos = self.skip_blanks(pos + 1)
            items: list[_Node] = []
            if pos < self.n and self.fmt[pos] == "(":
                pos = self.skip_blanks(pos + 1)
                if pos < self.n and self.fmt[pos] != ")":
                    while True:
                        item, pos = self.item(pos)
                        items.append(item)
                        pos = self.skip_blanks(pos)
                        if pos < self.n and self.fmt[pos] == ",":
                            pos = self.skip_blanks(pos + 1)
                            continue
                        break
                pos = self.close(pos)
                list_key = "(" + ",".join(i.key for i in items) + ")"
            else:
                item, pos = self.operand(pos)
                if not item.is_list:
                    raise self.error(str(transformers.type_error(item.ftype, "join")), start)
                items.append(item)
                list_key = item.key
            end = self.close(pos)
            return _Join(f"join({sep.key},{list_key})", sep.key, tuple(items)), end
        raise self.error(f"transformer '{name}' is not supported in output formats", start)

    def item(self, pos: int) -> tuple[_Node, int]:
        if pos < self.n and self.fmt[pos] in "\"'":
            return self.literal(pos)
        return self.operand(pos)

    def literal(self, pos: int) -> tuple[_Literal, int]:
        """A quoted string (``\\`` escapes the next character) or a bare word up to a comma or blank."""
        fmt, n = self.fmt, self.n
        if pos < n and fmt[pos] in "\"'":
            quote = fmt[pos]
            out: list[str] = []
            q = pos + 1
            while q < n and fmt[q] != quote:
                if fmt[q] == "\\" and q + 1 < n:
                    q += 1
                out.append(fmt[q])
                q += 1
            if q >= n:
                raise self.error(f"unterminated string in {fmt[pos:]}", pos)
            return _Literal("".join(out)), q + 1
        q = pos
        while q < n and fmt[q] not in ",()" and fmt[q] not in _BLANKS:
            q += 1
        return _Literal(fmt[pos:q]), q


def _node_text(node: _Node, event: Mapping[str, Any]) -> str:
    """A token's text before padding, ``<NA>`` when absent."""
    value = node.eval(event)
    if value is None:
        return NA
    if isinstance(node, _Field):
        return text_of(value, is_list=node.is_list, any_of=node.any_of)
    return text_of(value, is_list=node.is_list)


def _node_json(node: _Node, source: str, event: Mapping[str, Any]) -> JsonValue:
    """An ``output_fields`` value."""
    if isinstance(node, _Field):
        if node.bound.info.name in TIME_FIELDS:
            ts = event_time_ns(source, event)
            if ts is not None:
                return ts
        if node.any_of:
            # Unindexed ancestors: the same space-separated text the message shows.
            value = node.eval(event)
            return None if value is None else text_of(value, any_of=True)
    return json_of(node.eval(event), is_list=node.is_list)


class _Generated:
    """A format's generated functions (``detector.outputs.compiled``), built on first use:
    loading rules compiles every output to check it, most never render an alert."""

    __slots__ = ("render", "values")

    def __init__(self) -> None:
        self.render: compiled.RenderFn | None = None
        self.values: compiled.ValuesFn | None = None


@dataclass(frozen=True, slots=True, eq=False)
class OutputFormat:
    """A compiled output format for one source.

    ``render`` and ``values`` walk the nodes for any mapping; for ``dict`` events they run
    code generated once per format, with the same results.
    """

    text: str
    source: str
    pieces: tuple[Piece, ...]
    resolution: tuple[tuple[str, _Node], ...]
    resolve_transformed: bool = False
    _generated: _Generated = dataclasses.field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_generated", _Generated())

    @classmethod
    def compile(cls, fmt: str, source: str, *, resolve_transformed: bool = False) -> OutputFormat:
        """Compile ``fmt`` for ``source``; raises :class:`OutputFormatError` with Falco's message.

        The same format is compiled by the loader (to validate it) and by every engine built
        on the rules; compiled formats are immutable, so they are shared (``_compiled``)."""
        if cls is OutputFormat:
            return _compiled(fmt, source, resolve_transformed)
        return cls._build(fmt, source, resolve_transformed)

    @classmethod
    def _build(cls, fmt: str, source: str, resolve_transformed: bool) -> OutputFormat:
        base = 1 if fmt.startswith("*") else 0
        parser = _Parser(fmt[base:], source, base, fmt)
        pieces = tuple(parser.parse())
        resolution = tuple(
            (key, node)
            for key, node in parser.resolution.items()
            if resolve_transformed or isinstance(node, _Field)
        )
        return cls(fmt, source, pieces, resolution, resolve_transformed)

    @property
    def field_names(self) -> tuple[str, ...]:
        """The ``output_fields`` keys, in order of first appearance."""
        return tuple(key for key, _ in self.resolution)

    def render(self, event: Mapping[str, Any]) -> str:
        """The message with every token replaced by its value, ``<NA>`` when absent."""
        if event.__class__ is dict:
            fn = self._generated.render or self._generate_render()
            return fn(event)
        out: list[str] = []
        for piece in self.pieces:
            if isinstance(piece, str):
                out.append(piece)
                continue
            text = _node_text(piece.node, event)
            out.append(compiled.pad(text, piece.width) if piece.width else text)
        return "".join(out)

    def values(self, event: Mapping[str, Any]) -> dict[str, JsonValue]:
        """``output_fields``: JSON-typed values keyed by the fields as written (a new dict)."""
        if event.__class__ is dict:
            fn = self._generated.values or self._generate_values()
            return fn(event)
        return {key: _node_json(node, self.source, event) for key, node in self.resolution}

    def _generate_render(self) -> compiled.RenderFn:
        tokens = [
            piece if isinstance(piece, str)
            else compiled.TextToken(
                functools.partial(_node_text, piece.node),
                piece.node.bound if isinstance(piece.node, _Field) else None,
                piece.width,
            )
            for piece in self.pieces
        ]
        fn = self._generated.render = compiled.compile_render(tokens, self.text)
        return fn

    def _generate_values(self) -> compiled.ValuesFn:
        entries = [
            compiled.JsonEntry(
                key,
                functools.partial(_node_json, node, self.source),
                # Time fields take the event timestamp: never a plain read.
                node.bound if isinstance(node, _Field) and node.bound.info.name not in TIME_FIELDS else None,
            )
            for key, node in self.resolution
        ]
        fn = self._generated.values = compiled.compile_values(entries, self.text)
        return fn


@functools.lru_cache(maxsize=4096)
def _compiled(fmt: str, source: str, resolve_transformed: bool) -> OutputFormat:
    return OutputFormat._build(fmt, source, resolve_transformed)
