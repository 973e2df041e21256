"""Configuration of ``detector run``: falco.yaml keys, ``-o`` overrides, located errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from detector.priority import Priority
from detector.service.config import build_config, load_config
from detector.service.errors import ConfigError
from detector.service.overrides import apply_override, parse_key

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "detector.yaml"


def test_parse_key_dots_indices_and_escapes() -> None:
    assert parse_key("webserver.listen_port") == ["webserver", "listen_port"]
    assert parse_key("rules_files[1]") == ["rules_files", 1]
    assert parse_key("a[0].b") == ["a", 0, "b"]
    assert parse_key(r"base.dotted\.key") == ["base", "dotted.key"]


@pytest.mark.parametrize("key", ["", ".a", "a.", "a..b", "a[x]", "a[1", "[0]"])
def test_parse_key_rejects_malformed(key: str) -> None:
    with pytest.raises(ConfigError):
        parse_key(key)


def test_apply_override_types_and_lists() -> None:
    raw: dict = {"rules_files": ["a.yaml"]}
    apply_override(raw, "webserver.listen_port=9000")
    apply_override(raw, "json_output=false")
    apply_override(raw, "rules_files[1]=b.yaml")
    apply_override(raw, "rules_files[0]=z.yaml")
    apply_override(raw, "http_output.custom_headers.X-Token=abc")
    assert raw["webserver"]["listen_port"] == 9000
    assert raw["json_output"] is False
    assert raw["rules_files"] == ["z.yaml", "b.yaml"]
    assert raw["http_output"]["custom_headers"] == {"X-Token": "abc"}
    with pytest.raises(ConfigError, match="past the end"):
        apply_override(raw, "rules_files[5]=c.yaml")
    with pytest.raises(ConfigError, match="key=value"):
        apply_override(raw, "novalue")


def test_defaults_are_safe() -> None:
    config = build_config({}, env={})
    assert config.webserver.listen_address == "127.0.0.1"
    assert config.inputs.json_lines.tcp_address == "127.0.0.1"
    assert config.inputs.json_lines.unix_socket_mode == 0o660
    assert config.grpc.enabled is False
    assert config.priority is Priority.DEBUG
    assert config.json_output is True


def test_falco_keys_and_relative_paths(tmp_path: Path) -> None:
    path = tmp_path / "detector.yaml"
    path.write_text(
        "rules_files: [rules/a.yaml, /abs/b.yaml]\n"
        "priority: warning\n"
        "json_output: false\n"
        "webserver: {listen_port: 0, threadiness: 4, k8s_healthz_endpoint: /health}\n"
        "file_output: {enabled: true, filename: out/events.txt}\n"
        "spool: {path: spool.db, max_alerts: 50}\n"
        "delivery: {drain_timeout: 1500ms}\n"
        "plugins: []\n"
    )
    config = load_config(str(path), ["priority=error"], env={"FALCO_HOSTNAME": "node-7"})
    assert config.rules_files == (str(tmp_path / "rules/a.yaml"), "/abs/b.yaml")
    assert config.priority is Priority.ERROR
    assert config.json_output is False
    assert config.webserver.k8s_healthz_endpoint == "/health"
    assert config.file_output.filename == str(tmp_path / "out/events.txt")
    assert config.spool.path == str(tmp_path / "spool.db")
    assert config.delivery.drain_timeout == pytest.approx(1.5)
    assert config.hostname == "node-7"
    assert config.unknown_keys == ("plugins",)


@pytest.mark.parametrize(
    ("raw", "key", "fragment"),
    [
        ({"priority": "loud"}, "priority", "unknown priority"),
        ({"webserver": {"listen_port": 70000}}, "webserver.listen_port", "between"),
        ({"webserver": {"listen_port": "abc"}}, "webserver.listen_port", "integer"),
        ({"json_output": "maybe"}, "json_output", "true or false"),
        ({"delivery": {"drain_timeout": "soon"}}, "delivery.drain_timeout", "duration"),
        ({"http_output": {"enabled": True, "url": "ftp://x"}}, "http_output.url", "http://"),
        ({"grpc": {"enabled": True, "bind_address": "0.0.0.0:5060"}}, "grpc.private_key", "mTLS"),
        ({"inputs": {"grpc": {"enabled": True, "address": "falco:5060"}}}, "inputs.grpc.client_cert", "mTLS"),
        ({"webserver": []}, "webserver", "expected a map"),
        ({"rules_files": [1.5, {"a": 1}]}, "rules_files[1]", "string"),
    ],
)
def test_errors_name_the_key(raw: dict, key: str, fragment: str) -> None:
    with pytest.raises(ConfigError) as info:
        build_config(raw, file="conf.yaml", env={})
    assert info.value.key == key
    assert fragment in info.value.message
    assert str(info.value).startswith(f"conf.yaml: {key}: ")


def test_unreadable_and_invalid_files(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read"):
        load_config(str(tmp_path / "missing.yaml"))
    bad = tmp_path / "bad.yaml"
    bad.write_text("webserver: [\n")
    with pytest.raises(ConfigError, match="invalid YAML at line"):
        load_config(str(bad))
    scalar = tmp_path / "scalar.yaml"
    scalar.write_text("42\n")
    with pytest.raises(ConfigError, match="top level must be a map"):
        load_config(str(scalar))


def test_secrets_stay_out_of_repr() -> None:
    config = build_config({"http_output": {"custom_headers": {"Authorization": "Bearer s3cret"}}}, env={})
    assert "s3cret" not in repr(config)


def test_example_config_loads() -> None:
    config = load_config(str(EXAMPLE), env={})
    assert config.unknown_keys == ()
    assert config.rules_files
