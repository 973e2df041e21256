"""The loader's YAML layer, reader, collector and text passes, without compiling conditions."""

from __future__ import annotations

import pytest

from detector.language.lists import substitute_lists
from detector.loader import RulesLoader, codes
from detector.loader.context import Context, SourcedText, SourceFile
from detector.loader.exceptions import build_condition, normalize_comp
from detector.loader.infos import Entry, ExceptionInfo
from detector.loader.versions import Version, decode_bool, decode_uint32
from detector.loader.yamltree import YamlError, compose_documents


def load(text: str, **kwargs: object) -> RulesLoader:
    loader = RulesLoader(**kwargs)  # type: ignore[arg-type]
    loader.load_text(text, name="t.yaml")
    return loader


# yamltree ---------------------------------------------------------------------------------


def test_scalars_stay_the_text_written() -> None:
    loader = load("- list: l\n  items: [on, yes, 0.10, 007, 'true', 1e3, No]\n")
    assert loader.files[-1].errors == ()
    assert loader.ruleset.list("l") is not None
    assert loader.ruleset.list("l").items == ("on", "yes", "0.10", "007", "true", "1e3", "No")  # type: ignore[union-attr]


def test_null_scalars_only_for_plain_empty_tilde_null() -> None:
    docs = compose_documents("a: ~\nb:\nc: null\nd: 'null'\ne: NULL\nf: nil\n")
    root = docs.documents[0]
    assert root is not None
    kinds = {k: v.kind for (k, _), (_, v) in zip(root.keys(), root.pairs, strict=True)}
    assert kinds == {"a": "null", "b": "null", "c": "null", "d": "scalar", "e": "null", "f": "scalar"}


def test_positions_are_one_based_and_character_offsets() -> None:
    docs = compose_documents("- list: é\n  items: [x]\n")
    seq = docs.documents[0]
    assert seq is not None
    item = seq.items[0]
    items = item.get("items")
    assert items is not None
    assert (items.start.line, items.start.column, items.start.offset) == (2, 10, 19)


@pytest.mark.parametrize("text, fragment", [
    ("a: &x [1]\nb: 2\n", "anchors are not supported"),
    ("- [a, b]\n- *x\n", "aliases are not supported"),
])
def test_anchors_and_aliases_are_refused(text: str, fragment: str) -> None:
    with pytest.raises(YamlError) as info:
        compose_documents(text)
    assert fragment in info.value.message


def test_alias_bomb_is_refused_quickly() -> None:
    levels = ["a0: &a0 [x, x, x, x, x, x, x, x, x]"]
    for i in range(1, 12):
        refs = ", ".join([f"*a{i - 1}"] * 9)
        levels.append(f"a{i}: &a{i} [{refs}]")
    with pytest.raises(YamlError):
        compose_documents("\n".join(levels) + "\n")


@pytest.mark.parametrize("depth", [250, 5000, 200_000])
def test_deep_nesting_is_a_clean_error(depth: int) -> None:
    with pytest.raises(YamlError) as info:
        compose_documents("x: " + "[" * depth + "]" * depth + "\n", max_depth=200)
    assert "nesting" in info.value.message


def test_yaml_errors_use_yaml_cpp_words_and_positions() -> None:
    with pytest.raises(YamlError) as info:
        compose_documents("- rule: x\n  desc: a: b\n")
    assert info.value.message == "yaml-cpp: error at line 2, column 10: illegal map value"
    assert (info.value.mark.line, info.value.mark.column) == (2, 10)


def test_several_documents_are_read_in_order() -> None:
    loader = load("- list: a\n  items: [x]\n---\n- list: b\n  items: [y]\n---\n")
    assert [lst.name for lst in loader.ruleset.lists] == ["a", "b"]


# reader -----------------------------------------------------------------------------------


def test_first_error_stops_the_file_and_all_errors_reports_each() -> None:
    text = "- list: a\n  items: x\n- list: b\n- list: c\n  items: [z]\n"
    stop = load(text)
    assert [e.message for e in stop.files[-1].errors] == ["Value is not a sequence"]
    assert stop.ruleset.lists == ()
    every = load(text, all_errors=True)
    assert [e.message for e in every.files[-1].errors] == [
        "Value is not a sequence", "Item has no mapping for key 'items'"]
    assert [lst.name for lst in every.ruleset.lists] == ["c"]


def test_error_carries_code_item_position_and_snippet() -> None:
    loader = load("- list: good\n  items: [a]\n- list: bad_list\n  items:\n    - a\n    - [b]\n")
    (err,) = loader.files[-1].errors
    assert err.code == codes.LOAD_ERR_YAML_VALIDATE
    assert err.message == "sequence value is not scalar"
    assert (err.item_kind, err.item_name) == ("list", "bad_list")
    assert (err.file, err.line, err.column) == ("t.yaml", 6, 7)
    assert err.snippet == "    - [b]\n      ^"
    assert [loc.item_type for loc in err.locations] == ["rules content", "list", "value for", "list item"]


def test_unknown_keys_items_and_duplicates_are_warnings() -> None:
    loader = load("- list: l\n  items: [a]\n  itmes: [b]\n  items: [c]\n- lisst: x\n")
    res = loader.files[-1]
    assert res.errors == ()
    got = [(w.code, w.message, w.line) for w in res.warnings if w.code != codes.LOAD_UNUSED_LIST]
    assert got == [
        (codes.LOAD_UNKNOWN_KEY, "Unknown key 'itmes'. The key will be ignored.", 3),
        (codes.LOAD_UNKNOWN_KEY, "Duplicate key 'items'. Only its first value is used.", 4),
        (codes.LOAD_UNKNOWN_ITEM, "Unknown top level item", 5),
    ]
    assert loader.ruleset.list("l").items == ("a",)  # type: ignore[union-attr]


def test_invalid_list_name_is_a_warning() -> None:
    res = load("- list: my list\n  items: [a]\n").files[-1]
    assert any(w.code == codes.LOAD_INVALID_LIST_NAME and w.message == codes.WARNING_INVALID_LIST_NAME
               for w in res.warnings)


def test_schema_status() -> None:
    assert load("- list: a\n  items: [x]\n").files[-1].schema_validation == "ok"
    assert load("- list: a\n  items: [x]\n  bogus: 1\n").files[-1].schema_validation == "failed"
    assert load("# nothing\n").files[-1].schema_validation == "none"


# collector --------------------------------------------------------------------------------


def test_list_redefinition_keeps_place_and_append_extends() -> None:
    loader = load(
        "- list: a\n  items: [x]\n- list: b\n  items: [y]\n"
        "- list: a\n  items: [z]\n"
        "- list: b\n  items: [w]\n  append: true\n"
    )
    assert [(lst.name, lst.items) for lst in loader.ruleset.lists] == [("a", ("z",)), ("b", ("y", "w"))]
    assert any(w.message == codes.WARNING_APPEND for w in loader.files[-1].warnings)


def test_state_persists_across_loads() -> None:
    loader = RulesLoader()
    loader.load_text("- list: base\n  items: [a]\n", name="base.yaml")
    res = loader.load_text("- list: base\n  items: [b]\n  override:\n    items: append\n", name="local.yaml")
    assert res.errors == ()
    assert loader.ruleset.list("base").items == ("a", "b")  # type: ignore[union-attr]


def test_list_in_list_only_sees_earlier_lists() -> None:
    loader = load(
        "- list: inner\n  items: [a, b]\n"
        "- list: outer\n  items: [inner, later, c]\n"
        "- list: later\n  items: [z]\n"
    )
    assert loader.ruleset.list("outer").items == ("a", "b", "later", "c")  # type: ignore[union-attr]
    unused = {w.item_name for w in loader.files[-1].warnings if w.code == codes.LOAD_UNUSED_LIST}
    assert unused == {"outer", "later"}


def test_engine_version_checks() -> None:
    assert load("- required_engine_version: 26\n").files[-1].errors == ()
    assert load("- required_engine_version: 0.63.0\n").files[-1].errors == ()
    (err,) = load("- required_engine_version: 0.64.0\n").files[-1].errors
    assert err.message == "Rules require engine version 0.64.0, but engine version is 0.63.0"
    assert err.code == codes.LOAD_ERR_VALIDATE
    (err,) = load("- required_engine_version: 64\n").files[-1].errors
    assert err.message == "Rules require engine version 0.64.0, but engine version is 0.63.0"


def test_plugin_requirements_are_recorded() -> None:
    loader = load("- required_plugin_versions:\n    - name: json\n      version: 0.7.0\n"
                  "      alternatives:\n        - name: other\n          version: 1.0.0\n")
    assert loader.files[-1].errors == ()
    assert loader.ruleset.required_plugin_versions[0].alternatives == (("json", "0.7.0"), ("other", "1.0.0"))


# text passes ------------------------------------------------------------------------------


def test_list_substitution_matches_falco_and_maps_offsets_back() -> None:
    lists = [("shells", ("sh", "bash")), ("empty", ()), ("spaced", ("a b",))]
    sub = substitute_lists("proc.name in (shells) and x in (empty, c) and y = spaced", lists)
    assert sub.text == "proc.name in ( sh, bash ) and x in (   c) and y = \"a b\" "
    assert sub.used == frozenset({"shells", "empty", "spaced"})
    original = "proc.name in (shells) and x in (empty, c) and y = spaced"
    assert sub.original_offset(sub.text.index("and x")) == original.index("and x")
    assert sub.original_offset(sub.text.index("bash")) == original.index("shells")


def test_list_name_needs_delimiters() -> None:
    sub = substitute_lists("proc.name in (myshells, shells_x)", [("shells", ("sh",))])
    assert sub.used == frozenset()


def _entry(*items: object) -> Entry:
    def one(x: object) -> Entry:
        if isinstance(x, list):
            return Entry(is_list=True, items=tuple(one(i) for i in x))
        return Entry(item=str(x))
    return Entry(is_list=True, items=tuple(one(i) for i in items))


def test_exception_text_is_built_as_falco_does() -> None:
    ctx = Context.for_file(SourceFile("t.yaml", ""))
    cond = SourcedText("evt.type = open", ())
    ex1 = ExceptionInfo("a", _entry("proc.name", "fd.name"), _entry("=", "in"),
                        (_entry("a b", ["x", "y z"]), _entry("c", "d")), ctx)
    ex2 = ExceptionInfo("b", Entry(item="proc.pname"), Entry(item="in"),
                        (Entry(item="p q"), Entry(item="r")), ctx)
    ex3 = ExceptionInfo("c", _entry("proc.name"), _entry("startswith oneof"), (_entry("sshd"),), ctx)
    built = build_condition(cond, (ex1, ex2, ex3))
    assert built.text == (
        '(evt.type = open) and not (( proc.name = "a b" and fd.name in (x, "y z")) or '
        '( proc.name = c and fd.name in (d))) and not (proc.pname in ("p q", r))'
        " and not (( proc.name startswith oneof (sshd)))"
    )
    assert normalize_comp("  startswith   oneof ") == "startswith oneof"


def test_scalar_decoding_follows_yaml_cpp() -> None:
    assert [decode_bool(t) for t in ("yes", "On", "TRUE", "tRUE", "n", "maybe")] == [
        True, True, True, None, False, None]
    assert [decode_uint32(t) for t in ("26", "0x1A", "017", "-1", " 3", "4294967296", "0.26.0")] == [
        26, 26, 15, None, None, None, None]
    assert Version.parse("0.26.0-rc1") == Version(0, 26, 0)
    assert Version.parse("0.26") is None


@pytest.mark.parametrize("text", [
    "proc.name in (shells, empty) and fd.name = spaced or x in (shells)",
    "shells", "(empty)", "a=shells,empty", "proc.name in (shellsx, xshells, empty ,shells)",
])
def test_list_substitution_agrees_with_the_language_stage(text: str) -> None:
    from detector.language.resolve import resolve_lists

    lists = {"shells": ("sh", "bash"), "empty": (), "spaced": ("a b", "c")}
    ours = substitute_lists(text, lists.items())
    theirs = resolve_lists(text, lists)
    assert (ours.text, ours.used) == theirs
