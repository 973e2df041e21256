"""Prometheus metrics of one service instance, on a registry of its own (no process-global state)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

_LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
_EVAL_BUCKETS = (0.00001, 0.000025, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.05, 0.1)


class Metrics:
    """Every counter, gauge and histogram the sidecar exports.  Names start with ``detector_``."""

    CONTENT_TYPE = CONTENT_TYPE_LATEST

    def __init__(self) -> None:
        r = self.registry = CollectorRegistry(auto_describe=True)
        self.events_in = Counter("detector_events_in", "Events received, per input", ["input"], registry=r)
        self.bad_inputs = Counter(
            "detector_bad_inputs", "Inputs rejected, per input and reason", ["input", "reason"], registry=r
        )
        self.events_evaluated = Counter("detector_events_evaluated", "Events evaluated against the rules", registry=r)
        self.evaluation_errors = Counter(
            "detector_evaluation_errors", "Events whose evaluation raised (the event is skipped)", registry=r
        )
        self.alerts = Counter(
            "detector_alerts", "Alerts produced, per rule, priority and source", ["rule", "priority", "source"], registry=r
        )
        self.evaluation_seconds = Histogram(
            "detector_evaluation_seconds", "Time to evaluate one event", buckets=_EVAL_BUCKETS, registry=r
        )
        self.ingest_queue_depth = Gauge("detector_ingest_queue_depth", "Work items waiting for evaluation", registry=r)
        self.ingest_queue_limit = Gauge("detector_ingest_queue_limit", "Capacity of the ingest queue", registry=r)
        self.ingest_rejected = Counter(
            "detector_ingest_rejected", "Submissions refused because the ingest queue stayed full", ["input"], registry=r
        )

        self.output_delivered = Counter("detector_output_delivered", "Alerts delivered", ["output"], registry=r)
        self.output_retried = Counter("detector_output_retried", "Delivery attempts retried", ["output"], registry=r)
        self.output_failed = Counter(
            "detector_output_failed", "Alerts given up on (permanent error or retries exhausted)", ["output"], registry=r
        )
        self.output_dropped = Counter(
            "detector_output_dropped", "Alerts shed from the spool before this output had them", ["output"], registry=r
        )
        self.output_queued = Gauge("detector_output_queued", "Alerts spooled, not yet delivered", ["output"], registry=r)
        self.output_latency = Histogram(
            "detector_output_latency_seconds",
            "From receiving the event to delivering its alert",
            ["output"],
            buckets=_LATENCY_BUCKETS,
            registry=r,
        )

        self.spool_alerts = Gauge("detector_spool_alerts", "Alerts held in the spool", registry=r)
        self.spool_limit = Gauge("detector_spool_limit", "Capacity of the spool, in alerts", registry=r)
        self.spool_shed = Counter("detector_spool_shed", "Alerts removed from a full spool", registry=r)

        self.rules_reloads = Counter("detector_rules_reloads", "Rules reloads, per result", ["result"], registry=r)
        self.rules_reload_failures = Counter(
            "detector_rules_reload_failures", "Reloads whose new rules were rejected", registry=r
        )
        self.rules_generation = Gauge("detector_rules_generation", "Generation number of the running rule set", registry=r)
        self.rules_loaded = Gauge("detector_rules_loaded", "Rules in the running rule set", registry=r)
        self.rules_files = Gauge(
            "detector_rules_files_info", "Running rules files and their sha256", ["file_name", "sha256"], registry=r
        )
        self.reload_timestamp = Gauge(
            "detector_reload_timestamp_seconds", "When the running rule set was installed", registry=r
        )

        self.grpc_client_connected = Gauge("detector_grpc_client_connected", "1 while the Falco gRPC input is connected", registry=r)
        self.grpc_client_reconnects = Counter(
            "detector_grpc_client_reconnects", "Reconnection attempts of the Falco gRPC input", registry=r
        )
        self.grpc_subscribers = Gauge("detector_grpc_subscribers", "gRPC output subscribers", registry=r)
        self.grpc_subscriber_dropped = Counter(
            "detector_grpc_subscriber_dropped", "Alerts dropped for a gRPC subscriber whose queue was full", registry=r
        )
        self.connections = Gauge("detector_input_connections", "Open JSON-lines connections", ["input"], registry=r)
        self.internal_alerts = Counter("detector_internal_alerts", "Internal alerts raised", ["kind"], registry=r)
        self.internal_alerts_suppressed = Counter(
            "detector_internal_alerts_suppressed", "Internal alerts held back by rate limiting", ["kind"], registry=r
        )
        self.ready = Gauge("detector_ready", "1 when the service is ready", registry=r)

    def render(self) -> bytes:
        return generate_latest(self.registry)
