"""Engine and alert-format settings read from falco.yaml-style keys.

``detector replay -o key=value`` and the sidecar's configuration file share
these names with Falco: ``priority``, ``rule_matching``, ``json_output``,
``json_include_output_property``, ``json_include_tags_property``,
``json_include_message_property``, ``json_include_output_fields_property``,
``time_format_iso_8601`` and ``rules`` (enable/disable by rule name or tag).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from detector.engine import EngineOptions, RuleSelection, SelectionError
from detector.errors import DetectorError
from detector.outputs.alert import JsonOptions
from detector.outputs.sinks import LineFormat
from detector.priority import Priority

KNOWN_KEYS = frozenset({
    "priority", "rule_matching", "json_output", "json_include_output_property",
    "json_include_tags_property", "json_include_message_property",
    "json_include_output_fields_property", "time_format_iso_8601", "rules",
    "stdout_output", "file_output", "program_output",
})


class SettingsError(DetectorError, ValueError):
    """A setting has a value Falco would refuse; ``key`` names it."""

    def __init__(self, key: str, message: str) -> None:
        super().__init__(f"{key}: {message}")
        self.key = key


def _bool(key: str, value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    raise SettingsError(key, f"expected true or false, got {value!r}")


@dataclass(frozen=True, slots=True)
class OutputChannels:
    """falco.yaml's ``stdout_output``, ``file_output`` and ``program_output``."""

    stdout: bool = True
    file: str | None = None
    file_keep_alive: bool = False
    program: str | None = None
    program_keep_alive: bool = False


def _section(raw: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    value = raw.get(key, {})
    if not isinstance(value, Mapping):
        raise SettingsError(key, "expected a mapping")
    return value


def _channels(raw: Mapping[str, Any]) -> OutputChannels:
    stdout = _section(raw, "stdout_output")
    file = _section(raw, "file_output")
    program = _section(raw, "program_output")
    file_on = _bool("file_output.enabled", file.get("enabled", False))
    program_on = _bool("program_output.enabled", program.get("enabled", False))
    if file_on and not file.get("filename"):
        raise SettingsError("file_output.filename", "required when file_output is enabled")
    if program_on and not program.get("program"):
        raise SettingsError("program_output.program", "required when program_output is enabled")
    return OutputChannels(
        stdout=_bool("stdout_output.enabled", stdout.get("enabled", True)),
        file=str(file["filename"]) if file_on else None,
        file_keep_alive=_bool("file_output.keep_alive", file.get("keep_alive", False)),
        program=str(program["program"]) if program_on else None,
        program_keep_alive=_bool("program_output.keep_alive", program.get("keep_alive", False)),
    )


@dataclass(frozen=True, slots=True)
class Settings:
    engine: EngineOptions
    line_format: LineFormat
    channels: OutputChannels = OutputChannels()

    @classmethod
    def from_mapping(cls, raw: Mapping[str, Any]) -> Settings:
        priority = Priority.DEBUG
        if "priority" in raw:
            try:
                priority = Priority.parse(str(raw["priority"]))
            except ValueError as exc:
                raise SettingsError("priority", str(exc)) from None
        matching = str(raw.get("rule_matching", "first")).lower()
        if matching not in ("first", "all"):
            raise SettingsError("rule_matching", f"expected 'first' or 'all', got {raw['rule_matching']!r}")
        try:
            selection = RuleSelection.from_config(raw.get("rules"))
        except SelectionError as exc:
            raise SettingsError("rules", str(exc)) from None
        iso = _bool("time_format_iso_8601", raw.get("time_format_iso_8601", False))
        json_options = JsonOptions(
            include_output=_bool("json_include_output_property", raw.get("json_include_output_property", True)),
            include_tags=_bool("json_include_tags_property", raw.get("json_include_tags_property", True)),
            include_message=_bool("json_include_message_property", raw.get("json_include_message_property", False)),
            include_output_fields=_bool(
                "json_include_output_fields_property", raw.get("json_include_output_fields_property", True)
            ),
        )
        engine = EngineOptions(
            priority=priority,
            rule_matching="all" if matching == "all" else "first",
            selection=selection,
            time_format_iso_8601=iso,
        )
        line_format = LineFormat(
            json_output=_bool("json_output", raw.get("json_output", False)),
            json_options=json_options,
        )
        return cls(engine, line_format, _channels(raw))
