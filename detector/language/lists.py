"""List names replaced by their items in condition text, exactly as Falco's ``resolve_list``.

Falco substitutes lists textually before parsing, one list at a time in
definition order, wherever the name stands between delimiters (so ``= my_list``
is substituted too; quirks included: a list name is replaced wherever it stands,
not only inside parentheses).  Each substitution is recorded, so that an offset
the parser reports in the substituted text can be traced back to the text as
written; ``ListTable`` substitutes many texts against the same lists quickly.
"""

from __future__ import annotations

import heapq
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final

_BLANKS: Final = " \t\n\r"
_DELIMS: Final = _BLANKS + "(),="
_WORD: Final = re.compile(r"[^ \t\n\r(),=]+")  # a run between delimiters: where a list name can stand


@dataclass(frozen=True, slots=True)
class Edit:
    """``text[start:end]`` (the name and blanks around it) became ``length`` characters."""

    start: int
    end: int
    length: int
    anchor: int


@dataclass(frozen=True, slots=True)
class Substituted:
    """A condition text after list substitution.

    ``words`` are the words of the original text and of every list inserted into it:
    the names of the only lists that could have changed the result.
    """

    text: str
    used: frozenset[str]
    edits: tuple[Edit, ...]
    words: frozenset[str] = frozenset()

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


def _resolve_one(cnd: str, name: str, sub: str, edits: list[Edit]) -> tuple[str, bool]:
    """Every delimited ``name`` in ``cnd`` replaced by ``sub`` (the list's quoted, joined items)."""
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


def quote_item(text: str) -> str:
    """Falco quotes an item containing a space unless it already starts with a quote."""
    if " " in text and text[:1] not in ('"', "'"):
        return f'"{text}"'
    return text


def is_word(name: str) -> bool:
    """Whether ``name`` can only stand as a whole word between delimiters."""
    return _WORD.fullmatch(name) is not None


def joined_items(items: tuple[str, ...]) -> str:
    """A list's items as Falco writes them in place of its name."""
    return ", ".join(quote_item(v) for v in items)


class ListTable:
    """A snapshot of the lists (name, items, in order), for substituting many texts.

    A list name without delimiter characters is only substituted where it is a
    whole word between delimiters, so only the lists named by a word of the text
    need a look.  Substituting inserts items surrounded by blanks, which may add
    words (so later lists may now apply) but never joins existing ones; the
    lists are still tried in order, as Falco does.  Names holding a delimiter are
    tried in their turn like any other.
    """

    __slots__ = ("_names", "_subs", "_by_word", "_always", "_follow")

    def __init__(self, lists: Iterable[tuple[str, tuple[str, ...]]]) -> None:
        self._names: list[str] = []
        self._subs: list[str] = []
        self._by_word: dict[str, list[int]] = {}
        self._always: list[int] = []
        for index, (name, items) in enumerate(lists):
            self._names.append(name)
            self._subs.append(joined_items(items))
            if not name:
                continue
            if is_word(name):
                self._by_word.setdefault(name, []).append(index)
            else:
                self._always.append(index)
        # lists whose names the items of list i bring in, after i (computed on first use)
        self._follow: dict[int, tuple[int, ...]] = {}

    def _candidates(self, words: Iterable[str], after: int) -> set[int]:
        by_word = self._by_word
        return {i for w in words if w in by_word for i in by_word[w] if i > after}

    def substitute(self, text: str) -> Substituted:
        """Substitute every list, in order, into ``text``."""
        words = _WORD.findall(text)
        pending = self._candidates(words, -1)
        pending.update(self._always)
        if not pending:
            return Substituted(text, frozenset(), (), frozenset(words))
        seen_words = set(words)
        heap = sorted(pending)
        edits: list[Edit] = []
        used: set[str] = set()
        names, subs = self._names, self._subs
        while heap:
            index = heapq.heappop(heap)
            name = names[index]
            if name not in text:
                continue
            text, hit = _resolve_one(text, name, subs[index], edits)
            if not hit:
                continue
            used.add(name)
            seen_words.update(_WORD.findall(subs[index]))
            follow = self._follow.get(index)
            if follow is None:
                follow = self._follow[index] = tuple(sorted(self._candidates(_WORD.findall(subs[index]), index)))
            for later in follow:
                if later not in pending:
                    pending.add(later)
                    heapq.heappush(heap, later)
        return Substituted(text, frozenset(used), tuple(edits), frozenset(seen_words))


def substitute_lists(text: str, lists: Iterable[tuple[str, tuple[str, ...]]]) -> Substituted:
    """Substitute every list (name, compiled items), in the given order, into ``text``."""
    edits: list[Edit] = []
    used: set[str] = set()
    for name, items in lists:
        if name and name in text:
            text, hit = _resolve_one(text, name, joined_items(items), edits)
            if hit:
                used.add(name)
    return Substituted(text, frozenset(used), tuple(edits))
