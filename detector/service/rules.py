"""The running rule set and its hot reload.

A reload loads and validates the new files completely, off the event loop, while the old
engine keeps evaluating; only a clean load (no errors) replaces it, in one reference
assignment on the event-loop thread between two evaluation batches, so every event is
evaluated by exactly one rule set.  A broken set leaves the old one running and raises a
CRITICAL internal alert, as Falco's hot restart failure does.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from detector.priority import Priority
from detector.service.config import ServiceConfig
from detector.service.errors import ConfigError
from detector.service.internal import InternalAlerts
from detector.service.metrics import Metrics
from detector.service.protocols import EngineFactory, EngineLike, RulesLoader

log = logging.getLogger("detector.service")

_RULE_EXTENSIONS = (".yaml", ".yml")
_MAX_REPORTED_ERRORS = 5


@dataclass(frozen=True, slots=True)
class Generation:
    """One loaded rule set.  ``files`` pairs each rules file with its sha256."""

    number: int
    engine: EngineLike
    files: tuple[tuple[str, str], ...]
    rule_count: int | None
    loaded_at: float


class RulesLoadError(Exception):
    """The rules files did not load cleanly; ``errors`` are the loader's messages."""

    def __init__(self, errors: list[str]) -> None:
        super().__init__("; ".join(errors[:_MAX_REPORTED_ERRORS]))
        self.errors = errors


def expand_rules_paths(paths: tuple[str, ...]) -> list[str]:
    """Files as given; a directory stands for its ``.yaml``/``.yml`` files in name order (as Falco)."""
    found: list[str] = []
    for path in paths:
        if os.path.isdir(path):
            try:
                names = sorted(os.listdir(path))
            except OSError as exc:
                raise RulesLoadError([f"{path}: cannot list rules directory: {exc.strerror}"]) from None
            found.extend(
                os.path.join(path, n)
                for n in names
                if n.endswith(_RULE_EXTENSIONS) and os.path.isfile(os.path.join(path, n))
            )
        else:
            found.append(path)
    return found


def _snapshot(paths: tuple[str, ...]) -> tuple[tuple[str, int, int, int], ...]:
    """What the watcher compares: (path, inode, size, mtime) of every rules file and directory."""
    items: list[tuple[str, int, int, int]] = []
    for path in paths:
        candidates = [path]
        if os.path.isdir(path):
            try:
                candidates += [os.path.join(path, n) for n in sorted(os.listdir(path))]
            except OSError:
                pass
        for candidate in candidates:
            try:
                st = os.stat(candidate)
                items.append((candidate, st.st_ino, st.st_size, st.st_mtime_ns))
            except OSError:
                items.append((candidate, -1, -1, -1))
    return tuple(items)


class RulesManager:
    """Holds the running ``Generation`` and replaces it on reload requests."""

    def __init__(
        self,
        config: ServiceConfig,
        loader: RulesLoader,
        engine_factory: EngineFactory,
        metrics: Metrics,
        internal: InternalAlerts,
    ) -> None:
        self._config = config
        self._loader = loader
        self._engine_factory = engine_factory
        self._metrics = metrics
        self._internal = internal
        self._current: Generation | None = None
        self._requested = asyncio.Event()
        self._last_snapshot: tuple[tuple[str, int, int, int], ...] = ()
        self._reloads = 0

    @property
    def current(self) -> Generation:
        if self._current is None:
            raise RuntimeError("rules not loaded")
        return self._current

    @property
    def engine(self) -> EngineLike:
        return self.current.engine

    def load_initial(self) -> Generation:
        """Load at startup; raises ``RulesLoadError`` so the service refuses to start on broken rules."""
        self._last_snapshot = _snapshot(self._config.rules_files)
        generation = self._build(1)
        self._install(generation)
        return generation

    def _build(self, number: int) -> Generation:
        if not self._config.rules_files:
            raise RulesLoadError(["no rules_files configured"])
        files = expand_rules_paths(self._config.rules_files)
        if not files:
            raise RulesLoadError(["no rules file found in " + ", ".join(self._config.rules_files)])
        hashes: list[tuple[str, str]] = []
        for path in files:
            try:
                hashes.append((path, hashlib.sha256(Path(path).read_bytes()).hexdigest()))
            except OSError as exc:
                raise RulesLoadError([f"{path}: cannot read rules file: {exc.strerror}"]) from None
        try:
            result = self._loader(*files)
        except Exception as exc:  # a loader bug must not take the service down
            raise RulesLoadError([f"loader failed: {exc.__class__.__name__}: {exc}"]) from None
        if result.errors:
            raise RulesLoadError([describe_diagnostic(e) for e in result.errors])
        for warning in list(result.warnings)[:_MAX_REPORTED_ERRORS]:
            log.info("rules warning: %s", describe_diagnostic(warning))
        try:
            engine = self._engine_factory(result.ruleset, self._config)
        except Exception as exc:
            raise RulesLoadError([f"cannot build the engine: {exc.__class__.__name__}: {exc}"]) from None
        return Generation(number, engine, tuple(hashes), _rule_count(result.ruleset), time.time())

    def _install(self, generation: Generation) -> None:
        old = self._current
        self._current = generation
        m = self._metrics
        m.rules_generation.set(generation.number)
        m.reload_timestamp.set(generation.loaded_at)
        if generation.rule_count is not None:
            m.rules_loaded.set(generation.rule_count)
        if old is not None:
            for path, digest in old.files:
                try:
                    m.rules_files.remove(path, digest)
                except KeyError:
                    pass
        for path, digest in generation.files:
            m.rules_files.labels(path, digest).set(1)
        log.info(
            "rules generation %d running: %s",
            generation.number,
            ", ".join(f"{p} (sha256 {d[:12]})" for p, d in generation.files),
        )

    def request_reload(self, reason: str) -> None:
        log.info("rules reload requested (%s)", reason)
        self._requested.set()

    async def run(self) -> None:
        """Serve reload requests one at a time; requests arriving during a reload coalesce into one more."""
        while True:
            await self._requested.wait()
            self._requested.clear()
            await self.reload()

    async def reload(self) -> bool:
        snapshot = _snapshot(self._config.rules_files)
        number = self.current.number + 1
        try:
            generation = await asyncio.to_thread(self._build, number)
        except RulesLoadError as exc:
            self._last_snapshot = snapshot
            self._metrics.rules_reloads.labels("failed").inc()
            self._metrics.rules_reload_failures.inc()
            shown = exc.errors[:_MAX_REPORTED_ERRORS]
            self._internal.raise_alert(
                "reload_failure",
                "Detector internal: rules reload failure",
                f"Detector internal: rules reload failure: {shown[0] if shown else 'unknown error'}",
                Priority.CRITICAL,
                {
                    "errors": len(exc.errors),
                    "first_errors": shown,
                    "running_generation": self.current.number,
                },
            )
            return False
        self._last_snapshot = snapshot
        self._install(generation)
        self._metrics.rules_reloads.labels("ok").inc()
        return True

    async def watch(self, clock: Callable[[], float] = time.monotonic) -> None:
        """Poll the rules files; a change that then stays still for ``reload_debounce`` triggers a reload.

        Debouncing matters when a tool writes several files one by one: one reload sees them all.
        """
        interval = self._config.watch_interval
        pending: tuple[tuple[str, int, int, int], ...] | None = None
        changed_at = 0.0
        while True:
            await asyncio.sleep(interval)
            snapshot = await asyncio.to_thread(_snapshot, self._config.rules_files)
            if snapshot == self._last_snapshot:
                pending = None
                continue
            if snapshot != pending:
                pending = snapshot
                changed_at = clock()
                continue
            if clock() - changed_at >= self._config.reload_debounce:
                pending = None
                self._last_snapshot = snapshot
                self.request_reload("rules files changed")


def describe_diagnostic(diagnostic: Any) -> str:
    """``file:line:col: CODE: message`` for a loader diagnostic; ``str()`` for anything else."""
    where = getattr(diagnostic, "where", None)
    code = getattr(diagnostic, "code", None)
    message = getattr(diagnostic, "message", None)
    if isinstance(where, str) and isinstance(message, str):
        return f"{where}: {code}: {message}" if code else f"{where}: {message}"
    return str(diagnostic)


def _rule_count(ruleset: Any) -> int | None:
    rules = getattr(ruleset, "rules", None)
    try:
        return len(rules) if rules is not None else None
    except TypeError:
        return None


def check_rules_files(config: ServiceConfig) -> None:
    """Fail early, with the key named, when ``rules_files`` is empty."""
    if not config.rules_files:
        raise ConfigError("at least one rules file or directory is needed", key="rules_files", file=config.source_file)
