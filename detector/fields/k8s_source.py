"""The ``k8s_audit`` source: the field specs of ``detector.fields.k8saudit`` in the registry.

The specs say how to extract each field from a native audit event; this module
turns them into ``FieldInfo`` entries and binds each to a loader that coerces
the extracted value to the field's type.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from typing import Any, Protocol

from detector.fields.registry import (
    ArgKind,
    ArgRule,
    Binder,
    BoundField,
    FieldInfo,
    FieldSource,
    Loader,
)
from detector.fields.types import FieldType, list_coercer, scalar_coercer


class K8sFieldSpecLike(Protocol):
    """The shape of ``detector.fields.k8saudit.K8sFieldSpec`` this module relies on."""

    @property
    def name(self) -> str: ...
    @property
    def type(self) -> str: ...
    @property
    def is_list(self) -> bool: ...
    @property
    def arg(self) -> str: ...
    @property
    def extract(self) -> Callable[[Mapping[str, Any], str | None], Any]: ...
    @property
    def description(self) -> str: ...


_TYPES: dict[str, FieldType] = {"string": FieldType.CHARBUF, "str": FieldType.CHARBUF}


def spec_type(name: str) -> FieldType:
    """The ``FieldType`` a spec's type name (``string``, ``uint64``, ``abstime``...) stands for."""
    found = _TYPES.get(name.lower())
    if found is not None:
        return found
    try:
        return FieldType[name.upper()]
    except KeyError:
        return FieldType.CHARBUF


def _arg_rule(spec: K8sFieldSpecLike) -> ArgRule:
    return spec.arg if spec.arg in ("none", "required", "allowed") else "none"  # type: ignore[return-value]


def _arg_kind(spec: K8sFieldSpecLike) -> ArgKind | None:
    kind = getattr(spec, "arg_kind", "") or ""
    if kind == "index":
        return "index"
    if kind == "key" or _arg_rule(spec) != "none":
        return "key"
    return None


def _binder(spec: K8sFieldSpecLike) -> Binder:
    def bind(info: FieldInfo, arg: str | None, key: str) -> BoundField:
        extract = spec.extract
        coerce = list_coercer(info.type) if info.is_list else scalar_coercer(info.type)

        def load(event: Mapping[str, Any]) -> Any:
            raw = extract(event, arg)
            return None if raw is None else coerce(raw)

        return BoundField(info, arg, key, "k8s_audit", Loader("derived", key=key, fn=load))

    return bind


def source_from_specs(name: str, specs: Mapping[str, K8sFieldSpecLike]) -> FieldSource:
    """A ``FieldSource`` whose fields are extracted by spec functions (``k8s_audit`` and tests)."""
    fields: dict[str, FieldInfo] = {}
    binders: dict[str, Binder] = {}
    for field_name, spec in specs.items():
        fields[field_name] = FieldInfo(
            name=field_name,
            type=spec_type(spec.type),
            is_list=spec.is_list,
            arg=_arg_rule(spec),
            arg_kind=_arg_kind(spec),
            description=spec.description,
        )
        binders[field_name] = _binder(spec)
    return FieldSource(name, fields, binders=binders)


@functools.cache
def k8s_audit_source() -> FieldSource:
    # Imported lazily: the k8saudit module is a stage of its own and may be absent in a partial tree.
    try:
        from detector.fields.k8saudit import K8S_AUDIT_FIELDS
    except ImportError:
        return FieldSource("k8s_audit", {})
    return source_from_specs("k8s_audit", K8S_AUDIT_FIELDS)
