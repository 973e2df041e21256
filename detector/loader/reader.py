"""The reader: YAML items to collector calls, with Falco's shape checks and messages.

This follows ``rule_loader_reader.cpp`` step by step (the order of checks decides
which error a broken item gets), on the position-carrying tree of ``yamltree``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final, TypeVar

from detector.loader import codes
from detector.loader.collector import Collector
from detector.loader.context import Context, SourcedText, SourceFile
from detector.loader.infos import (
    EnableInfo,
    EngineVersionInfo,
    Entry,
    ExceptionInfo,
    ListInfo,
    MacroInfo,
    PluginVersionInfo,
    RuleInfo,
    RuleUpdate,
)
from detector.loader.model import Location
from detector.loader.result import ResultBuilder, RuleLoadError
from detector.loader.schema import validate_documents
from detector.loader.versions import Version, decode_bool, decode_uint32, implicit_engine_version
from detector.loader.yamltree import YamlDocuments, YamlError, YNode, compose_documents
from detector.priority import Priority

_IDENTIFIER: Final = re.compile(r"[a-zA-Z]+[a-zA-Z0-9_]*")
_BARESTR: Final = re.compile(r"[^()\"'\s=,]+")

LIST_KEYS: Final = frozenset({"list", "items", "append", "override"})
MACRO_KEYS: Final = frozenset({"macro", "condition", "append", "override"})
RULE_KEYS: Final = frozenset({
    "rule", "condition", "output", "desc", "priority", "source", "enabled", "capture",
    "capture_duration", "capture_events", "capture_filesize", "warn_evttypes",
    "skip-if-unknown-filter", "tags", "exceptions", "override", "append",
})
EXCEPTION_KEYS: Final = frozenset({"name", "fields", "comps", "values"})

RULE_APPENDABLE: Final = ("condition", "output", "desc", "tags", "exceptions")
RULE_REPLACEABLE: Final = (
    "condition", "output", "desc", "priority", "capture", "capture_duration", "tags",
    "exceptions", "enabled", "warn_evttypes", "skip-if-unknown-filter",
)
_TRIM: Final = " \t\n\r\f\v"


def _invalid(message: str, ctx: Context) -> RuleLoadError:
    return RuleLoadError(codes.LOAD_ERR_YAML_VALIDATE, message, ctx)


def _yaml_cpp_error(message: str, node: YNode, ctx: Context) -> RuleLoadError:
    text = f"yaml-cpp: error at line {node.start.line}, column {node.start.column}: {message}"
    return RuleLoadError(codes.LOAD_ERR_VALIDATE, text, ctx.child(node, codes.VALUE_FOR))


def _scalar(item: YNode, key: str, ctx: Context, *, optional: bool) -> YNode | None:
    """Falco's ``decode_val``: present, not empty, a scalar, non-empty text."""
    val = item.get(key)
    if val is None:
        if optional:
            return None
        raise _invalid(f"Item has no mapping for key '{key}'", ctx)
    if val.is_null:
        raise _invalid(f"Mapping for key '{key}' is empty", ctx)
    # contexts are built only for errors: reading a valid file never needs them
    if not val.is_scalar:
        raise _invalid("Value is not a scalar value", ctx.child(val, codes.VALUE_FOR, key))
    if val.text == "":
        raise _invalid("Value must be non-empty", ctx.child(val, codes.VALUE_FOR, key))
    return val


def _str(item: YNode, key: str, ctx: Context) -> str:
    node = _scalar(item, key, ctx, optional=False)
    assert node is not None
    return node.text


def _opt_str(item: YNode, key: str, ctx: Context) -> str | None:
    node = _scalar(item, key, ctx, optional=True)
    return None if node is None else node.text


def _opt_bool(item: YNode, key: str, ctx: Context, *, optional: bool = True) -> bool | None:
    node = _scalar(item, key, ctx, optional=optional)
    if node is None:
        return None
    value = decode_bool(node.text)
    if value is None:
        raise _invalid("Can't decode YAML scalar value", ctx.child(node, codes.VALUE_FOR, key))
    return value


def _opt_uint(item: YNode, key: str, ctx: Context) -> int | None:
    node = _scalar(item, key, ctx, optional=True)
    if node is None:
        return None
    value = decode_uint32(node.text)
    if value is None:
        raise _invalid("Can't decode YAML scalar value", ctx.child(node, codes.VALUE_FOR, key))
    return value


def _seq(item: YNode, key: str, ctx: Context, *, optional: bool) -> tuple[str, ...] | None:
    """Falco's ``decode_seq`` for ``items`` and ``tags``: a sequence of scalars."""
    val = item.get(key)
    if val is None:
        if optional:
            return None
        raise _invalid(f"Item has no mapping for key '{key}'", ctx)
    if not val.is_seq:
        raise _invalid("Value is not a sequence", ctx.child(val, codes.VALUE_FOR, key))
    out: list[str] = []
    for v in val.items:
        if not v.is_scalar:
            raise _invalid("sequence value is not scalar",
                           ctx.child(val, codes.VALUE_FOR, key).child(v, codes.LIST_ITEM))
        out.append(v.text)
    return tuple(out)


def _priority(item: YNode, ctx: Context) -> Priority:
    text = _str(item, "priority", ctx)
    node = item.get("priority")
    try:
        if text != text.strip():
            raise ValueError(text)
        return Priority.parse(text)
    except ValueError:
        raise _invalid("Invalid priority", ctx.child(node, codes.RULE_PRIORITY)) from None


def _sourced(item: YNode, key: str, text: str, ctx: Context, item_type: str) -> SourcedText:
    node = item.get(key)
    return SourcedText.from_node(text, node, ctx.child(node, item_type))


@dataclass(slots=True)
class Overrides:
    append: set[str]
    replace: set[str]

    @property
    def any(self) -> bool:
        return bool(self.append or self.replace)


def _overrides(item: YNode, appendable: tuple[str, ...], replaceable: tuple[str, ...],
               ctx: Context) -> Overrides:
    out = Overrides(set(), set())
    val = item.get("override")
    if val is None or val.is_null or val.is_scalar:
        return out  # yaml-cpp iterates nothing here
    if val.is_seq:
        raise _yaml_cpp_error(
            "invalid node; this may result from using a map iterator as a sequence iterator, "
            "or vice-versa", val, ctx)
    overridectx = ctx.child(item, codes.OVERRIDE)
    for key_node, op_node in val.pairs:
        key = _as_string(key_node, ctx)
        operation = _as_string(op_node, ctx)
        can_append = key in appendable
        can_replace = key in replaceable
        if operation == "append":
            if not can_append:
                raise _invalid(f"Key '{key}' cannot be appended to, use 'replace' instead",
                               overridectx.child(key_node, codes.OVERRIDE, key))
            out.append.add(key)
        elif operation == "replace":
            if not can_replace:
                raise _invalid(f"Key '{key}' cannot be replaced",
                               overridectx.child(key_node, codes.OVERRIDE, key))
            out.replace.add(key)
        else:
            allowed = ("append " if can_append else "") + ("replace " if can_replace else "")
            raise _invalid(f"Invalid override operation for key '{key}': '{operation}'. "
                           f"Allowed values are: {allowed}",
                           overridectx.child(op_node, codes.VALUE_FOR, key))
    return out


def _as_string(node: YNode, ctx: Context) -> str:
    """yaml-cpp's ``as<std::string>()``: a scalar's text, ``null`` for null, else a bad conversion."""
    if node.is_null:
        return "null"
    if not node.is_scalar:
        raise _yaml_cpp_error("bad conversion", node, ctx)
    return node.text


# Where an exception entry sits: the context it would be reported in, built only for an error.
_EntryPlace = Callable[[], Context]


def _exception_entry(val: YNode, place: _EntryPlace) -> Entry:
    """Falco's ``decode_exception_info_entry``: scalars and (nested) sequences; anything else is empty."""
    if val.is_scalar:
        if val.text == "":
            raise _invalid("Value must be non-empty", place().child(val, codes.VALUE_FOR))
        return Entry(is_list=False, item=val.text, node=val)
    if val.is_seq:
        return Entry(is_list=True, items=tuple(
            _exception_entry(v, _nested_place(place, val, v)) for v in val.items), node=val)
    return Entry(node=val)


def _nested_place(place: _EntryPlace, val: YNode, item: YNode) -> _EntryPlace:
    return lambda: place().child(val, codes.VALUE_FOR).child(item, codes.EXCEPTION)


def _child_place(ctx: Context, node: YNode, item_type: str) -> _EntryPlace:
    return lambda: ctx.child(node, item_type)


class Reader:
    """Reads one rules content into a collector.  ``all_errors`` keeps going past errors."""

    def __init__(self, collector: Collector, result: ResultBuilder, *, all_errors: bool = False) -> None:
        self.collector = collector
        self.result = result
        self.all_errors = all_errors

    # entry point ------------------------------------------------------------------------

    def read(self, source: SourceFile, *, max_depth: int) -> bool:
        file_ctx = Context.for_file(source)
        try:
            docs = compose_documents(source.text, max_depth=max_depth)
        except YamlError as exc:
            self.result.add_error(codes.LOAD_ERR_YAML_PARSE, exc.message,
                                  file_ctx.at_offset(exc.mark.offset, codes.VALUE_FOR))
            return False
        self.result.schema_validation = validate_documents(docs)
        return self._read_documents(docs, source)

    def _read_documents(self, docs: YamlDocuments, source: SourceFile) -> bool:
        ok = True
        for doc in docs.documents:
            if doc is None or doc.is_null:
                continue
            ctx = Context(source, (Location(codes.RULES_CONTENT, "", source.name, doc.start.offset,
                                            doc.start.line, doc.start.column),))
            try:
                if not doc.is_map and not doc.is_seq:
                    raise _invalid("Rules content is not yaml", ctx)
                if not doc.is_seq:
                    raise _invalid("Rules content is not yaml array of objects", ctx)
            except RuleLoadError as exc:
                self.result.add(exc)
                if not self.all_errors:
                    return False
                ok = False
                continue
            for item in doc.items:
                if item.is_null:
                    continue
                try:
                    self.read_item(item, ctx)
                except RuleLoadError as exc:
                    self.result.add(exc)
                    if not self.all_errors:
                        return False
                    ok = False
        return ok

    # items ------------------------------------------------------------------------------

    def read_item(self, item: YNode, parent: Context) -> None:
        if not item.is_map:
            raise _invalid("Unexpected element type. Each element should be a yaml associative array.",
                           parent.child(item, codes.RULES_CONTENT_ITEM))
        if item.has("required_engine_version"):
            self._engine_version(item, parent)
        elif item.has("required_plugin_versions"):
            self._plugin_versions(item, parent)
        elif item.has("list"):
            self._list(item, parent)
        elif item.has("macro"):
            self._macro(item, parent)
        elif item.has("rule"):
            self._rule(item, parent)
        else:
            self.result.add_warning(codes.LOAD_UNKNOWN_ITEM, "Unknown top level item",
                                    parent.child(item, codes.RULES_CONTENT_ITEM))

    def _check_keys(self, item: YNode, known: frozenset[str], ctx: Context) -> None:
        seen: set[str] = set()
        for key, key_node in item.keys():
            if key in seen:
                self.result.add_warning(
                    codes.LOAD_UNKNOWN_KEY,
                    f"Duplicate key '{key}'. Only its first value is used.",
                    ctx.child(key_node, codes.VALUE_FOR, key))
                continue
            seen.add(key)
            if key not in known:
                self.result.add_warning(codes.LOAD_UNKNOWN_KEY,
                                        f"Unknown key '{key}'. The key will be ignored.",
                                        ctx.child(key_node, codes.VALUE_FOR, key))

    def _engine_version(self, item: YNode, parent: Context) -> None:
        ctx = parent.child(item, codes.REQUIRED_ENGINE_VERSION)
        text = _str(item, "required_engine_version", ctx)
        minor = decode_uint32(text)
        if minor is not None:
            version = implicit_engine_version(minor)
        else:
            parsed = Version.parse(text)
            if parsed is None:
                raise _invalid(f"Unable to parse engine version '{text}' as a semver string. "
                               'Expected "x.y.z" semver format.', ctx)
            version = parsed
        self.collector.define_engine_version(EngineVersionInfo(str(version), ctx), version)

    def _plugin_versions(self, item: YNode, parent: Context) -> None:
        reqs = item.get("required_plugin_versions")
        assert reqs is not None
        ctx = parent.child(reqs, codes.REQUIRED_PLUGIN_VERSIONS)
        if not reqs.is_seq:
            raise _invalid("Value of required_plugin_versions must be a sequence", ctx)
        for plugin in reqs.items:
            tmp = ctx.child(plugin, codes.REQUIRED_PLUGIN_VERSIONS_ENTRY)
            if not plugin.is_map:
                raise _invalid("Plugin version must be a mapping", tmp)
            name = _str(plugin, "name", tmp)
            pctx = ctx.child(plugin, codes.REQUIRED_PLUGIN_VERSIONS_ENTRY, name)
            alternatives = [(name, _str(plugin, "version", pctx))]
            alts = plugin.get("alternatives")
            if alts is not None:
                if not alts.is_seq:
                    raise _invalid("Value of plugin version alternatives must be a sequence", pctx)
                for req in alts.items:
                    atmp = pctx.child(req, codes.REQUIRED_PLUGIN_VERSIONS_ALTERNATIVE)
                    if not req.is_map:
                        raise _invalid("Plugin version alternative must be a mapping", atmp)
                    alt_name = _str(req, "name", atmp)
                    actx = pctx.child(req, codes.REQUIRED_PLUGIN_VERSIONS_ALTERNATIVE, alt_name)
                    alternatives.append((alt_name, _str(req, "version", actx)))
            self.collector.define_plugin_versions(PluginVersionInfo(tuple(alternatives), pctx))

    def _list(self, item: YNode, parent: Context) -> None:
        name = _str(item, "list", parent.child(item, codes.LIST))
        ctx = parent.child(item, codes.LIST, name)
        self._check_keys(item, LIST_KEYS, ctx)
        if not _BARESTR.fullmatch(name):
            self.result.add_warning(codes.LOAD_INVALID_LIST_NAME, codes.WARNING_INVALID_LIST_NAME, ctx)
        items = _seq(item, "items", ctx, optional=False) or ()
        append = bool(_opt_bool(item, "append", ctx))
        if append:
            self.result.add_warning(codes.LOAD_DEPRECATED_ITEM, codes.WARNING_APPEND, ctx)
        overrides = _overrides(item, ("items",), ("items",), ctx)
        if append and overrides.any:
            raise _invalid(codes.ERROR_OVERRIDE_APPEND, ctx)
        info = ListInfo(name, items, ctx)
        if append or "items" in overrides.append:
            self.collector.append_list(info)
        else:
            self.collector.define_list(info)

    def _macro(self, item: YNode, parent: Context) -> None:
        name = _str(item, "macro", parent.child(item, codes.MACRO))
        ctx = parent.child(item, codes.MACRO, name)
        self._check_keys(item, MACRO_KEYS, ctx)
        if not _IDENTIFIER.fullmatch(name):
            self.result.add_warning(codes.LOAD_INVALID_MACRO_NAME, codes.WARNING_INVALID_MACRO_NAME, ctx)
        cond = _str(item, "condition", ctx)
        sourced = _sourced(item, "condition", cond, ctx, codes.MACRO_CONDITION)
        append = bool(_opt_bool(item, "append", ctx))
        if append:
            self.result.add_warning(codes.LOAD_DEPRECATED_ITEM, codes.WARNING_APPEND, ctx)
        overrides = _overrides(item, ("condition",), ("condition",), ctx)
        if append and overrides.any:
            raise _invalid(codes.ERROR_OVERRIDE_APPEND, ctx)
        info = MacroInfo(name, sourced, ctx)
        if append or "condition" in overrides.append:
            self.collector.append_macro(info)
        else:
            self.collector.define_macro(info)

    # rules ------------------------------------------------------------------------------

    def _rule(self, item: YNode, parent: Context) -> None:
        name = _str(item, "rule", parent.child(item, codes.RULE))
        ctx = parent.child(item, codes.RULE, name)
        self._check_keys(item, RULE_KEYS, ctx)
        has_append_flag = bool(_opt_bool(item, "append", ctx))
        if has_append_flag:
            self.result.add_warning(codes.LOAD_DEPRECATED_ITEM, codes.WARNING_APPEND, ctx)
        overrides = _overrides(item, RULE_APPENDABLE, RULE_REPLACEABLE, ctx)
        if has_append_flag and overrides.any:
            raise _invalid(codes.ERROR_OVERRIDE_APPEND, ctx)
        if overrides.any:
            self._rule_overrides(item, name, overrides, ctx)
        elif has_append_flag:
            self._rule_append_flag(item, name, ctx)
        elif not any(item.has(k) for k in ("condition", "output", "desc", "priority")):
            enabled = _opt_bool(item, "enabled", ctx, optional=False)
            assert enabled is not None
            self.result.add_warning(codes.LOAD_DEPRECATED_ITEM, codes.WARNING_ENABLED, ctx)
            self.collector.enable(EnableInfo(name, enabled, ctx))
        else:
            self._rule_definition(item, name, ctx)

    def _update_source(self, item: YNode) -> str | None:
        # An append/override may restate the source; empty or null means "not stated".
        node = item.get("source")
        if node is None or not node.is_scalar or node.text == "":
            return None
        return node.text

    def _rule_overrides(self, item: YNode, name: str, overrides: Overrides, ctx: Context) -> None:
        expected = {k for k in (*RULE_APPENDABLE, *RULE_REPLACEABLE) if item.has(k)}

        def take(keys: set[str], kind: str, key: str) -> bool:
            if key not in keys:
                return False
            if key not in expected:
                raise _invalid(f"An {kind} override for '{key}' was specified but '{key}' is not defined",
                               ctx)
            expected.discard(key)
            return True

        source = self._update_source(item)
        if overrides.append:
            keys = overrides.append
            self.collector.append_rule(RuleUpdate(
                name, ctx,
                cond=self._cond(item, ctx) if take(keys, "append", "condition") else None,
                exceptions=(self._exceptions(item, ctx, append=True)
                            if take(keys, "append", "exceptions") else None),
                output=self._output(item, ctx, trim=False) if take(keys, "append", "output") else None,
                desc=_str(item, "desc", ctx) if take(keys, "append", "desc") else None,
                tags=self._tags(item, ctx) if take(keys, "append", "tags") else None,
                source=source,
            ))
        if overrides.replace:
            keys = overrides.replace
            self.collector.selective_replace(RuleUpdate(
                name, ctx,
                cond=self._cond(item, ctx) if take(keys, "replace", "condition") else None,
                exceptions=(self._exceptions(item, ctx, append=False)
                            if take(keys, "replace", "exceptions") else None),
                output=self._output(item, ctx, trim=False) if take(keys, "replace", "output") else None,
                desc=_str(item, "desc", ctx) if take(keys, "replace", "desc") else None,
                tags=self._tags(item, ctx) if take(keys, "replace", "tags") else None,
                priority=_priority(item, ctx) if take(keys, "replace", "priority") else None,
                enabled=(_opt_bool(item, "enabled", ctx, optional=False)
                         if take(keys, "replace", "enabled") else None),
                warn_evttypes=(_opt_bool(item, "warn_evttypes", ctx, optional=False)
                               if take(keys, "replace", "warn_evttypes") else None),
                skip_if_unknown_filter=(_opt_bool(item, "skip-if-unknown-filter", ctx, optional=False)
                                        if take(keys, "replace", "skip-if-unknown-filter") else None),
                capture=(_opt_bool(item, "capture", ctx, optional=False)
                         if take(keys, "replace", "capture") else None),
                capture_duration=(self._required_uint(item, "capture_duration", ctx)
                                  if take(keys, "replace", "capture_duration") else None),
                source=source,
            ))
        for key in sorted(expected):
            node = item.get(key)
            raise _invalid(f"Unexpected key '{key}': no corresponding entry under 'override' is defined.",
                           ctx.child(node, codes.OVERRIDE, key))

    def _rule_append_flag(self, item: YNode, name: str, ctx: Context) -> None:
        self.collector.append_rule(RuleUpdate(
            name, ctx,
            cond=self._cond(item, ctx) if item.has("condition") else None,
            exceptions=self._exceptions(item, ctx, append=True) if item.has("exceptions") else None,
            source=self._update_source(item),
        ))

    def _rule_definition(self, item: YNode, name: str, ctx: Context) -> None:
        cond = self._cond(item, ctx)
        output = self._output(item, ctx, trim=True)
        desc = _str(item, "desc", ctx)
        priority = _priority(item, ctx)
        info = RuleInfo(
            name=name,
            ctx=ctx,
            cond=cond,
            output=output,
            desc=desc,
            priority=priority,
            source=_opt_str(item, "source", ctx) or "syscall",
            enabled=_default(_opt_bool(item, "enabled", ctx), True),
            warn_evttypes=_default(_opt_bool(item, "warn_evttypes", ctx), True),
            skip_if_unknown_filter=_default(_opt_bool(item, "skip-if-unknown-filter", ctx), False),
            capture=_default(_opt_bool(item, "capture", ctx), False),
            capture_duration=_default(_opt_uint(item, "capture_duration", ctx), 0),
            tags=self._tags(item, ctx) or frozenset(),
            exceptions=self._exceptions(item, ctx, append=False),
        )
        self.collector.define_rule(info, self.result)

    def _required_uint(self, item: YNode, key: str, ctx: Context) -> int:
        _scalar(item, key, ctx, optional=False)
        value = _opt_uint(item, key, ctx)
        assert value is not None
        return value

    def _cond(self, item: YNode, ctx: Context) -> SourcedText:
        text = _str(item, "condition", ctx)
        return _sourced(item, "condition", text, ctx, codes.RULE_CONDITION)

    def _output(self, item: YNode, ctx: Context, *, trim: bool) -> SourcedText:
        text = _str(item, "output", ctx)
        return _sourced(item, "output", text.strip(_TRIM) if trim else text, ctx, codes.RULE_OUTPUT)

    def _tags(self, item: YNode, ctx: Context) -> frozenset[str] | None:
        tags = _seq(item, "tags", ctx, optional=True)
        return None if tags is None else frozenset(tags)

    def _exceptions(self, item: YNode, parent: Context, *, append: bool) -> tuple[ExceptionInfo, ...]:
        exs = item.get("exceptions")
        if exs is None or exs.is_null:
            return ()
        exes_ctx = parent.child(exs, codes.EXCEPTIONS)
        if not exs.is_seq:
            raise _invalid("Rule exceptions must be a sequence", exes_ctx)
        out: list[ExceptionInfo] = []
        for ex in exs.items:
            tmp = exes_ctx.child(ex, codes.EXCEPTION)
            if not ex.is_map:
                raise _invalid("Rule exception must be a mapping", tmp)
            name = _str(ex, "name", tmp)
            ex_ctx = parent.child(ex, codes.EXCEPTION, name)
            self._check_keys(ex, EXCEPTION_KEYS, ex_ctx)
            if any(e.name == name for e in out):
                self.result.add_warning(codes.LOAD_EXCEPTION_NAME_NOT_UNIQUE,
                                        f"Multiple definitions of exception '{name}' in the same rule",
                                        ex_ctx)
            fields = self._exception_part(ex, "fields", ex_ctx, optional=append)
            comps = self._exception_part(ex, "comps", ex_ctx, optional=True)
            values: list[Entry] = []
            exvals = ex.get("values")
            if exvals is not None:
                vals_ctx = ex_ctx.child(exvals, codes.EXCEPTION_VALUES)
                if not exvals.is_seq:
                    raise _invalid("Rule exception values must be a sequence", vals_ctx)
                for val in exvals.items:
                    values.append(_exception_entry(val, _child_place(vals_ctx, val, codes.EXCEPTION_VALUE)))
            elif append:
                self.result.add_warning(codes.LOAD_APPEND_NO_VALUES,
                                        "Overriding/appending exception with no values", ex_ctx)
            out.append(ExceptionInfo(name, fields, comps, tuple(values), ex_ctx))
        return tuple(out)

    def _exception_part(self, ex: YNode, key: str, ctx: Context, *, optional: bool) -> Entry:
        val = ex.get(key)
        if val is None:
            if optional:
                return Entry()
            raise _invalid(f"Item has no mapping for key '{key}'", ctx)
        return _exception_entry(val, lambda: ctx)


_T = TypeVar("_T")


def _default(value: _T | None, default: _T) -> _T:
    return default if value is None else value
