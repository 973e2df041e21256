"""The rules files behind a ruleset, read again for what the ruleset does not keep.

A ``Ruleset`` holds each item's final form; lint also needs every definition as written (to
find redefinitions), the raw items of lists (list-in-list references) and where a condition
sits in its file (to point at a check, not just the item).  Files are re-read by the names the
loader recorded; one that cannot be read costs precision, never a failure.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from detector.errors import DetectorError, caret_snippet, line_col
from detector.loader.context import scalar_offset_map
from detector.loader.yamltree import YNode, compose_documents

_KINDS = ("rule", "macro", "list")
_RULE_BODY_KEYS = ("condition", "output", "desc", "priority")


@dataclass(frozen=True, slots=True)
class ItemRecord:
    """One ``- rule/macro/list:`` item of a file, in load order."""

    kind: str
    name: str
    file: str
    node: YNode
    definition: bool  # a full (re)definition, not an append, override or enable
    order: int

    @property
    def line(self) -> int:
        return self.node.start.line

    @property
    def column(self) -> int:
        return self.node.start.column

    def scalar(self, key: str) -> YNode | None:
        found = self.node.get(key)
        return found if found is not None and found.is_scalar else None

    def items(self) -> tuple[str, ...]:
        seq = self.node.get("items")
        if seq is None or not seq.is_seq:
            return ()
        return tuple(i.text for i in seq.items if i.is_scalar)


def _is_true(node: YNode | None) -> bool:
    return node is not None and node.is_scalar and node.text.lower() in ("true", "yes", "on", "y")


def _is_definition(kind: str, item: YNode) -> bool:
    if _is_true(item.get("append")) or item.get("override") is not None:
        return False
    if kind == "rule":
        return any(item.has(k) for k in _RULE_BODY_KEYS)
    return True


class RulesFiles:
    """The texts and items of the files a ruleset was loaded from."""

    def __init__(self, labels: Iterable[str], texts: Mapping[str, str] | None = None) -> None:
        self._texts: dict[str, str] = {}
        self.records: list[ItemRecord] = []
        for label in dict.fromkeys(labels):
            text = texts.get(label) if texts is not None else None
            if text is None:
                text = _read(label)
            if text is None:
                continue
            self._texts[label] = text
            self._index(label, text)

    def _index(self, label: str, text: str) -> None:
        try:
            docs = compose_documents(text)
        except DetectorError:
            return
        for doc in docs.documents:
            if doc is None or not doc.is_seq:
                continue
            for item in doc.items:
                if not item.is_map:
                    continue
                for kind in _KINDS:
                    name = item.get(kind)
                    if name is not None and name.is_scalar:
                        self.records.append(ItemRecord(kind, name.text, label, item,
                                                       _is_definition(kind, item), len(self.records)))
                        break

    def text(self, label: str) -> str | None:
        return self._texts.get(label)

    def of(self, kind: str, name: str) -> list[ItemRecord]:
        return [r for r in self.records if r.kind == kind and r.name == name]

    def position(self, label: str, offset: int) -> tuple[int, int]:
        text = self._texts.get(label, "")
        return line_col(text, offset)

    def snippet(self, label: str, offset: int) -> str:
        text = self._texts.get(label)
        if not text:
            return ""
        return caret_snippet(text, offset)

    def condition_offset(self, kind: str, name: str, condition: str, offset: int) -> tuple[str, int] | None:
        """Where character ``offset`` of an item's final condition text is in its file.

        The condition is its last definition's ``condition`` followed by the appended ones,
        each joined with a blank, as the loader builds it.
        """
        records = self.of(kind, name)
        for start in range(len(records) - 1, -1, -1):
            first = records[start]
            node = first.scalar("condition")
            if not first.definition or node is None or not condition.startswith(node.text):
                continue
            pos = 0
            for rec in records[start:]:
                piece = rec.scalar("condition")
                if piece is None or rec is not first and rec.definition:
                    continue
                if not condition.startswith(piece.text, pos):
                    continue
                if pos <= offset < pos + max(len(piece.text), 1):
                    text = self._texts[rec.file]
                    mapping = scalar_offset_map(piece, piece.text, text)
                    local = offset - pos
                    return rec.file, mapping[local] if local < len(mapping) else piece.start.offset
                pos += len(piece.text) + 1
            return None
        return None


def _read(label: str) -> str | None:
    try:
        path = Path(label)
        if not path.is_file():
            return None
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None
