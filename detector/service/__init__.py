"""The long-running sidecar behind ``detector run``: network inputs, durable delivery, metrics, reload."""

from __future__ import annotations

from detector.service.config import ServiceConfig, load_config
from detector.service.errors import ConfigError, SpoolError, StartupError
from detector.service.service import Dependencies, Service, run_service

__all__ = [
    "ConfigError",
    "Dependencies",
    "Service",
    "ServiceConfig",
    "SpoolError",
    "StartupError",
    "load_config",
    "run_service",
]
