"""Fast construction of frozen slotted dataclass instances.

A frozen dataclass's generated ``__init__`` stores each field with
``object.__setattr__`` (to get past the class's own ``__setattr__`` guard),
which makes a three-field instance cost about a microsecond, five times a
plain one.  Loading a rules file builds tens of thousands of such objects
(YAML nodes and marks, AST nodes and spans, contexts), so that guard alone
cost a sizeable share of the load time.

``constructor(cls)`` gives a function taking every field positionally, in
definition order, which stores them straight into the slots.  The objects are
the same as ``cls(...)`` would build (equality, hashing, ``repr`` and
immutability come from the class); it is only for classes whose ``__init__``
does nothing else (no ``__post_init__``, every field an ``__init__`` field).
"""

from __future__ import annotations

import dataclasses
import functools
import types
from collections.abc import Callable
from typing import Any, TypeVar

_T = TypeVar("_T")


def constructor(cls: type[_T]) -> Callable[..., _T]:
    """A function building ``cls`` from all its fields, given positionally in definition order."""
    if not dataclasses.is_dataclass(cls) or not isinstance(cls, type):
        raise TypeError(f"{cls!r} is not a dataclass")
    if hasattr(cls, "__post_init__"):
        raise TypeError(f"{cls.__name__} has a __post_init__")
    fields = dataclasses.fields(cls)
    namespace: dict[str, Any] = {"_new": object.__new__, "_cls": cls}
    params: list[str] = []
    stores: list[str] = []
    for i, field in enumerate(fields):
        slot = getattr(cls, field.name, None)
        if not field.init or not isinstance(slot, types.MemberDescriptorType):
            raise TypeError(f"{cls.__name__}.{field.name} is not a plain slot field")
        namespace[f"_set{i}"] = slot.__set__
        params.append(f"v{i}")
        stores.append(f"    _set{i}(obj, v{i})\n")
    source = (f"def make_{cls.__name__}({', '.join(params)}):\n"
              f"    obj = _new(_cls)\n{''.join(stores)}    return obj\n")
    # Generated as dataclasses generates __init__: one straight-line function per class.
    exec(source, namespace)  # noqa: S102
    made: Callable[..., _T] = namespace[f"make_{cls.__name__}"]
    return made


@functools.cache
def _layout(cls: type) -> tuple[tuple[str, ...], frozenset[str], Callable[..., Any]]:
    names = tuple(f.name for f in dataclasses.fields(cls))
    return names, frozenset(names), constructor(cls)


def replace(obj: _T, /, **changes: Any) -> _T:
    """``dataclasses.replace`` for the classes ``constructor`` accepts, without its slow paths."""
    cls: type = type(obj)
    names, known, make = _layout(cls)
    for name in changes:
        if name not in known:
            raise TypeError(f"{type(obj).__name__} has no field {name!r}")
    made: _T = make(*[changes[n] if n in changes else getattr(obj, n) for n in names])
    return made
