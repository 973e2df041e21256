"""Work reused across the recompilation after each file gives what doing it afresh gives."""

from __future__ import annotations

import random

from detector.language import as_string, parse
from detector.language.lists import ListTable, substitute_lists
from detector.loader import RulesLoader, load_rules
from detector.loader.compiler import CompileCache

NAMES = ["a", "b", "ab", "shell", "shells", "x y", "c,d", "bin", "q", "", "b=c"]
VALUES = ["a", "b", "x y", "'q r'", "shells", "bin", "", "ab", "q", "c,d", "z"]
PIECES = ["a", "b", "ab", "shell", "shells", " ", ",", "(", ")", "=", "x y", "bin", "\t", "q", "c,d",
          "b=c", " in ", "\n"]


def _lists(rnd: random.Random) -> list[tuple[str, tuple[str, ...]]]:
    return [(rnd.choice(NAMES), tuple(rnd.choice(VALUES) for _ in range(rnd.randrange(3))))
            for _ in range(rnd.randrange(7))]


def _text(rnd: random.Random) -> str:
    return "".join(rnd.choice(PIECES) for _ in range(rnd.randrange(12)))


def test_list_table_substitutes_like_falco_s_one_list_at_a_time() -> None:
    rnd = random.Random(11)
    for _ in range(5000):
        lists, text = _lists(rnd), _text(rnd)
        got, want = ListTable(lists).substitute(text), substitute_lists(text, lists)
        assert (got.text, got.used, got.edits) == (want.text, want.used, want.edits), (text, lists)


def test_substitutions_kept_across_list_changes_stay_right() -> None:
    rnd = random.Random(12)
    for _ in range(500):
        cache = CompileCache()
        lists: dict[str, tuple[str, ...]] = {}
        texts = [_text(rnd) for _ in range(6)]
        for _ in range(5):
            for name, items in _lists(rnd)[:2]:
                lists[name] = items  # redefinitions keep their place, new lists come last
            cache.use_lists(dict(lists))
            for text in texts:
                got = cache.substitute(text)
                want = substitute_lists(text, lists.items())
                assert (got.text, got.used, got.edits) == (want.text, want.used, want.edits)


BASE = """
- list: shells
  items: [sh, bash]
- macro: spawned
  condition: evt.type = execve and evt.dir = <
- macro: shell_spawned
  condition: spawned and proc.name in (shells)
- rule: shell
  desc: d
  condition: shell_spawned and not proc.pname in (shells)
  output: shell %proc.name
  priority: WARNING
- rule: other
  desc: d
  condition: spawned and proc.name = top
  output: top %proc.name
  priority: INFO
"""

LOCAL = """
- list: shells
  items: [zsh]
  append: true
- list: editors
  items: [vi]
- rule: editor
  desc: d
  condition: spawned and proc.name in (editors)
  output: editor %proc.name
  priority: INFO
"""


def test_unchanged_items_are_not_rebuilt_between_files() -> None:
    loader = RulesLoader()
    loader.load(BASE)
    first = {m.name: m.expr for m in loader.ruleset.macros}
    first_rules = {r.name: r for r in loader.ruleset.rules}
    loader.load(LOCAL)
    second = {m.name: m.expr for m in loader.ruleset.macros}
    rules = {r.name: r for r in loader.ruleset.rules}
    assert second["spawned"] is first["spawned"]  # nothing it uses changed
    assert second["shell_spawned"] is not first["shell_spawned"]  # its list grew
    assert "zsh" in rules["shell"].condition_compiled
    assert rules["other"].compiled is first_rules["other"].compiled
    fresh = load_rules(BASE + LOCAL)
    assert [(r.name, r.condition_compiled, r.evttypes) for r in fresh.ruleset.rules] == [
        (r.name, r.condition_compiled, r.evttypes) for r in loader.ruleset.rules]
    assert loader.files[0].warnings == load_rules(BASE).files[0].warnings


def test_shared_macro_bodies_print_once_and_alike() -> None:
    loader = RulesLoader()
    loader.load(BASE)
    for rule in loader.ruleset.rules:
        assert rule.condition_compiled == as_string(rule.expr)
        assert parse(rule.condition_compiled) == rule.expr
