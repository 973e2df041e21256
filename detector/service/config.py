"""The sidecar's configuration: falco.yaml's keys where they overlap, plus ``inputs``, ``spool``, ``delivery``.

``load_config(path, overrides)`` reads the YAML file, applies ``-o key=value`` overrides and
returns a frozen ``ServiceConfig``.  Unknown keys are reported as warnings (as Falco's schema
validation does) and never read; wrong types and unusable values raise ``ConfigError``.
Secrets (tokens, custom header values) are only ever read from the file, never echoed in errors.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import yaml

from detector.priority import Priority
from detector.service.config_reader import Section
from detector.service.errors import ConfigError
from detector.service.overrides import apply_override

_LOOPBACK = "127.0.0.1"


@dataclass(frozen=True, slots=True)
class WebserverConfig:
    enabled: bool = True
    listen_address: str = _LOOPBACK
    listen_port: int = 8765
    k8s_healthz_endpoint: str = "/healthz"
    readyz_endpoint: str = "/readyz"
    prometheus_metrics_enabled: bool = True
    ssl_enabled: bool = False
    ssl_certificate: str = "/etc/falco/falco.pem"
    ssl_private_key: str = ""
    ssl_client_ca: str = ""
    auth_token_file: str = ""
    max_request_bytes: int = 1 << 20
    max_concurrent_requests: int = 256
    request_timeout: float = 10.0


@dataclass(frozen=True, slots=True)
class FalcoHttpInputConfig:
    enabled: bool = True
    path: str = "/"


@dataclass(frozen=True, slots=True)
class K8sAuditInputConfig:
    enabled: bool = True
    path: str = "/k8s-audit"
    max_batch_bytes: int = 12582912


@dataclass(frozen=True, slots=True)
class GrpcInputConfig:
    enabled: bool = False
    address: str = "unix:///run/falco/falco.sock"
    client_cert: str = ""
    client_key: str = ""
    root_certs: str = ""
    poll_interval: float = 0.1
    backoff_initial: float = 0.5
    backoff_max: float = 30.0


@dataclass(frozen=True, slots=True)
class JsonLinesInputConfig:
    unix_socket_enabled: bool = False
    unix_socket_path: str = "/run/detector/events.sock"
    unix_socket_mode: int = 0o660
    tcp_enabled: bool = False
    tcp_address: str = _LOOPBACK
    tcp_port: int = 8766
    max_connections: int = 64
    files: tuple[str, ...] = ()
    file_start: str = "beginning"
    file_poll_interval: float = 0.25
    max_line_bytes: int = 1 << 20


@dataclass(frozen=True, slots=True)
class InputsConfig:
    falco_http: FalcoHttpInputConfig = field(default_factory=FalcoHttpInputConfig)
    k8s_audit: K8sAuditInputConfig = field(default_factory=K8sAuditInputConfig)
    grpc: GrpcInputConfig = field(default_factory=GrpcInputConfig)
    json_lines: JsonLinesInputConfig = field(default_factory=JsonLinesInputConfig)


@dataclass(frozen=True, slots=True)
class FileOutputConfig:
    enabled: bool = False
    keep_alive: bool = True
    filename: str = "./events.txt"


@dataclass(frozen=True, slots=True)
class HttpOutputConfig:
    enabled: bool = False
    url: str = ""
    user_agent: str = "detector"
    insecure: bool = False
    ca_cert: str = ""
    mtls: bool = False
    client_cert: str = ""
    client_key: str = ""
    custom_headers: tuple[tuple[str, str], ...] = field(default=(), repr=False)
    timeout: float = 5.0
    max_retries: int = 0
    backoff_initial: float = 0.2
    backoff_max: float = 10.0
    concurrency: int = 4
    dead_letter_file: str = ""


@dataclass(frozen=True, slots=True)
class GrpcServerConfig:
    enabled: bool = False
    bind_address: str = "unix:///run/detector/detector.sock"
    private_key: str = ""
    cert_chain: str = ""
    root_certs: str = ""
    socket_mode: int = 0o660
    max_subscribers: int = 16
    subscriber_queue: int = 1000
    recent_alerts: int = 1000


@dataclass(frozen=True, slots=True)
class SpoolConfig:
    path: str = "/var/lib/detector/spool.db"
    max_alerts: int = 100_000
    synchronous: str = "normal"


@dataclass(frozen=True, slots=True)
class DeliveryConfig:
    batch_size: int = 256
    drain_timeout: float = 5.0
    output_timeout: float = 2.0
    internal_alert_interval: float = 30.0


@dataclass(frozen=True, slots=True)
class PipelineConfig:
    queue_size: int = 1024
    batch_size: int = 256
    submit_timeout: float = 5.0


@dataclass(frozen=True, slots=True)
class ServiceConfig:
    """Everything ``detector run`` needs.  ``source_file`` is where it was read from."""

    rules_files: tuple[str, ...] = ("/etc/falco/falco_rules.yaml", "/etc/falco/falco_rules.local.yaml", "/etc/falco/rules.d")
    priority: Priority = Priority.DEBUG
    rule_matching: str = "first"
    json_output: bool = True
    json_include_output_property: bool = True
    json_include_tags_property: bool = True
    json_include_message_property: bool = False
    json_include_output_fields_property: bool = True
    time_format_iso_8601: bool = False
    hostname: str = ""
    watch_config_files: bool = True
    watch_interval: float = 1.0
    reload_debounce: float = 0.5
    log_level: str = "info"
    webserver: WebserverConfig = field(default_factory=WebserverConfig)
    inputs: InputsConfig = field(default_factory=InputsConfig)
    stdout_output_enabled: bool = True
    file_output: FileOutputConfig = field(default_factory=FileOutputConfig)
    http_output: HttpOutputConfig = field(default_factory=HttpOutputConfig)
    grpc: GrpcServerConfig = field(default_factory=GrpcServerConfig)
    grpc_output_enabled: bool = False
    spool: SpoolConfig = field(default_factory=SpoolConfig)
    delivery: DeliveryConfig = field(default_factory=DeliveryConfig)
    pipeline: PipelineConfig = field(default_factory=PipelineConfig)
    source_file: str = ""
    unknown_keys: tuple[str, ...] = ()


def load_config(path: str | None, overrides: Iterable[str] = (), *, env: dict[str, str] | None = None) -> ServiceConfig:
    """Read ``path`` (or start from defaults when None), apply overrides, validate."""
    raw: dict[str, Any] = {}
    file = path or ""
    if path is not None:
        try:
            text = Path(path).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(f"cannot read configuration file: {exc.__class__.__name__}: {exc}", file=file) from None
        try:
            loaded = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
            raise ConfigError(f"invalid YAML{where}: {getattr(exc, 'problem', exc)}", file=file) from None
        if loaded is None:
            loaded = {}
        if not isinstance(loaded, dict):
            raise ConfigError(f"top level must be a map, got {type(loaded).__name__}", file=file)
        raw = loaded
    for text in overrides:
        apply_override(raw, text)
    return build_config(raw, file=file, env=os.environ if env is None else env)


def build_config(raw: dict[str, Any], *, file: str = "", env: Any = None) -> ServiceConfig:
    env = env if env is not None else {}
    top = Section(raw, "", file)
    base_dir = Path(file).resolve().parent if file else Path.cwd()

    def resolve(value: str) -> str:
        # Relative paths in a config file are relative to that file, so an example runs from anywhere.
        return value if not value or os.path.isabs(value) or value.startswith("unix:") else str(base_dir / value)

    defaults = ServiceConfig()
    priority_text = top.string("priority", "debug")
    try:
        priority = Priority.parse(priority_text)
    except ValueError:
        raise top.error("priority", f"unknown priority '{priority_text}'") from None

    hostname = top.string("hostname", "") or env.get("FALCO_HOSTNAME", "") or socket.gethostname()

    config = ServiceConfig(
        rules_files=tuple(resolve(p) for p in top.string_list("rules_files", defaults.rules_files)),
        priority=priority,
        rule_matching=top.choice("rule_matching", "first", ("first", "all")),
        json_output=top.boolean("json_output", True),
        json_include_output_property=top.boolean("json_include_output_property", True),
        json_include_tags_property=top.boolean("json_include_tags_property", True),
        json_include_message_property=top.boolean("json_include_message_property", False),
        json_include_output_fields_property=top.boolean("json_include_output_fields_property", True),
        time_format_iso_8601=top.boolean("time_format_iso_8601", False),
        hostname=hostname,
        watch_config_files=top.boolean("watch_config_files", True),
        watch_interval=top.duration("watch_interval", 1.0, minimum=0.05),
        reload_debounce=top.duration("reload_debounce", 0.5),
        log_level=top.choice("log_level", "info", ("debug", "info", "notice", "warning", "error", "critical")),
        webserver=_webserver(top.section("webserver"), resolve),
        inputs=_inputs(top.section("inputs"), resolve),
        stdout_output_enabled=top.section("stdout_output").boolean("enabled", True),
        file_output=_file_output(top.section("file_output"), resolve),
        http_output=_http_output(top.section("http_output"), resolve),
        grpc=_grpc_server(top.section("grpc"), resolve),
        grpc_output_enabled=top.section("grpc_output").boolean("enabled", False),
        spool=_spool(top.section("spool"), resolve),
        delivery=_delivery(top.section("delivery")),
        pipeline=_pipeline(top.section("pipeline")),
        source_file=file,
    )
    return replace(config, unknown_keys=tuple(top.unknown_keys()))


def _webserver(s: Section, resolve: Any) -> WebserverConfig:
    d = WebserverConfig()
    ws = WebserverConfig(
        enabled=s.boolean("enabled", d.enabled),
        listen_address=s.string("listen_address", d.listen_address),
        listen_port=s.integer("listen_port", d.listen_port, maximum=65535),
        k8s_healthz_endpoint=_path(s, "k8s_healthz_endpoint", d.k8s_healthz_endpoint),
        readyz_endpoint=_path(s, "readyz_endpoint", d.readyz_endpoint),
        prometheus_metrics_enabled=s.boolean("prometheus_metrics_enabled", d.prometheus_metrics_enabled),
        ssl_enabled=s.boolean("ssl_enabled", d.ssl_enabled),
        ssl_certificate=resolve(s.string("ssl_certificate", d.ssl_certificate)),
        ssl_private_key=resolve(s.string("ssl_private_key", "")),
        ssl_client_ca=resolve(s.string("ssl_client_ca", "")),
        auth_token_file=resolve(s.string("auth_token_file", "")),
        max_request_bytes=s.integer("max_request_bytes", d.max_request_bytes, minimum=1024),
        max_concurrent_requests=s.integer("max_concurrent_requests", d.max_concurrent_requests, minimum=1),
        request_timeout=s.duration("request_timeout", d.request_timeout, minimum=0.1),
    )
    s.integer("threadiness", 0)  # Falco's key; one event loop here, so it is accepted and unused
    return ws


def _path(s: Section, name: str, default: str) -> str:
    value = s.string(name, default)
    if not value.startswith("/"):
        raise s.error(name, f"an HTTP path must start with '/', got {value!r}")
    return value


def _inputs(s: Section, resolve: Any) -> InputsConfig:
    http = s.section("falco_http")
    audit = s.section("k8s_audit")
    grpc = s.section("grpc")
    jl = s.section("json_lines")
    unix = jl.section("unix_socket")
    tcp = jl.section("tcp")
    gd = GrpcInputConfig()
    grpc_cfg = GrpcInputConfig(
        enabled=grpc.boolean("enabled", False),
        address=grpc.string("address", gd.address),
        client_cert=resolve(grpc.string("client_cert", "")),
        client_key=resolve(grpc.string("client_key", "")),
        root_certs=resolve(grpc.string("root_certs", "")),
        poll_interval=grpc.duration("poll_interval", gd.poll_interval, minimum=0.01),
        backoff_initial=grpc.duration("backoff_initial", gd.backoff_initial, minimum=0.01),
        backoff_max=grpc.duration("backoff_max", gd.backoff_max, minimum=0.01),
    )
    if grpc_cfg.enabled and not grpc_cfg.address.startswith("unix:"):
        for key in ("client_cert", "client_key", "root_certs"):
            if not getattr(grpc_cfg, key):
                raise grpc.error(key, "a TCP gRPC address needs mTLS: client_cert, client_key and root_certs")
    jd = JsonLinesInputConfig()
    return InputsConfig(
        falco_http=FalcoHttpInputConfig(enabled=http.boolean("enabled", True), path=_path(http, "path", "/")),
        k8s_audit=K8sAuditInputConfig(
            enabled=audit.boolean("enabled", True),
            path=_path(audit, "path", "/k8s-audit"),
            max_batch_bytes=audit.integer("max_batch_bytes", K8sAuditInputConfig().max_batch_bytes, minimum=1024),
        ),
        grpc=grpc_cfg,
        json_lines=JsonLinesInputConfig(
            unix_socket_enabled=unix.boolean("enabled", False),
            unix_socket_path=resolve(unix.string("path", jd.unix_socket_path)),
            unix_socket_mode=unix.integer("mode", jd.unix_socket_mode, maximum=0o777),
            tcp_enabled=tcp.boolean("enabled", False),
            tcp_address=tcp.string("address", jd.tcp_address),
            tcp_port=tcp.integer("port", jd.tcp_port, maximum=65535),
            max_connections=jl.integer("max_connections", jd.max_connections, minimum=1),
            files=tuple(resolve(p) for p in jl.string_list("files", ())),
            file_start=jl.choice("file_start", jd.file_start, ("beginning", "end")),
            file_poll_interval=jl.duration("file_poll_interval", jd.file_poll_interval, minimum=0.01),
            max_line_bytes=jl.integer("max_line_bytes", jd.max_line_bytes, minimum=256),
        ),
    )


def _file_output(s: Section, resolve: Any) -> FileOutputConfig:
    return FileOutputConfig(
        enabled=s.boolean("enabled", False),
        keep_alive=s.boolean("keep_alive", True),
        filename=resolve(s.string("filename", FileOutputConfig().filename)),
    )


def _http_output(s: Section, resolve: Any) -> HttpOutputConfig:
    d = HttpOutputConfig()
    cfg = HttpOutputConfig(
        enabled=s.boolean("enabled", False),
        url=s.string("url", ""),
        user_agent=s.string("user_agent", d.user_agent),
        insecure=s.boolean("insecure", False),
        ca_cert=resolve(s.string("ca_cert", "")),
        mtls=s.boolean("mtls", False),
        client_cert=resolve(s.string("client_cert", "")),
        client_key=resolve(s.string("client_key", "")),
        custom_headers=s.string_map("custom_headers"),
        timeout=s.duration("timeout", d.timeout, minimum=0.01),
        max_retries=s.integer("max_retries", 0),
        backoff_initial=s.duration("backoff_initial", d.backoff_initial, minimum=0.001),
        backoff_max=s.duration("backoff_max", d.backoff_max, minimum=0.001),
        concurrency=s.integer("concurrency", d.concurrency, minimum=1, maximum=64),
        dead_letter_file=resolve(s.string("dead_letter_file", "")),
    )
    if cfg.enabled and not cfg.url.startswith(("http://", "https://")):
        raise s.error("url", "http_output needs an http:// or https:// url")
    if cfg.mtls and not (cfg.client_cert and cfg.client_key):
        raise s.error("mtls", "mtls needs client_cert and client_key")
    return cfg


def _grpc_server(s: Section, resolve: Any) -> GrpcServerConfig:
    d = GrpcServerConfig()
    cfg = GrpcServerConfig(
        enabled=s.boolean("enabled", False),
        bind_address=s.string("bind_address", d.bind_address),
        private_key=resolve(s.string("private_key", "")),
        cert_chain=resolve(s.string("cert_chain", "")),
        root_certs=resolve(s.string("root_certs", "")),
        socket_mode=s.integer("socket_mode", d.socket_mode, maximum=0o777),
        max_subscribers=s.integer("max_subscribers", d.max_subscribers, minimum=1),
        subscriber_queue=s.integer("subscriber_queue", d.subscriber_queue, minimum=1),
        recent_alerts=s.integer("recent_alerts", d.recent_alerts),
    )
    s.integer("threadiness", 0)  # Falco's key; accepted and unused
    if cfg.enabled and not cfg.bind_address.startswith("unix:"):
        for key in ("private_key", "cert_chain", "root_certs"):
            if not getattr(cfg, key):
                raise s.error(key, "gRPC over TCP is only served with mTLS: set private_key, cert_chain and root_certs")
    return cfg


def _spool(s: Section, resolve: Any) -> SpoolConfig:
    return SpoolConfig(
        path=resolve(s.string("path", SpoolConfig().path)),
        max_alerts=s.integer("max_alerts", SpoolConfig().max_alerts, minimum=10),
        synchronous=s.choice("synchronous", "normal", ("normal", "full")),
    )


def _delivery(s: Section) -> DeliveryConfig:
    d = DeliveryConfig()
    return DeliveryConfig(
        batch_size=s.integer("batch_size", d.batch_size, minimum=1, maximum=10_000),
        drain_timeout=s.duration("drain_timeout", d.drain_timeout),
        output_timeout=s.duration("output_timeout", d.output_timeout, minimum=0.01),
        internal_alert_interval=s.duration("internal_alert_interval", d.internal_alert_interval),
    )


def _pipeline(s: Section) -> PipelineConfig:
    d = PipelineConfig()
    return PipelineConfig(
        queue_size=s.integer("queue_size", d.queue_size, minimum=1),
        batch_size=s.integer("batch_size", d.batch_size, minimum=1, maximum=100_000),
        submit_timeout=s.duration("submit_timeout", d.submit_timeout, minimum=0.001),
    )
