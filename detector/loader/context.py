"""Where a diagnostic happened: Falco's chain of locations, and text positions in a file.

A ``Context`` is the list Falco keeps (``rule_loader::context``): the file, then
the item (rule 'x'), then the part of it (value for 'condition'), each with a
position.  ``SourcedText`` is a condition or output string that remembers which
YAML scalars it was built from, so an offset found by the condition parser can
be turned back into a line and column of the rules file.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from detector.errors import caret_snippet, line_col
from detector.language.frozen import constructor
from detector.loader import codes
from detector.loader.model import Location
from detector.loader.yamltree import YNode


@dataclass(frozen=True, slots=True)
class SourceFile:
    """The name and full text of one loaded rules content."""

    name: str
    text: str

    def clamp(self, offset: int) -> int:
        """An offset inside the text; one at a line end or past the end (a dangling ``tags:``,
        an unclosed quote) moves back onto the last character before it, as Falco's snippet does."""
        offset = max(0, min(offset, len(self.text)))
        while offset > 0 and (offset >= len(self.text) or self.text[offset] == "\n"):
            offset -= 1
        return offset

    def position(self, offset: int) -> tuple[int, int]:
        return line_col(self.text, offset)

    def snippet(self, offset: int) -> str:
        if not self.text:
            return "<No context available>"
        return caret_snippet(self.text, self.clamp(offset))


@dataclass(frozen=True, slots=True)
class Context:
    """Falco's context: the file plus nested locations, innermost last."""

    source: SourceFile
    locations: tuple[Location, ...]

    @classmethod
    def for_file(cls, source: SourceFile) -> Context:
        return cls(source, (Location(codes.RULES_CONTENT, "", source.name, 0, 1, 1),))

    def child(self, node: YNode | None, item_type: str, item_name: str = "") -> Context:
        """A nested location at ``node`` (or at the parent's position when there is no node)."""
        if node is None:
            last = self.locations[-1]
            loc = _new_location(item_type, item_name, last.file, last.offset, last.line, last.column)
        else:
            start = node.start
            loc = _new_location(item_type, item_name, self.source.name, start.offset, start.line,
                                start.column)
        return _new_context(self.source, self.locations + (loc,))

    def at_offset(self, offset: int, item_type: str = codes.CONDITION_EXPRESSION) -> Context:
        """A nested location at a character offset of the file."""
        offset = self.source.clamp(offset)
        line, column = self.source.position(offset)
        loc = Location(item_type, "", self.source.name, offset, line, column)
        return Context(self.source, self.locations + (loc,))

    @property
    def innermost(self) -> Location:
        return self.locations[-1]

    @property
    def item(self) -> Location:
        """The innermost location naming a rules-file item (rule, macro, list, exception...)."""
        for loc in reversed(self.locations):
            if loc.item_type in codes.NAMED_ITEM_TYPES:
                return loc
        return self.locations[0]

    def snippet(self) -> str:
        return self.source.snippet(self.innermost.offset)


@dataclass(frozen=True, slots=True)
class TextPiece:
    """A run of a built string: its start in the built string and where it came from."""

    start: int
    length: int
    node: YNode | None
    ctx: Context


def scalar_offset_map(node: YNode, value: str, file_text: str) -> list[int]:
    """For each character of a scalar's value, its offset in the file.

    Plain, folded and literal scalars keep their non-blank characters in order, so
    walking value and source together lines them up; an escape in a quoted scalar
    may make a character unfindable, in which case the rest maps to the last hit.
    """
    mapping: list[int] = []
    pos = node.start.offset
    end = min(max(node.end.offset, pos), len(file_text))
    if node.style in ("|", ">"):
        newline = file_text.find("\n", pos, end)
        pos = end if newline == -1 else newline + 1
    elif node.style in ("'", '"'):
        pos += 1
    last = pos
    for ch in value:
        if ch in " \t\n\r":
            mapping.append(last)
            continue
        found = file_text.find(ch, pos, end)
        if found == -1 or found - pos > 16:
            mapping.append(last)
            continue
        mapping.append(found)
        last = found
        pos = found + 1
    return mapping


@dataclass(frozen=True, slots=True)
class SourcedText:
    """A string built by joining YAML scalars (and generated text), with its origins."""

    text: str
    pieces: tuple[TextPiece, ...]

    @classmethod
    def from_node(cls, text: str, node: YNode | None, ctx: Context) -> SourcedText:
        return cls(text, (_new_piece(0, len(text), node, ctx),))

    def joined(self, sep: str, other: SourcedText) -> SourcedText:
        """``self + sep + other``, keeping both origins."""
        shift = len(self.text) + len(sep)
        moved = tuple(TextPiece(p.start + shift, p.length, p.node, p.ctx) for p in other.pieces)
        return SourcedText(self.text + sep + other.text, self.pieces + moved)

    def wrapped(self, before: str, after: str, ctx: Context) -> SourcedText:
        """``before + self + after``; the added text belongs to ``ctx``."""
        moved = tuple(TextPiece(p.start + len(before), p.length, p.node, p.ctx) for p in self.pieces)
        tail = TextPiece(len(before) + len(self.text), len(after), None, ctx)
        return SourcedText(before + self.text + after, moved + (tail,))

    def extended(self, extra: str, ctx: Context) -> SourcedText:
        piece = TextPiece(len(self.text), len(extra), None, ctx)
        return SourcedText(self.text + extra, self.pieces + (piece,))

    def context_at(self, offset: int, item_type: str = codes.CONDITION_EXPRESSION) -> Context:
        """The file position of character ``offset`` of the built string."""
        chosen: TextPiece | None = None
        for piece in self.pieces:
            if piece.start <= offset < piece.start + max(piece.length, 1):
                chosen = piece
                break
        if chosen is None:
            real = [p for p in self.pieces if p.node is not None]
            if not real:
                return self.pieces[-1].ctx if self.pieces else _NO_CONTEXT
            if offset < real[0].start:
                # Generated text before the written condition (Falco's wrapping parenthesis).
                chosen, offset = real[0], real[0].start
            else:
                # Past the end (a parser reporting end of input): the last real piece's end.
                chosen = real[-1]
                offset = chosen.start + max(chosen.length - 1, 0)
        if chosen.node is None:
            return chosen.ctx
        local = offset - chosen.start
        file_text = chosen.ctx.source.text
        value = self.text[chosen.start:chosen.start + chosen.length]
        mapping = scalar_offset_map(chosen.node, value, file_text)
        file_offset = mapping[local] if 0 <= local < len(mapping) else chosen.node.start.offset
        return chosen.ctx.at_offset(file_offset, item_type)


_NO_CONTEXT = Context.for_file(SourceFile("<unknown>", ""))
# Made for every item and value read, without the frozen dataclasses' slow __init__.
_new_location: Final = constructor(Location)
_new_context: Final = constructor(Context)
_new_piece: Final = constructor(TextPiece)
