"""Collecting diagnostics while one rules content is loaded (Falco's ``rule_loader::result``)."""

from __future__ import annotations

from dataclasses import dataclass, field

from detector.errors import DetectorError
from detector.loader.context import Context
from detector.loader.model import Diagnostic, FileResult


@dataclass(eq=False)
class RuleLoadError(DetectorError):
    """A problem that stops loading (Falco's ``rule_load_exception``): a code, a message, a place."""

    code: str
    message: str
    ctx: Context

    def __post_init__(self) -> None:
        super().__init__(self.message)

    def __str__(self) -> str:
        return self.message


def make_diagnostic(code: str, message: str, ctx: Context, *, is_error: bool) -> Diagnostic:
    where = ctx.innermost
    item = ctx.item
    return Diagnostic(
        code=code,
        message=message,
        file=where.file,
        line=where.line,
        column=where.column,
        item_kind=item.item_type,
        item_name=item.item_name,
        snippet=ctx.snippet(),
        is_error=is_error,
        locations=ctx.locations,
    )


@dataclass(slots=True)
class ResultBuilder:
    """Errors and warnings of one load, in the order they were found."""

    name: str
    errors: list[Diagnostic] = field(default_factory=list)
    warnings: list[Diagnostic] = field(default_factory=list)
    schema_validation: str = "none"

    def add_error(self, code: str, message: str, ctx: Context) -> None:
        self.errors.append(make_diagnostic(code, message, ctx, is_error=True))

    def add_warning(self, code: str, message: str, ctx: Context) -> None:
        self.warnings.append(make_diagnostic(code, message, ctx, is_error=False))

    def add(self, exc: RuleLoadError) -> None:
        self.add_error(exc.code, exc.message, exc.ctx)

    @property
    def successful(self) -> bool:
        return not self.errors

    def freeze(self) -> FileResult:
        return FileResult(self.name, tuple(self.errors), tuple(self.warnings), self.schema_validation)
