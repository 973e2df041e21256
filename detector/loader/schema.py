"""Falco's rules-file JSON schema check (``rule_json_schema.h``), for its ok/failed status.

Falco validates every document with valijson in weak-typing mode over yaml-cpp
nodes, where every scalar is text: ``true``/``false`` pass as booleans, digits as
integers, any scalar as a string.  The status is informational; it never stops
loading.  The schema is small, so it is written out as checks rather than data.
"""

from __future__ import annotations

import re
from typing import Final

from detector.loader.yamltree import YamlDocuments, YNode

OK: Final = "ok"
FAILED: Final = "failed"
NONE: Final = "none"

_INTEGER = re.compile(r"[+-]?\d+")
_PRIORITIES: Final = frozenset(
    {"EMERGENCY", "ALERT", "CRITICAL", "ERROR", "WARNING", "NOTICE", "INFO", "INFORMATIONAL", "DEBUG"}
)
_OVERRIDE_KEYS: Final = frozenset({
    "items", "desc", "condition", "output", "priority", "enabled", "exceptions", "capture",
    "capture_duration", "capture_events", "capture_filesize", "tags", "warn_evttypes",
    "skip-if-unknown-filter",
})
_STRING_KEYS: Final = frozenset(
    {"required_engine_version", "macro", "condition", "list", "rule", "desc", "output", "source"}
)
_BOOLEAN_KEYS: Final = frozenset({"enabled", "append", "capture", "warn_evttypes", "skip-if-unknown-filter"})
_INTEGER_KEYS: Final = frozenset({"capture_duration", "capture_events", "capture_filesize"})
_ITEM_KEYS: Final = _STRING_KEYS | _BOOLEAN_KEYS | _INTEGER_KEYS | frozenset(
    {"required_plugin_versions", "items", "priority", "exceptions", "override", "tags"}
)


def _is_string(n: YNode) -> bool:
    return n.is_scalar


def _is_boolean(n: YNode) -> bool:
    return n.is_scalar and n.text in ("true", "false")


def _is_integer(n: YNode) -> bool:
    return n.is_scalar and _INTEGER.fullmatch(n.text) is not None


def _plain_object(n: YNode, allowed: frozenset[str], required: tuple[str, ...] = ()) -> bool:
    if not n.is_map:
        return False
    keys = [k for k, _ in n.keys()]
    if len(keys) != len(n.pairs) or any(k not in allowed for k in keys):
        return False
    return all(k in keys for k in required)


def _alternative(n: YNode) -> bool:
    return _plain_object(n, frozenset({"name", "version"}), ("name", "version")) and all(
        _is_string(v) for _, v in n.pairs)


def _plugin_version(n: YNode) -> bool:
    if not _plain_object(n, frozenset({"name", "version", "alternatives"}), ("name", "version")):
        return False
    for k, v in n.pairs:
        if k.text == "alternatives":
            if not (v.is_seq and all(_alternative(a) for a in v.items)):
                return False
        elif not _is_string(v):
            return False
    return True


def _exception(n: YNode) -> bool:
    if not _plain_object(n, frozenset({"name", "fields", "comps", "values"}), ("name",)):
        return False
    name = n.get("name")
    return name is not None and _is_string(name)


def _override(n: YNode) -> bool:
    if not _plain_object(n, _OVERRIDE_KEYS) or not n.pairs:
        return False
    return all(v.is_scalar and v.text in ("append", "replace") for _, v in n.pairs)


def _value_ok(key: str, v: YNode) -> bool:
    if key in _STRING_KEYS:
        return _is_string(v)
    if key in _BOOLEAN_KEYS:
        return _is_boolean(v)
    if key in _INTEGER_KEYS:
        return _is_integer(v)
    if key == "priority":
        return v.is_scalar and v.text in _PRIORITIES
    if key in ("items", "tags"):
        return v.is_seq and all(i.is_scalar for i in v.items)
    if key == "exceptions":
        return v.is_seq and all(_exception(e) for e in v.items)
    if key == "override":
        return _override(v)
    if key == "required_plugin_versions":
        return v.is_seq and all(_plugin_version(p) for p in v.items)
    return False


def _rule_item(n: YNode) -> bool:
    if not _plain_object(n, _ITEM_KEYS):
        return False
    return all(_value_ok(k.text, v) for k, v in n.pairs)


def validate_documents(docs: YamlDocuments) -> str:
    """``ok`` when every document fits the schema, ``failed`` otherwise, ``none`` without documents."""
    if not docs.documents:
        return NONE
    for doc in docs.documents:
        if doc is None or not doc.is_seq or not all(_rule_item(i) for i in doc.items):
            return FAILED
    return OK
