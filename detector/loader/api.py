"""Loading rules files: ``RulesLoader`` (one engine's state across files) and ``load_rules``.

Like Falco's ``falco_engine::load_rules``, each load reads one rules content
into the collector (which keeps everything read before, so a local file can
extend a base file) and then recompiles everything collected.
"""

from __future__ import annotations

import gc
import os
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

from detector.loader import codes
from detector.loader.collector import Collector
from detector.loader.compiler import CompileCache, Compiler
from detector.loader.context import Context, SourceFile
from detector.loader.model import Diagnostic, FileResult, LoadResult, Ruleset
from detector.loader.options import ExtraOutput, ExtraOutputField, LoaderOptions
from detector.loader.reader import Reader
from detector.loader.result import ResultBuilder
from detector.loader.toolchain import field_known

RulesSource = str | os.PathLike[str]


class RulesLoader:
    """Loads rules contents one after the other into the same state.

    >>> loader = RulesLoader()
    >>> loader.load("/etc/falco/falco_rules.yaml").successful   # doctest: +SKIP
    >>> loader.load("/etc/falco/falco_rules.local.yaml")          # doctest: +SKIP
    >>> loader.ruleset                                            # doctest: +SKIP
    """

    def __init__(
        self,
        *,
        sources: Iterable[str] | None = None,
        all_errors: bool = False,
        extra_outputs: Sequence[ExtraOutput] = (),
        extra_output_fields: Sequence[ExtraOutputField] = (),
        options: LoaderOptions | None = None,
    ) -> None:
        base = options or LoaderOptions()
        self.options = replace(
            base,
            sources=frozenset(sources) if sources is not None else base.sources,
            all_errors=all_errors or base.all_errors,
            extra_outputs=tuple(extra_outputs) or base.extra_outputs,
            extra_output_fields=tuple(extra_output_fields) or base.extra_output_fields,
        )
        self._collector = Collector(self.options.sources, field_known)
        self._cache = CompileCache()
        self._files: list[FileResult] = []
        self._ruleset = Ruleset()

    @property
    def ruleset(self) -> Ruleset:
        """The ruleset of the last compilation (what did compile, when it failed)."""
        return self._ruleset

    @property
    def files(self) -> tuple[FileResult, ...]:
        return tuple(self._files)

    def load(self, source: RulesSource, *, name: str | None = None) -> FileResult:
        """Load a file path, or YAML text (a string with a newline or starting like YAML)."""
        if _is_text(source):
            return self.load_text(str(source), name=name or "rules.yaml")
        return self.load_file(source, name=name)

    def load_file(self, path: RulesSource, *, name: str | None = None) -> FileResult:
        label = name or os.fspath(path)
        try:
            size = os.path.getsize(path)
            if size > self.options.max_file_bytes:
                return self._read_error(label, f"Could not read rules file {label}: file is too large "
                                               f"({size} bytes, limit {self.options.max_file_bytes})")
            with open(path, "rb") as fh:
                data = fh.read(self.options.max_file_bytes + 1)
        except OSError as exc:
            return self._read_error(label, f"Could not read rules file {label}: "
                                           f"{exc.strerror or exc}")
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            return self._read_error(label, f"Could not read rules file {label}: not valid UTF-8 "
                                           f"(byte {exc.start})")
        return self.load_text(text, name=label)

    def load_text(self, text: str, *, name: str = "rules.yaml") -> FileResult:
        """Read one rules content and recompile everything collected so far."""
        if len(text) > self.options.max_file_bytes:
            return self._read_error(name, f"Could not read rules content {name}: it is too large "
                                          f"({len(text)} characters)")
        with cyclic_gc_paused():
            return self._load_text(text, name)

    def _load_text(self, text: str, name: str) -> FileResult:
        result = ResultBuilder(name)
        source = SourceFile(name, text)
        reader = Reader(self._collector, result, all_errors=self.options.all_errors)
        read_ok = reader.read(source, max_depth=self.options.max_yaml_depth)
        if read_ok or self.options.all_errors:
            self._ruleset = Compiler(self._collector, result, self.options, self._cache).compile()
        frozen = result.freeze()
        self._files.append(frozen)
        return frozen

    def _read_error(self, name: str, message: str) -> FileResult:
        result = ResultBuilder(name)
        result.add_error(codes.LOAD_ERR_FILE_READ, message, Context.for_file(SourceFile(name, "")))
        frozen = result.freeze()
        self._files.append(frozen)
        return frozen

    def result(self) -> LoadResult:
        """Everything loaded so far: the current ruleset and all diagnostics."""
        errors: list[Diagnostic] = []
        warnings: list[Diagnostic] = []
        seen: set[Diagnostic] = set()
        for f in self._files:
            errors.extend(f.errors)
            for w in f.warnings:
                if w not in seen:
                    seen.add(w)
                    warnings.append(w)
        return LoadResult(self._ruleset, tuple(errors), tuple(warnings), tuple(self._files))


@contextmanager
def cyclic_gc_paused() -> Iterator[None]:
    """No automatic cyclic garbage collection inside the block (unless it was off already).

    Loading makes a few hundred thousand objects that live on (ASTs, typed trees, models)
    and next to no cyclic garbage, and Python's collector would walk them again and again
    while they are made: a sixth of the load's time.  Whatever garbage there is waits for
    the first collection after the block.  The switch is the process's: another thread's
    objects also wait that long.
    """
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def _is_text(source: RulesSource) -> bool:
    if not isinstance(source, str):
        return False
    return "\n" in source or source.lstrip()[:1] in ("-", "[", "{", "#") or source.strip() == ""


def expand_sources(sources: Iterable[RulesSource], *, paths_only: bool = False) -> list[RulesSource]:
    """Directories become their ``*.yaml`` files in sorted order (Falco's ``-r dir``)."""
    out: list[RulesSource] = []
    for src in sources:
        if (paths_only or not _is_text(src)) and os.path.isdir(src):
            found: list[Path] = [p for p in Path(src).iterdir() if p.suffix == ".yaml" and p.is_file()]
            found.sort(key=lambda p: p.name)
            out.extend(found)
        else:
            out.append(src)
    return out


def load_rules(*sources: RulesSource, all_errors: bool = False,
               options: LoaderOptions | None = None, **kwargs: object) -> LoadResult:
    """Load rules files, directories (``*.yaml``, sorted) or YAML texts, in order, into one ruleset.

    Loading stops at the first file with errors, as Falco does, unless ``all_errors``
    is set, in which case every file is read and every problem found is reported.
    Extra keyword arguments are those of ``RulesLoader`` (``sources``, ``extra_outputs``...).
    """
    loader = RulesLoader(all_errors=all_errors, options=options, **kwargs)  # type: ignore[arg-type]
    with cyclic_gc_paused():
        for src in expand_sources(sources):
            if not loader.load(src).successful and not loader.options.all_errors:
                break
        return loader.result()
