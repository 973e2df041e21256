"""The long-running sidecar behind ``detector run``: network inputs, durable delivery, metrics, reload.

Names are imported on first use (PEP 562): ``detector replay -o key=value`` uses
``detector.service.overrides`` alone and must not pay for the network stack.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from detector.service.config import ServiceConfig, load_config
    from detector.service.errors import ConfigError, SpoolError, StartupError
    from detector.service.service import Dependencies, Service, run_service

_WHERE: dict[str, str] = {
    "ConfigError": "detector.service.errors",
    "Dependencies": "detector.service.service",
    "Service": "detector.service.service",
    "ServiceConfig": "detector.service.config",
    "SpoolError": "detector.service.errors",
    "StartupError": "detector.service.errors",
    "load_config": "detector.service.config",
    "run_service": "detector.service.service",
}

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


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'detector.service' has no attribute {name!r}")
    value = getattr(import_module(module), name)
    globals()[name] = value
    return value
