"""Output formats as generated Python functions: one ``event.get`` per field, coercion inlined.

Rendering a format through its nodes costs a handful of calls per field (extractor, loader,
coercer, ``text_of``), and upstream outputs have some 25 fields, each rendered twice for a
JSON alert (message and ``output_fields``).  For the ``dict`` events the readers produce,
:func:`compile_render` and :func:`compile_values` generate straight-line code instead.  A
field read from the event under its own key (a *plain* field) is tested inline: absent,
already of the class its type keeps (``str`` for text fields, ``bool`` for booleans), or an
``int`` inside its type's range, which every coercion leaves as it is.  Any other raw value,
and every token that is not a plain field (derived fields, transformers, ``concat``...),
goes through a closure doing exactly what the node-walking path does, so both paths give the
same text and the same JSON values (``tests/test_outputs_fastpath.py`` checks it on the
upstream rules).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from detector.codegen.codecache import compile_cached
from detector.fields.registry import BoundField
from detector.fields.types import int_range
from detector.outputs.values import NA, json_of, text_of

Event = dict[str, Any]
RenderFn = Callable[[Event], str]
ValuesFn = Callable[[Event], dict[str, Any]]

@dataclass(frozen=True, slots=True)
class TextToken:
    """A ``%token`` of a message: ``generic(event)`` is its text (``<NA>`` when absent) before
    padding; ``field`` is set when the token is a field that may be read inline."""

    generic: Callable[[Event], str]
    field: BoundField | None = None
    width: int = 0


@dataclass(frozen=True, slots=True)
class JsonEntry:
    """An ``output_fields`` entry: ``generic(event)`` is its JSON value; ``field`` as for tokens."""

    key: str
    generic: Callable[[Event], Any]
    field: BoundField | None = None


def pad(text: str, width: int) -> str:
    """libsinsp's ``%<width>field``: cut to ``width`` bytes or padded with blanks to it."""
    raw = text.encode("utf-8", "surrogateescape")[:width].ljust(width, b" ")
    return raw.decode("utf-8", "replace")


@dataclass(frozen=True, slots=True)
class _Plain:
    """How to read one plain field inline."""

    key: str
    native: type | None
    int_range: tuple[int, int] | None
    raw_text: Callable[[Any], str]
    raw_json: Callable[[Any], Any]

    def fast_test(self, var: str) -> str | None:
        """A Python test that holds when ``var`` (not ``None``) is the field's value as it is."""
        if self.native is not None and self.int_range is not None:
            return None  # no type has both; the text of such a value would need a second test
        tests = []
        if self.native is str:
            tests.append(f"{var}.__class__ is str")
        elif self.native is bool:
            tests.append(f"{var}.__class__ is bool")
        elif self.native is not None:
            return None
        if self.int_range is not None:
            low, high = self.int_range
            tests.append(f"({var}.__class__ is int and {low} <= {var} <= {high})")
        return " or ".join(tests) or None


def _plain(field: BoundField | None) -> _Plain | None:
    if field is None or field.multi is not None:
        return None
    loader = field.loader
    if loader.kind != "plain" or loader.coerce is None:
        return None
    native, coerce = loader.native, loader.coerce
    is_list = field.info.is_list

    def typed(raw: Any) -> Any:
        # BoundField.extract past its ``None`` check, and _Field.eval's error handling.
        try:
            if native is not None and raw.__class__ is native:
                return raw
            return coerce(raw)
        except Exception:  # noqa: BLE001 - a malformed event must not stop the alert
            return None

    def raw_text(raw: Any) -> str:
        value = typed(raw)
        return NA if value is None else text_of(value, is_list=is_list)

    def raw_json(raw: Any) -> Any:
        return json_of(typed(raw), is_list=is_list)

    # Plain loaders coerce by the field's type: an integer in its range is kept as it is.
    return _Plain(loader.key, native, None if is_list else int_range(field.type), raw_text, raw_json)


def _literal(text: str) -> str:
    """``text`` as an f-string literal part (escaped by ``repr``, braces doubled)."""
    return "f" + repr(text).replace("{", "{{").replace("}", "}}")


def _define(name: str, lines: list[str], namespace: dict[str, Any]) -> Callable[..., Any]:
    source = "\n".join(lines) + "\n"
    code = compile_cached(source, f"<output format {name}>")
    exec(code, namespace)  # noqa: S102 - our own generated code, built from escaped parts
    fn: Callable[..., Any] = namespace[name]
    return fn


def compile_render(pieces: Sequence[str | TextToken], label: str = "") -> RenderFn:
    """A function rendering the message over a ``dict`` event, as the tokens' ``generic`` would."""
    namespace: dict[str, Any] = {"NA": NA, "pad": pad}
    body: list[str] = []
    parts: list[str] = []
    for i, piece in enumerate(pieces):
        if isinstance(piece, str):
            if piece:
                parts.append(_literal(piece))
            continue
        var = f"t{i}"
        plain = _plain(piece.field)
        test = plain.fast_test("v") if plain is not None else None
        if plain is None or test is None:
            namespace[f"g{i}"] = piece.generic
            body.append(f"    {var} = g{i}(event)")
        else:
            namespace[f"s{i}"] = plain.raw_text
            if plain.native is str:
                as_text = "v"
            elif plain.native is bool:
                as_text = "('true' if v else 'false')"
            else:
                as_text = "str(v)"
            body += [
                f"    v = get({plain.key!r})",
                "    if v is None:",
                f"        {var} = NA",
                f"    elif {test}:",
                f"        {var} = {as_text}",
                "    else:",
                f"        {var} = s{i}(v)",
            ]
        if piece.width:
            body.append(f"    {var} = pad({var}, {piece.width})")
        parts.append(f"f'{{{var}}}'")
    lines = ["def render(event):", "    get = event.get", *body]
    lines.append("    return " + ("(\n        " + "\n        ".join(parts) + ")" if parts else "''"))
    fn = _define("render", lines, namespace)
    fn.__qualname__ = f"render[{label[:60]}]" if label else "render"
    return fn


def compile_values(entries: Sequence[JsonEntry], label: str = "") -> ValuesFn:
    """A function building ``output_fields`` from a ``dict`` event, as the entries' ``generic`` would."""
    namespace: dict[str, Any] = {}
    body: list[str] = []
    items: list[str] = []
    for i, entry in enumerate(entries):
        var = f"v{i}"
        plain = _plain(entry.field)
        test = plain.fast_test(var) if plain is not None else None
        if plain is None or test is None:
            namespace[f"g{i}"] = entry.generic
            body.append(f"    {var} = g{i}(event)")
        else:
            namespace[f"j{i}"] = plain.raw_json
            body += [
                f"    {var} = get({plain.key!r})",
                f"    if {var} is not None and not ({test}):",
                f"        {var} = j{i}({var})",
            ]
        items.append(f"{entry.key!r}: {var}")
    lines = ["def values(event):", "    get = event.get", *body]
    lines.append("    return {" + ", ".join(items) + "}")
    fn = _define("values", lines, namespace)
    fn.__qualname__ = f"values[{label[:60]}]" if label else "values"
    return fn
