"""The compiler's semantics: visibility, exceptions, outputs, warnings, and the model it builds."""

from __future__ import annotations

from detector.loader import ExtraOutput, RulesLoader, codes, load_rules
from detector.priority import Priority


def rule(name: str, cond: str, *, output: str = "x %proc.name", extra: str = "") -> str:
    return (f"- rule: {name}\n  desc: about {name}\n  condition: {cond}\n  output: {output}\n"
            f"  priority: WARNING\n{extra}")


def warnings_of(text: str, code: str, **kwargs: object) -> list[str]:
    res = load_rules(text, **kwargs)  # type: ignore[arg-type]
    assert res.ok, [e.describe() for e in res.errors]
    return [w.message for w in res.warnings if w.code == code]


def test_compiled_rule_model() -> None:
    text = (
        "- list: shells\n  items: [sh, bash]\n"
        "- macro: spawned\n  condition: evt.type = execve\n"
        + rule("shell", "spawned and proc.name in (shells)", extra="  tags: [a, b]\n  enabled: false\n")
    )
    res = load_rules(text)
    (r,) = res.ruleset.rules
    assert r.condition == "spawned and proc.name in (shells)"
    assert r.condition_compiled == "(evt.type = execve and proc.name in (sh, bash))"
    assert (r.priority, r.tags, r.enabled, r.source) == (Priority.WARNING, frozenset({"a", "b"}), False, "syscall")
    assert r.evttypes == frozenset({"execve"})
    assert (r.file, r.line) == ("rules.yaml", 5)
    assert r.matches({"evt.type": "execve", "proc.name": "bash"})
    assert not r.matches({"evt.type": "execve", "proc.name": "zsh"})
    macro = res.ruleset.macro("spawned")
    assert macro is not None and macro.used
    assert res.ruleset.list("shells").items == ("sh", "bash")  # type: ignore[union-attr]


def test_macro_sees_only_earlier_macros_rules_see_all() -> None:
    later = "- macro: a\n  condition: b\n- macro: b\n  condition: evt.type = open\n"
    (err,) = load_rules(later).errors
    assert (err.code, err.message, err.item_name) == (
        codes.LOAD_ERR_VALIDATE, "Undefined macro 'b' used in filter.", "a")
    rule_first = rule("r", "m") + "- macro: m\n  condition: evt.type = open\n"
    assert load_rules(rule_first).ok


def test_redefinition_moves_visibility_but_keeps_place() -> None:
    text = (
        "- macro: a\n  condition: evt.type = open\n"
        "- macro: b\n  condition: evt.type = close\n"
        "- macro: a\n  condition: b\n"
        + rule("r", "a")
    )
    res = load_rules(text)
    assert res.ok
    assert [m.name for m in res.ruleset.macros] == ["a", "b"]
    assert res.ruleset.rules[0].condition_compiled == "evt.type = close"


def test_unsafe_na_check() -> None:
    text = rule("k", "ka.verb = create and ka.user.name != <NA>", output="'%ka.verb'", extra="  source: k8s_audit\n")
    assert warnings_of(text, codes.LOAD_UNSAFE_NA_CHECK) == [""]
    safe = rule("k", 'ka.verb = create and ka.user.name exists', output="'%ka.verb'", extra="  source: k8s_audit\n")
    assert warnings_of(safe, codes.LOAD_UNSAFE_NA_CHECK) == []
    syscall = rule("s", 'evt.type = open and proc.name = "<NA>"')
    assert warnings_of(syscall, codes.LOAD_UNSAFE_NA_CHECK) == []


def test_unknown_source_is_skipped_with_a_warning() -> None:
    text = rule("cloud", "ct.name = x", extra="  source: aws_cloudtrail\n") + rule("r", "evt.type = open")
    res = load_rules(text)
    assert res.ok
    assert [r.name for r in res.ruleset.rules] == ["r"]
    (w,) = [w for w in res.warnings if w.code == codes.LOAD_UNKNOWN_SOURCE]
    assert (w.message, w.item_name) == ("Unknown source aws_cloudtrail, skipping", "cloud")


def test_skip_if_unknown_filter_in_condition_and_output() -> None:
    skip = "  skip-if-unknown-filter: true\n"
    text = (rule("c", "evt.type = open and proc.nobody = x", extra=skip)
            + rule("o", "evt.type = open", output="'%proc.nobody'", extra=skip)
            + rule("r", "evt.type = open"))
    res = load_rules(text)
    assert res.ok
    assert [r.name for r in res.ruleset.rules] == ["r"]
    got = [(w.item_name, w.message) for w in res.warnings if w.code == codes.LOAD_UNKNOWN_FILTER]
    assert got == [("c", "filter_check called with nonexistent field proc.nobody"),
                   ("o", "invalid formatting token proc.nobody")]


def test_container_info_is_deprecated_and_removed() -> None:
    res = load_rules(rule("r", "evt.type = open", output="hello %container.info end"))
    assert res.ruleset.rules[0].output == "hello  end"
    (w,) = [w for w in res.warnings if w.code == codes.LOAD_DEPRECATED_ITEM]
    assert w.message == codes.WARNING_CONTAINER_INFO


def test_extra_outputs_follow_source_tags_and_rule() -> None:
    text = rule("a", "evt.type = open", extra="  tags: [t1]\n") + rule("b", "evt.type = open")
    res = load_rules(text, extra_outputs=[ExtraOutput("T=%evt.type", tags=frozenset({"t1"})),
                                          ExtraOutput("B", rule="b"), ExtraOutput("K", source="k8s_audit")])
    assert [r.output for r in res.ruleset.rules] == ["x %proc.name T=%evt.type", "x %proc.name B"]


def test_no_evttype_warning() -> None:
    assert warnings_of(rule("r", "proc.name = x"), codes.LOAD_NO_EVTTYPE) == [codes.WARNING_NO_EVTTYPE]
    assert warnings_of(rule("r", "evt.type != open"), codes.LOAD_NO_EVTTYPE) == [codes.WARNING_NO_EVTTYPE]
    assert warnings_of(rule("r", "evt.type in (open, close)"), codes.LOAD_NO_EVTTYPE) == []
    quiet = rule("r", "proc.name = x", extra="  warn_evttypes: false\n")
    assert warnings_of(quiet, codes.LOAD_NO_EVTTYPE) == []


def test_deprecated_field_warnings_point_at_the_field() -> None:
    res = load_rules(rule("r", "evt.type = open and evt.dir = <", output="dir=%evt.dir"))
    got = [(w.message.split(" ")[0], w.line, w.column) for w in res.warnings
           if w.code == codes.LOAD_DEPRECATED_ITEM]
    assert got == [("usage", 4, 16), ("due", 3, 34)]


def test_unused_macros_and_lists_are_warned_once_loaded() -> None:
    text = "- macro: m\n  condition: evt.type = open\n- list: l\n  items: [a]\n" + rule("r", "evt.type = open")
    res = load_rules(text)
    assert [(w.code, w.item_name, w.line) for w in res.warnings] == [
        (codes.LOAD_UNUSED_MACRO, "m", 1), (codes.LOAD_UNUSED_LIST, "l", 3)]


def test_invalid_macro_name_warns() -> None:
    text = "- macro: my-macro\n  condition: evt.type = open\n" + rule("r", "evt.type = open")
    assert warnings_of(text, codes.LOAD_INVALID_MACRO_NAME) == [codes.WARNING_INVALID_MACRO_NAME]


def test_local_file_overrides_base_across_loads() -> None:
    loader = RulesLoader()
    loader.load_text("- list: shells\n  items: [sh]\n" + rule("r", "evt.type = execve and proc.name in (shells)"),
                     name="base.yaml")
    res = loader.load_text(
        "- list: shells\n  items: [zsh]\n  override:\n    items: append\n"
        "- rule: r\n  condition: and user.uid = 0\n  override:\n    condition: append\n"
        "- rule: r\n  priority: CRITICAL\n  enabled: false\n  override:\n    priority: replace\n    enabled: replace\n",
        name="local.yaml")
    assert res.errors == ()
    (r,) = loader.ruleset.rules
    assert r.condition_compiled == "(evt.type = execve and proc.name in (sh, zsh) and user.uid = 0)"
    assert (r.priority, r.enabled) == (Priority.CRITICAL, False)
    assert loader.result().ok


def test_exception_values_and_fields_reach_the_condition() -> None:
    text = rule("r", "evt.type = open", extra=(
        "  exceptions:\n    - name: known\n      fields: [proc.name, fd.directory]\n"
        "      comps: [=, startswith]\n      values:\n        - [apk, /usr/lib/alpine]\n"
        "    - name: single\n      fields: proc.pname\n      values: [sshd, \"my daemon\"]\n"))
    res = load_rules(text)
    assert res.ok
    (r,) = res.ruleset.rules
    assert r.condition_compiled == (
        "(evt.type = open and not (proc.name = apk and fd.directory startswith /usr/lib/alpine) "
        'and not proc.pname in (sshd, "my daemon"))')
    assert r.exception_fields == frozenset({"proc.name", "fd.directory", "proc.pname"})
    assert not r.matches({"evt.type": "open", "proc.pname": "my daemon"})
