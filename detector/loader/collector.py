"""The collector: name-indexed lists, macros and rules, kept across files (Falco's ``collector``).

Every define/append/replace takes the next definition index.  A redefinition
keeps the item's original place (``index``) but moves its ``visibility`` to
now, which is what decides which lists and macros an item may see.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from detector.language.frozen import replace
from detector.loader import codes
from detector.loader.context import Context
from detector.loader.exceptions import validate_exception
from detector.loader.infos import (
    EnableInfo,
    EngineVersionInfo,
    ExceptionInfo,
    ListInfo,
    MacroInfo,
    PluginVersionInfo,
    RuleInfo,
    RuleUpdate,
)
from detector.loader.result import ResultBuilder, RuleLoadError
from detector.loader.versions import ENGINE_VERSION, Version

_Info = TypeVar("_Info", ListInfo, MacroInfo, RuleInfo)

# (source, field expression) -> whether the source knows the field.
FieldChecker = Callable[[str, str], bool]


def _fail(message: str, ctx: Context) -> RuleLoadError:
    return RuleLoadError(codes.LOAD_ERR_VALIDATE, message, ctx)


class Collector:
    """All items read so far.  Not thread-safe; one per ``RulesLoader``."""

    def __init__(self, sources: frozenset[str], field_checker: FieldChecker) -> None:
        self.sources = sources
        self._field_checker = field_checker
        self.lists: dict[str, ListInfo] = {}
        self.macros: dict[str, MacroInfo] = {}
        self.rules: dict[str, RuleInfo] = {}
        self.required_engine_version: Version | None = None
        self.required_engine_version_text: str | None = None
        self.required_plugin_versions: list[tuple[tuple[str, str], ...]] = []
        self._cur_index = 0

    def _next_index(self) -> int:
        index = self._cur_index
        self._cur_index += 1
        return index

    # versions ---------------------------------------------------------------------------

    def define_engine_version(self, info: EngineVersionInfo, version: Version) -> None:
        if not ENGINE_VERSION.compatible_with(version):
            raise _fail(f"Rules require engine version {version}, but engine version is "
                        f"{ENGINE_VERSION}", info.ctx)
        if self.required_engine_version is None or self.required_engine_version < version:
            self.required_engine_version = version
            self.required_engine_version_text = str(version)

    def define_plugin_versions(self, info: PluginVersionInfo) -> None:
        seen: set[str] = set()
        for name, version in info.alternatives:
            if Version.parse(version) is None:
                raise _fail(f"Invalid required version '{version}' for plugin '{name}'", info.ctx)
            if name in seen:
                raise _fail(
                    f"Defined multiple alternative version requirements for plugin '{name}'", info.ctx
                )
            seen.add(name)
        self.required_plugin_versions.append(info.alternatives)

    # lists and macros -------------------------------------------------------------------

    def define_list(self, info: ListInfo) -> None:
        self.lists[info.name] = self._placed(self.lists.get(info.name), info)

    def append_list(self, info: ListInfo) -> None:
        prev = self.lists.get(info.name)
        if prev is None:
            raise _fail(codes.ERROR_NO_PREVIOUS_LIST, info.ctx)
        self.lists[info.name] = replace(prev, items=prev.items + info.items,
                                        visibility=self._next_index())

    def define_macro(self, info: MacroInfo) -> None:
        self.macros[info.name] = self._placed(self.macros.get(info.name), info)

    def append_macro(self, info: MacroInfo) -> None:
        prev = self.macros.get(info.name)
        if prev is None:
            raise _fail(codes.ERROR_NO_PREVIOUS_MACRO, info.ctx)
        self.macros[info.name] = replace(prev, cond=prev.cond.joined(" ", info.cond),
                                         visibility=self._next_index())

    def _placed(self, prev: _Info | None, info: _Info) -> _Info:
        index = self._next_index()
        if prev is not None:
            return replace(info, index=prev.index, visibility=index)
        return replace(info, index=index, visibility=index)

    # rules ------------------------------------------------------------------------------

    def _field_check(self, source: str) -> Callable[[str], bool]:
        return lambda name: self._field_checker(source, name)

    def define_rule(self, info: RuleInfo, result: ResultBuilder) -> None:
        prev = self.rules.get(info.name)
        if prev is not None and prev.source != info.source:
            raise _fail("Rule has been re-defined with a different source", info.ctx)
        known = info.source in self.sources
        info = replace(info, unknown_source=not known)
        if not known:
            result.add_warning(codes.LOAD_UNKNOWN_SOURCE, f"Unknown source {info.source}, skipping",
                               info.ctx)
        checked: list[ExceptionInfo] = []
        for ex in info.exceptions:
            if not ex.fields.is_valid:
                raise _fail("Rule exception item must have fields property with a list of fields",
                            ex.ctx)
            checked.append(validate_exception(ex, self._field_check(info.source) if known else None))
        info = replace(info, exceptions=tuple(checked))
        self.rules[info.name] = self._placed(prev, info)

    def _previous_for_update(self, update: RuleUpdate, missing: str) -> RuleInfo:
        prev = self.rules.get(update.name)
        if prev is None:
            raise _fail(missing, update.ctx)
        if update.source is not None and update.source != prev.source:
            raise _fail("Rule has been re-defined with a different source", update.ctx)
        return prev

    def append_rule(self, update: RuleUpdate) -> None:
        prev = self._previous_for_update(update, codes.ERROR_NO_PREVIOUS_RULE_APPEND)
        if not update.has_any_value():
            raise _fail("Appended rule must have exceptions or condition property", update.ctx)
        check = None if prev.unknown_source else self._field_check(prev.source)
        new = prev
        if update.cond is not None and update.cond.text:
            new = replace(new, cond=new.cond.joined(" ", update.cond))
        if update.output is not None and update.output.text:
            new = replace(new, output=new.output.joined(" ", update.output))
        if update.desc:
            new = replace(new, desc=f"{new.desc} {update.desc}")
        if update.tags is not None:
            new = replace(new, tags=new.tags | update.tags)
        if update.exceptions is not None:
            exceptions = list(new.exceptions)
            for ex in update.exceptions:
                at = next((i for i, e in enumerate(exceptions) if e.name == ex.name), None)
                if at is None:
                    if not ex.fields.is_valid:
                        raise _fail("Rule exception must have fields property with a list of fields",
                                    ex.ctx)
                    if not ex.values:
                        raise _fail("Rule exception must have values property with a list of values",
                                    ex.ctx)
                    exceptions.append(validate_exception(ex, check))
                else:
                    if ex.fields.is_valid:
                        raise _fail("Can not append exception fields to existing exception, only values",
                                    ex.ctx)
                    if ex.comps.is_valid:
                        raise _fail("Can not append exception comps to existing exception, only values",
                                    ex.ctx)
                    exceptions[at] = replace(exceptions[at], values=exceptions[at].values + ex.values)
            new = replace(new, exceptions=tuple(exceptions))
        self.rules[update.name] = replace(new, visibility=self._next_index())

    def selective_replace(self, update: RuleUpdate) -> None:
        prev = self._previous_for_update(update, codes.ERROR_NO_PREVIOUS_RULE_REPLACE)
        if not update.has_any_value():
            raise _fail("The rule must have at least one field that can be replaced", update.ctx)
        check = None if prev.unknown_source else self._field_check(prev.source)
        new = prev
        if update.cond is not None:
            new = replace(new, cond=update.cond)
        if update.output is not None:
            new = replace(new, output=update.output)
        if update.desc is not None:
            new = replace(new, desc=update.desc)
        if update.tags is not None:
            new = replace(new, tags=update.tags)
        if update.exceptions is not None:
            new = replace(new, exceptions=tuple(validate_exception(ex, check) for ex in update.exceptions))
        if update.priority is not None:
            new = replace(new, priority=update.priority)
        if update.enabled is not None:
            new = replace(new, enabled=update.enabled)
        if update.warn_evttypes is not None:
            new = replace(new, warn_evttypes=update.warn_evttypes)
        if update.skip_if_unknown_filter is not None:
            new = replace(new, skip_if_unknown_filter=update.skip_if_unknown_filter)
        if update.capture is not None:
            new = replace(new, capture=update.capture)
        if update.capture_duration is not None:
            new = replace(new, capture_duration=update.capture_duration)
        self.rules[update.name] = replace(new, visibility=self._next_index())

    def enable(self, info: EnableInfo) -> None:
        prev = self.rules.get(info.name)
        if prev is None:
            raise _fail("Rule has 'enabled' key but no rule by that name already exists", info.ctx)
        self.rules[info.name] = replace(prev, enabled=info.enabled)
