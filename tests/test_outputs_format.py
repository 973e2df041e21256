"""Output format strings: libsinsp's token syntax, errors, rendering and JSON typing."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from detector.errors import OutputFormatError
from detector.outputs.format import OutputFormat
from tests.shared import shared_dir, shared_path

EVENT: dict[str, Any] = {
    "evt.time": 1507591916746609046,
    "evt.rawtime": 1507591916746609046,
    "evt.type": "openat",
    "proc.name": "init",
    "proc.pid": 1,
    "proc.cmdline": "init --x",
    "proc.aname[1]": "bash",
    "proc.aname[2]": "sshd",
    "fd.name": "/test/dir/file.txt",
    "evt.arg.flags": "O_RDONLY",
    "user.uid": 0,
    "user.name": None,
}


def fmt(text: str, source: str = "syscall", **kw: Any) -> OutputFormat:
    return OutputFormat.compile(text, source, **kw)


# --- rendering (cases after libsinsp's sinsp_formatter_test) ----------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("start %proc.name end", "start init end"),
        ("start %2proc.name end", "start in end"),
        ("start %10proc.name end", "start init       end"),
        ("start%proc.nameand%proc.pidend", "startinitand1end"),
        ("start %proc.name %user.name end", "start init <NA> end"),
        ("*start %proc.name %user.name end", "start init <NA> end"),
        ("start end", "start end"),
        ("start %proc.aname[2] end", "start sshd end"),
        ("hello |%proc.name| |%proc.aname| end", "hello |init| |bash sshd| end"),
        ("start %toupper(proc.name) end", "start INIT end"),
        ("start %tolower(toupper(proc.name)) end", "start init end"),
        ("start %toupper( tolower( proc.name ) ) end", "start INIT end"),
        ("start %2toupper(proc.name) end", "start IN end"),
        ("start %10toupper(proc.name) end", "start INIT       end"),
        ("start %basename(fd.name) end", "start file.txt end"),
        ("start %len(proc.name) end", "start 4 end"),
        ('start %join("->", (proc.name, fd.name)) end', "start init->/test/dir/file.txt end"),
        ("start %concat(proc.name, fd.name) end", "start init/test/dir/file.txt end"),
        ("start %toupper(concat(proc.name, fd.name)) end", "start INIT/TEST/DIR/FILE.TXT end"),
        ("flags=%evt.arg.flags)", "flags=O_RDONLY)"),
        ("%proc.name[1]", "init[1]"),
        ("", ""),
    ],
)
def test_render(text: str, expected: str) -> None:
    assert fmt(text).render(EVENT) == expected


def test_field_names_and_values_follow_libsinsp() -> None:
    f = fmt("start %toupper(proc.name) %proc.pid %proc.aname[2] %user.name end")
    assert f.field_names == ("proc.name", "proc.pid", "proc.aname[2]", "user.name")
    # Transformed values stay out of output_fields, as Falco leaves resolve_transformed_fields off.
    assert f.values(EVENT) == {"proc.name": "init", "proc.pid": 1, "proc.aname[2]": "sshd", "user.name": None}
    f = fmt("start %toupper(proc.name) %concat(toupper(proc.name), fd.name) end", resolve_transformed=True)
    assert f.field_names == ("toupper(proc.name)", "proc.name", "concat(toupper(proc.name),fd.name)", "fd.name")
    assert f.values(EVENT)["concat(toupper(proc.name),fd.name)"] == "INIT/test/dir/file.txt"
    f = fmt('%toupper(join("->", (concat(proc.name, fd.name), proc.name)))', resolve_transformed=True)
    assert set(f.field_names) == {
        "toupper(join(->,(concat(proc.name,fd.name),proc.name)))",
        "concat(proc.name,fd.name)",
        "proc.name",
        "fd.name",
    }


def test_json_values_keep_types() -> None:
    f = fmt("%evt.time %evt.time.iso8601 %evt.rawtime %proc.pid %proc.name %user.name %proc.aname")
    values = f.values(EVENT)
    assert values["evt.time"] == 1507591916746609046  # extract_as_js: the timestamp, not its text
    assert values["evt.time.iso8601"] == 1507591916746609046
    assert values["evt.rawtime"] == 1507591916746609046
    assert values["proc.pid"] == 1 and values["proc.name"] == "init" and values["user.name"] is None
    assert values["proc.aname"] == "bash sshd"
    assert orjson.loads(orjson.dumps(values)) == values


def test_k8s_list_fields_render_as_falco_lists() -> None:
    event = {
        "auditID": "x",
        "stageTimestamp": "2018-10-25T14:09:12.581541Z",
        "user": {"username": "u", "groups": ["a", "b"]},
        "requestObject": {"spec": {"containers": [{"image": "nginx"}, {"image": "redis:7"}]}},
    }
    f = fmt("u=%ka.user.name g=%ka.user.groups i=%ka.req.pod.containers.image[1] x=%ka.target.name t=%evt.time",
            "k8s_audit")
    assert f.render(event) == "u=u g=(a,b) i=(redis:7) x=<NA> t=14:09:12.581541000"
    assert f.values(event) == {
        "ka.user.name": "u",
        "ka.user.groups": ["a", "b"],
        "ka.req.pod.containers.image[1]": ["redis:7"],
        "ka.target.name": None,
        "evt.time": 1540476552581541000,
    }


def test_bad_events_render_without_errors() -> None:
    f = fmt("%proc.name %proc.pid %len(proc.name) %evt.time")
    for event in ({}, {"proc.name": 3, "proc.pid": "x", "evt.time": "later"}, {"proc.name": ["a"]}):
        assert isinstance(f.render(event), str)
        orjson.dumps(f.values(event))


# --- errors (libsinsp's messages) --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "message", "offset"),
    [
        ("start %proc.name %", "invalid formatting syntax: formatting cannot end with a %", 17),
        ("start %12", "invalid formatting syntax: formatting cannot end with a number", 6),
        ("start %some.field end", "invalid formatting token some.field end", 7),
        ("start %a end", "invalid formatting token a end", 7),
        ("start % end", "invalid formatting token  end", 7),
        ("100% done", "invalid formatting token  done", 4),
        ("x %fd.net y", "fd.net y is filter only and cannot be used as a display field", 3),
        ("start %toupper(evt.num) end", "field type '8' is not supported by 'toupper' transformer", 7),
        ("start %val(proc.aname) end", "invalid formatting token val(proc.aname) end", 7),
        ("start %(proc.aname) end", "invalid formatting token (proc.aname) end", 7),
        ("start %toupper(proc.aname", "missing closing transformer parenthesis: e", 25),
        ("start %toupper(tolower(proc.aname)", "missing closing transformer parenthesis: )", 34),
        ("start %toupper(val(proc.aname))", "invalid formatting token val(proc.aname))", 15),
        ("start %toupper (proc.name) end", "invalid formatting token toupper (proc.name) end", 7),
        ("*%evt.time: x %nope.x", "invalid formatting token nope.x", 15),
    ],
)
def test_errors(text: str, message: str, offset: int) -> None:
    with pytest.raises(OutputFormatError) as exc:
        fmt(text)
    assert str(exc.value) == message
    assert exc.value.offset == offset
    assert exc.value.text == text
    assert "^" in exc.value.describe()


def test_argument_errors_come_from_the_registry() -> None:
    with pytest.raises(OutputFormatError, match="requires an argument"):
        fmt("x %ka.uri.param y", "k8s_audit")
    with pytest.raises(OutputFormatError, match="unknown event source"):
        fmt("x %proc.name", "aws_cloudtrail")


def _rule_outputs() -> list[tuple[str, str, str]]:
    base = shared_dir()
    if base is None:
        return []
    cases = []
    for rel, source in (
        ("falco/rules/falco_rules.yaml", "syscall"),
        ("falco/rules/falco-incubating_rules.yaml", "syscall"),
        ("falco/rules/falco-sandbox_rules.yaml", "syscall"),
        ("falco/rules/k8s_audit_rules.yaml", "k8s_audit"),
        ("conformance/k8saudit_rules_for_expected.yaml", "k8s_audit"),
    ):
        path: Path = base / rel
        for item in yaml.safe_load(path.read_text()) or []:
            if isinstance(item, dict) and "rule" in item and isinstance(item.get("output"), str):
                cases.append((f"{path.name}:{item['rule']}", item["output"].strip(), item.get("source", source)))
    return cases


@pytest.mark.parametrize(("rule", "output", "source"), _rule_outputs() or [("none", "", "")], ids=lambda v: v)
def test_every_upstream_rule_output_compiles(rule: str, output: str, source: str) -> None:
    if rule == "none":
        pytest.skip("shared material absent")
    f = fmt(output, source)
    assert f.field_names
    assert "<NA>" in f.render({})
    orjson.dumps(f.values({}))


def test_k8s_rule_outputs_render_on_their_traces() -> None:
    rules = {
        item["rule"]: item
        for item in yaml.safe_load(shared_path("falco", "rules", "k8s_audit_rules.yaml").read_text())
        if isinstance(item, dict) and "rule" in item
    }
    (line,) = [x for x in shared_path("data", "k8saudit", "create_nginx_pod_privileged.json").read_bytes().splitlines() if x]
    event = orjson.loads(line)
    f = fmt(rules["Create Privileged Pod"]["output"].strip(), "k8s_audit")
    assert f.render(event) == (
        "Pod started with privileged container (user=system:serviceaccount:kube-system:replicaset-controller "
        "pod=nginx-deployment-5cdcc99dbf-rgw6z resource=pods ns=default images=(nginx) init_images=<NA> "
        "ephemeral_images=<NA>)"
    )


# --- never a traceback ------------------------------------------------------------------------------

_pieces = st.sampled_from(
    ["%", "%proc.name", "%10", "toupper(", "tolower(", "concat(", "join(", ")", "(", ",", " ", '"', "'",
     "[", "]", "proc.aname", "[2]", "evt.arg.", "flags", "ka.user.name", "%ka.uri.param[", "*", "fd.net", "x", "9"]
)


@settings(max_examples=400, deadline=None)
@given(st.lists(_pieces, max_size=12).map("".join), st.sampled_from(["syscall", "k8s_audit"]))
def test_compile_only_raises_output_format_error(text: str, source: str) -> None:
    try:
        f = fmt(text, source)
    except OutputFormatError as exc:
        assert str(exc)
        return
    assert isinstance(f.render(EVENT), str)
    orjson.dumps(f.values(EVENT))
