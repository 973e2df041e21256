"""Falco-style ``-o key=value`` overrides applied to a raw configuration mapping.

Keys use dot notation with ``name[index]`` for list items; a backslash escapes a dot
that belongs to the key name (``base.dotted\\.key=val``), as Falco accepts since 0.44.
The value is read as a YAML scalar or flow collection, so ``true``, ``5`` and ``[a, b]`` keep their type.
"""

from __future__ import annotations

from typing import Any

import yaml

from detector.service.errors import ConfigError

PathPart = str | int


def parse_key(key: str) -> list[PathPart]:
    """Split ``a.b[2].c\\.d`` into ``["a", "b", 2, "c.d"]``."""
    parts: list[PathPart] = []
    current: list[str] = []
    i = 0
    pending_name = False
    while i < len(key):
        ch = key[i]
        if ch == "\\" and i + 1 < len(key):
            current.append(key[i + 1])
            i += 2
            continue
        if ch == ".":
            if not current and not pending_name:
                raise ConfigError("empty key component", key=key)
            if current:
                parts.append("".join(current))
            current = []
            pending_name = False
            i += 1
            continue
        if ch == "[":
            end = key.find("]", i)
            if end == -1:
                raise ConfigError("unterminated '[' in key", key=key)
            if current:
                parts.append("".join(current))
                current = []
            elif not parts:
                raise ConfigError("list index without a key name", key=key)
            index_text = key[i + 1 : end]
            if not index_text.isdigit():
                raise ConfigError(f"list index must be a non-negative integer, not '{index_text}'", key=key)
            parts.append(int(index_text))
            pending_name = True
            i = end + 1
            continue
        current.append(ch)
        i += 1
    if current:
        parts.append("".join(current))
    elif not parts or key.endswith("."):
        raise ConfigError("empty key component", key=key)
    return parts


def parse_override(text: str) -> tuple[list[PathPart], Any]:
    """``key=value`` → (path, value)."""
    key, sep, value_text = text.partition("=")
    if not sep or not key:
        raise ConfigError(f"option '{text}' is not of the form key=value", key=key)
    try:
        value = yaml.safe_load(value_text) if value_text else ""
    except yaml.YAMLError:
        value = value_text  # not YAML: keep the raw string, as a plain scalar would be
    return parse_key(key), value


def apply_override(raw: dict[str, Any], text: str) -> None:
    """Set one override in ``raw`` in place, creating maps on the way."""
    path, value = parse_override(text)
    key = text.partition("=")[0]
    node: Any = raw
    for depth, part in enumerate(path):
        last = depth == len(path) - 1
        nxt: PathPart | None = None if last else path[depth + 1]
        if isinstance(part, int):
            if not isinstance(node, list):
                raise ConfigError("indexing a value that is not a list", key=key)
            if part > len(node):
                raise ConfigError(f"list index {part} is past the end (length {len(node)})", key=key)
            if part == len(node):
                node.append(None)
            if last:
                node[part] = value
            else:
                if not isinstance(node[part], dict | list):
                    node[part] = [] if isinstance(nxt, int) else {}
                node = node[part]
        else:
            if not isinstance(node, dict):
                raise ConfigError(f"'{part}' set below a value that is not a map", key=key)
            if last:
                node[part] = value
            else:
                if not isinstance(node.get(part), dict | list):
                    node[part] = [] if isinstance(nxt, int) else {}
                node = node[part]
