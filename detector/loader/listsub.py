"""List names replaced by their items in condition text, exactly as Falco's ``resolve_list``.

Falco substitutes lists textually before parsing, one list at a time in
definition order, wherever the name stands between delimiters (so ``= my_list``
is substituted too).  This is ``detector.language.resolve.resolve_lists`` (the
tests hold the two to the same output) plus a record of each substitution, so
that an offset the parser reports in the substituted text can be traced back to
the text as written.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final

from detector.loader.exceptions import quote_item

_BLANKS: Final = " \t\n\r"
_DELIMS: Final = _BLANKS + "(),="


@dataclass(frozen=True, slots=True)
class Edit:
    """``text[start:end]`` (the name and blanks around it) became ``length`` characters."""

    start: int
    end: int
    length: int
    anchor: int


@dataclass(frozen=True, slots=True)
class Substituted:
    text: str
    used: frozenset[str]
    edits: tuple[Edit, ...]

    def original_offset(self, offset: int) -> int:
        """Where ``offset`` of the substituted text was in the text before substitution."""
        for edit in reversed(self.edits):
            if offset < edit.start:
                continue
            if offset < edit.start + edit.length:
                offset = edit.anchor
            else:
                offset = offset - edit.length + (edit.end - edit.start)
        return offset


def _resolve_one(cnd: str, name: str, items: tuple[str, ...], edits: list[Edit]) -> tuple[str, bool]:
    used = False
    start = cnd.find(name)
    while start != -1:
        end = start + len(name)
        if ((start == 0 or cnd[start - 1] in _DELIMS)
                and (end >= len(cnd) or cnd[end] in _DELIMS)):
            anchor = start
            while start > 0 and cnd[start - 1] in _BLANKS:
                start -= 1
            while end < len(cnd) and cnd[end] in _BLANKS:
                end += 1
            sub = ", ".join(quote_item(v) for v in items)
            if not sub:
                if start > 0 and cnd[start - 1] == ",":
                    start -= 1
                elif end < len(cnd) and cnd[end] == ",":
                    end += 1
            inserted = (" " if start > 0 else "") + sub + " "
            edits.append(Edit(start, end, len(inserted), anchor))
            cnd = cnd[:start] + inserted + cnd[end:]
            start += len(sub) + 1
            used = True
        start = cnd.find(name, start + 1)
    return cnd, used


def substitute_lists(text: str, lists: Iterable[tuple[str, tuple[str, ...]]]) -> Substituted:
    """Substitute every list (name, compiled items), in the given order, into ``text``."""
    edits: list[Edit] = []
    used: set[str] = set()
    for name, items in lists:
        if name and name in text:
            text, hit = _resolve_one(text, name, items, edits)
            if hit:
                used.add(name)
    return Substituted(text, frozenset(used), tuple(edits))
