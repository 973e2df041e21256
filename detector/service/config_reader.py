"""Typed access to one map of the raw YAML configuration, with the dotted key path in every error."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import re2

from detector.service.errors import ConfigError

_DURATION = re2.compile(r"^\s*([0-9]+(?:\.[0-9]+)?)\s*(ms|s|m|h)?\s*$")
_UNIT_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, None: 1.0}


class Section:
    """A map of the configuration.  Keys read are remembered so the rest can be reported as unknown."""

    __slots__ = ("_data", "_prefix", "_file", "_used", "_children")

    def __init__(self, data: Any, prefix: str = "", file: str = "") -> None:
        if data is None:
            data = {}
        if not isinstance(data, Mapping):
            raise ConfigError(f"expected a map, got {type(data).__name__}", key=prefix, file=file)
        self._data: Mapping[str, Any] = data
        self._prefix = prefix
        self._file = file
        self._used: set[str] = set()
        self._children: list[Section] = []

    def _key(self, name: str) -> str:
        return f"{self._prefix}.{name}" if self._prefix else name

    def error(self, name: str, message: str) -> ConfigError:
        return ConfigError(message, key=self._key(name), file=self._file)

    def _get(self, name: str) -> Any:
        self._used.add(name)
        return self._data.get(name)

    def has(self, name: str) -> bool:
        return name in self._data and self._data[name] is not None

    def section(self, name: str) -> Section:
        child = Section(self._get(name), self._key(name), self._file)
        self._children.append(child)
        return child

    def string(self, name: str, default: str) -> str:
        value = self._get(name)
        if value is None:
            return default
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            raise self.error(name, f"expected a string, got {type(value).__name__}")
        return str(value)

    def boolean(self, name: str, default: bool) -> bool:
        value = self._get(name)
        if value is None:
            return default
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("true", "false"):
            return value.lower() == "true"
        raise self.error(name, f"expected true or false, got {value!r}")

    def integer(self, name: str, default: int, *, minimum: int = 0, maximum: int | None = None) -> int:
        value = self._get(name)
        if value is None:
            return default
        if isinstance(value, bool):
            raise self.error(name, "expected an integer, got a boolean")
        if isinstance(value, str):
            text = value.strip()
            try:
                if text.startswith(("0o", "0x")):
                    value = int(text, 0)
                elif text.startswith("0") and len(text) > 1 and text.isdigit():
                    value = int(text, 8)  # file modes written as "0660"
                else:
                    value = int(text)
            except ValueError:
                raise self.error(name, f"expected an integer, got {value!r}") from None
        if not isinstance(value, int):
            raise self.error(name, f"expected an integer, got {type(value).__name__}")
        if value < minimum or (maximum is not None and value > maximum):
            upper = f" and {maximum}" if maximum is not None else ""
            raise self.error(name, f"must be between {minimum}{upper}, got {value}")
        return value

    def duration(self, name: str, default: float, *, minimum: float = 0.0) -> float:
        """Seconds, given as a number or as ``500ms``, ``2s``, ``1m``, ``1h``."""
        value = self._get(name)
        if value is None:
            return default
        seconds: float
        if isinstance(value, bool):
            raise self.error(name, "expected a duration, got a boolean")
        if isinstance(value, int | float):
            seconds = float(value)
        elif isinstance(value, str):
            match = _DURATION.match(value)
            if match is None:
                raise self.error(name, f"expected a duration such as 2s or 500ms, got {value!r}")
            seconds = float(match.group(1)) * _UNIT_SECONDS[match.group(2)]
        else:
            raise self.error(name, f"expected a duration, got {type(value).__name__}")
        if not math.isfinite(seconds) or seconds < minimum:
            raise self.error(name, f"must be at least {minimum}s, got {value!r}")
        return seconds

    def string_list(self, name: str, default: tuple[str, ...]) -> tuple[str, ...]:
        value = self._get(name)
        if value is None:
            return default
        if isinstance(value, str):
            return (value,)
        if not isinstance(value, list):
            raise self.error(name, f"expected a list of strings, got {type(value).__name__}")
        items: list[str] = []
        for index, item in enumerate(value):
            if isinstance(item, bool) or not isinstance(item, str | int | float):
                raise self.error(f"{name}[{index}]", f"expected a string, got {type(item).__name__}")
            items.append(str(item))
        return tuple(items)

    def string_map(self, name: str) -> tuple[tuple[str, str], ...]:
        value = self._get(name)
        if value is None:
            return ()
        if not isinstance(value, Mapping):
            raise self.error(name, f"expected a map of strings, got {type(value).__name__}")
        pairs: list[tuple[str, str]] = []
        for key, item in value.items():
            if isinstance(item, bool) or not isinstance(item, str | int | float):
                raise self.error(f"{name}.{key}", f"expected a string, got {type(item).__name__}")
            pairs.append((str(key), str(item)))
        return tuple(pairs)

    def choice(self, name: str, default: str, choices: tuple[str, ...]) -> str:
        value = self.string(name, default).lower()
        if value not in choices:
            raise self.error(name, f"must be one of {', '.join(choices)}, got {value!r}")
        return value

    def unknown_keys(self) -> list[str]:
        """Dotted paths of keys present in the file but never read, in this map and below."""
        found = [self._key(str(k)) for k in self._data if k not in self._used]
        for child in self._children:
            found.extend(child.unknown_keys())
        return found
