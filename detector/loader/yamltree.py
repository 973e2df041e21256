"""YAML text to a position-carrying node tree, as Falco's reader sees it.

Falco reads rules with yaml-cpp, which keeps every scalar as the text that was
written: ``on``, ``yes``, ``0.10`` or ``007`` in a list stay those strings, and
a key's value is "null" only for an empty, ``~`` or ``null`` plain scalar.  We
therefore build our own tree from libyaml's event stream instead of letting a
constructor turn scalars into Python values.  Building from events (iteratively)
also lets us refuse what a rules file never needs and an attacker would use:
anchors and aliases (the "billion laughs" expansion) and unbounded nesting.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Final, Literal

import yaml

from detector.errors import DetectorError
from detector.language.frozen import constructor

_Loader: type = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

MAX_DEPTH: Final = 200
_NULL_WORDS: Final = frozenset({"", "~", "null", "Null", "NULL"})
_NULL_TAG: Final = "tag:yaml.org,2002:null"

Kind = Literal["scalar", "seq", "map", "null"]


@dataclass(frozen=True, slots=True)
class Mark:
    """A 0-based character offset with its 1-based line and column."""

    offset: int
    line: int
    column: int


@dataclass(frozen=True, slots=True)
class YNode:
    """One YAML node.  ``text`` is a scalar's value; ``style`` is libyaml's (``''`` plain)."""

    kind: Kind
    start: Mark
    end: Mark
    text: str = ""
    style: str = ""
    items: tuple[YNode, ...] = ()
    pairs: tuple[tuple[YNode, YNode], ...] = field(default=(), repr=False)
    # a mapping's first value for each scalar key: what ``get`` finds, found at once
    index: Mapping[str, YNode] = field(default_factory=dict, repr=False, compare=False)

    @property
    def is_scalar(self) -> bool:
        return self.kind == "scalar"

    @property
    def is_null(self) -> bool:
        return self.kind == "null"

    @property
    def is_seq(self) -> bool:
        return self.kind == "seq"

    @property
    def is_map(self) -> bool:
        return self.kind == "map"

    def get(self, key: str) -> YNode | None:
        """The value of the first ``key`` of a mapping (yaml-cpp's lookup), else ``None``."""
        return self.index.get(key)

    def has(self, key: str) -> bool:
        return key in self.index

    def keys(self) -> Iterator[tuple[str, YNode]]:
        """Scalar keys with their key nodes, in written order."""
        for k, _ in self.pairs:
            if k.kind in ("scalar", "null"):
                yield k.text, k


@dataclass(frozen=True, slots=True)
class YamlDocuments:
    """The documents of one YAML stream."""

    documents: tuple[YNode | None, ...]


@dataclass(eq=False)
class YamlError(DetectorError):
    """The text is not YAML we accept.  ``mark`` is where the problem was found."""

    message: str
    mark: Mark

    def __post_init__(self) -> None:
        super().__init__(self.message)

    def __str__(self) -> str:
        return self.message


# libyaml's problems, reworded as yaml-cpp words them (Falco reports yaml-cpp's text).
_YAML_CPP_WORDING: Final[tuple[tuple[str, str], ...]] = (
    ("mapping values are not allowed", "illegal map value"),
    ("found character that cannot start any token", "unknown token"),
    ("did not find expected key", "end of map not found"),
    ("did not find expected '-' indicator", "end of sequence not found"),
    ("did not find expected ',' or ']'", "end of sequence flow not found"),
    ("did not find expected ',' or '}'", "end of map flow not found"),
    ("found unexpected end of stream", "illegal EOF in scalar"),
    ("found unknown escape character", "unknown escape character"),
    ("block sequence entries are not allowed", "illegal block entry"),
    ("found a tab character that violates indentation", "illegal tab when looking for indentation"),
    ("found unexpected document indicator", "illegal document indicator in scalar"),
)


_new_mark: Final = constructor(Mark)
_new_node: Final = constructor(YNode)


def _mark(m: Any) -> Mark:
    return _new_mark(m.index, m.line + 1, m.column + 1)


def _yaml_cpp_message(problem: str, mark: Mark) -> str:
    text = problem
    for prefix, replacement in _YAML_CPP_WORDING:
        if problem.startswith(prefix):
            text = replacement
            break
    return f"yaml-cpp: error at line {mark.line}, column {mark.column}: {text}"


def _error_from(exc: yaml.YAMLError) -> YamlError:
    if isinstance(exc, yaml.MarkedYAMLError) and exc.problem_mark is not None:
        mark = _mark(exc.problem_mark)
        return YamlError(_yaml_cpp_message(exc.problem or "syntax error", mark), mark)
    if isinstance(exc, yaml.reader.ReaderError):
        position = int(getattr(exc, "position", 0))
        return YamlError(f"unacceptable character at position {position}: {exc.reason}",
                         Mark(position, 1, 1))
    return YamlError(str(exc).splitlines()[0] if str(exc) else "YAML syntax error", Mark(0, 1, 1))


class _Builder:
    """An open collection while events stream in."""

    __slots__ = ("kind", "start", "children", "style")

    def __init__(self, kind: Kind, start: Mark, style: str = "") -> None:
        self.kind: Kind = kind
        self.start = start
        self.children: list[YNode] = []
        self.style = style


_NO_INDEX: Final[Mapping[str, YNode]] = MappingProxyType({})


def _scalar_node(event: Any) -> YNode:
    start, end = event.start_mark, event.end_mark
    start_mark = _new_mark(start.index, start.line + 1, start.column + 1)
    end_mark = _new_mark(end.index, end.line + 1, end.column + 1)
    style = event.style or ""
    value = event.value
    if (style == "" and event.implicit[0] and value in _NULL_WORDS) or event.tag == _NULL_TAG:
        return _new_node("null", start_mark, end_mark, "", style, (), (), _NO_INDEX)
    return _new_node("scalar", start_mark, end_mark, value, style, (), (), _NO_INDEX)


def _close(builder: _Builder, end: Mark) -> YNode:
    if builder.kind == "seq":
        return _new_node("seq", builder.start, end, "", builder.style, tuple(builder.children), (),
                         _NO_INDEX)
    kids = builder.children
    pairs = tuple(zip(kids[::2], kids[1::2], strict=False))  # an odd last key has no pair
    index: dict[str, YNode] = {}
    for key, value in pairs:
        if key.kind == "scalar" and key.text not in index:
            index[key.text] = value
    return _new_node("map", builder.start, end, "", builder.style, (), pairs, index)


# What each libyaml event does to the tree being built.
_SCALAR, _OPEN_SEQ, _OPEN_MAP, _CLOSE, _DOC_START, _DOC_END, _ALIAS = range(7)
_EVENT_KINDS: Final = {
    yaml.ScalarEvent: _SCALAR,
    yaml.SequenceStartEvent: _OPEN_SEQ,
    yaml.MappingStartEvent: _OPEN_MAP,
    yaml.SequenceEndEvent: _CLOSE,
    yaml.MappingEndEvent: _CLOSE,
    yaml.DocumentStartEvent: _DOC_START,
    yaml.DocumentEndEvent: _DOC_END,
    yaml.AliasEvent: _ALIAS,
}


def compose_documents(text: str, *, max_depth: int = MAX_DEPTH) -> YamlDocuments:
    """Every document of ``text`` as a ``YNode`` tree (``None`` for an empty document).

    Raises ``YamlError`` for syntax errors, anchors/aliases and nesting deeper than
    ``max_depth``; never anything else for any input string.
    """
    documents: list[YNode | None] = []
    stack: list[_Builder] = []
    root: YNode | None = None
    kinds = _EVENT_KINDS
    loader = _Loader(text)
    try:
        while loader.check_event():
            event = loader.get_event()
            kind = kinds.get(event.__class__)
            if kind is None:
                continue  # stream start and end
            if kind == _ALIAS:
                raise YamlError(
                    f"YAML aliases are not supported in rules files (alias '*{event.anchor}')",
                    _mark(event.start_mark),
                )
            if kind <= _OPEN_MAP and event.anchor is not None:
                raise YamlError(
                    f"YAML anchors are not supported in rules files (anchor '&{event.anchor}')",
                    _mark(event.start_mark),
                )
            node: YNode
            if kind == _SCALAR:
                node = _scalar_node(event)
            elif kind == _CLOSE:
                node = _close(stack.pop(), _mark(event.end_mark))
            elif kind == _DOC_START:
                root = None
                continue
            elif kind == _DOC_END:
                documents.append(root)
                continue
            else:
                if len(stack) >= max_depth:
                    raise YamlError(
                        f"YAML nesting is deeper than {max_depth} levels", _mark(event.start_mark)
                    )
                stack.append(_Builder("seq" if kind == _OPEN_SEQ else "map", _mark(event.start_mark),
                                      "flow" if event.flow_style else ""))
                continue
            if stack:
                stack[-1].children.append(node)
            else:
                root = node
    except yaml.YAMLError as exc:
        raise _error_from(exc) from None
    except RecursionError:  # defensive: the event loop itself does not recurse
        raise YamlError("YAML nesting is too deep", Mark(0, 1, 1)) from None
    finally:
        loader.dispose()
    return YamlDocuments(tuple(documents))
