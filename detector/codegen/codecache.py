"""Compiled generated code, kept between processes.

The engine writes Python per event type (``codegen.bucket``), per prefilter plan
and per output format, and ``compile()`` of those sources costs a fresh
``replay`` with the upstream rules about a third of a second: more than reading
the rule files.  The sources are the same from run to run for the same rules,
so their code objects are kept, in ``marshal``'s format, in one file of the
cache directory (``detector.language.cachefile``: private to the user,
``DETECTOR_CACHE_DIR=""`` turns it off), keyed by a digest of the source, the
name it is compiled under and the Python version (comment lines left out: the generator
notes constants there, and set reprs come out in another order in another process).

One file, read once on the first compile and written back (atomically) when the
process ends, if it compiled something new.  Bounded: at most ``MAX_ENTRIES``
code objects and ``MAX_BYTES`` of file; when a write would exceed either, the
entries this process did not use are dropped first.  ``stats()`` reports it.
"""

from __future__ import annotations

import atexit
import hashlib
import marshal
import sys
import threading
from types import CodeType
from typing import Any, Final

from detector.language.cachefile import cache_file, read_keyed, write_keyed

CODE_CACHE_NAME: Final = "generated-code.marshal"
MAX_ENTRIES: Final = 4096
MAX_BYTES: Final = 64 << 20
# Stamped on the file: code objects only load into the Python that wrote them.
_VERSION_KEY: Final = f"code-v1-{sys.implementation.cache_tag}-{sys.version_info.releaselevel}"


class CodeCache:
    """Code objects by source digest (see the module docstring)."""

    def __init__(self, path: str | None) -> None:
        self.path = path
        self._entries: dict[bytes, bytes] | None = None  # digest -> marshalled code
        self._used: set[bytes] = set()
        self._dirty = False
        self._lock = threading.Lock()
        self.hits = self.misses = 0

    def compile(self, source: str, filename: str) -> CodeType:
        """``compile(source, filename, "exec")``, from the cache when it was compiled before."""
        if self.path is None:
            return compile(source, filename, "exec")
        # Comment lines are left out of the digest: the generator notes constants there (set
        # reprs, whose order changes with the hash seed) and compiling ignores them.
        lines = source.split("\n")
        text = "\n".join("" if line.lstrip().startswith("#") else line for line in lines)
        digest = hashlib.blake2b(f"{filename}\0{text}".encode(), digest_size=16).digest()
        with self._lock:
            entries = self._load()
            kept = entries.get(digest)
            if kept is not None:
                try:
                    code = marshal.loads(kept)
                except (EOFError, ValueError, TypeError):
                    code = None
                if isinstance(code, CodeType):
                    self.hits += 1
                    self._used.add(digest)
                    return code
            code = compile(source, filename, "exec")
            self.misses += 1
            entries[digest] = marshal.dumps(code)
            self._used.add(digest)
            if not self._dirty:
                self._dirty = True
                atexit.register(self.save)
            return code

    def _load(self) -> dict[bytes, bytes]:
        if self._entries is None:
            self._entries = {}
            data = read_keyed(self.path, _VERSION_KEY) if self.path is not None else None
            if data:
                try:
                    loaded = marshal.loads(data)
                except (EOFError, ValueError, TypeError):
                    loaded = None
                if isinstance(loaded, dict):
                    self._entries = {k: v for k, v in loaded.items()
                                     if isinstance(k, bytes) and isinstance(v, bytes)}
        return self._entries

    def save(self) -> None:
        """Write the table back if this process added to it (called at exit)."""
        with self._lock:
            if not self._dirty or self.path is None or self._entries is None:
                return
            self._dirty = False
            entries = self._entries
            size = sum(map(len, entries.values()))
            if len(entries) > MAX_ENTRIES or size > MAX_BYTES:
                entries = {k: v for k, v in entries.items() if k in self._used}
                size = sum(map(len, entries.values()))
            while entries and (len(entries) > MAX_ENTRIES or size > MAX_BYTES):
                size -= len(entries.pop(next(iter(entries))))
            write_keyed(self.path, _VERSION_KEY, marshal.dumps(entries))

    def stats(self) -> dict[str, Any]:
        entries = self._entries or {}
        return {"file": self.path, "entries": len(entries), "limit": MAX_ENTRIES, "hits": self.hits,
                "misses": self.misses}


# One per process, like the parser tables: it mirrors a file, and every engine of the process
# compiles through it (a forked ``replay --workers`` child inherits the parent's, and exits
# without writing).
_shared: list[CodeCache] = []


def code_cache() -> CodeCache:
    """The process's code cache."""
    if not _shared:
        _shared.append(CodeCache(cache_file(CODE_CACHE_NAME)))
    return _shared[0]


def compile_cached(source: str, filename: str) -> CodeType:
    """``compile(source, filename, "exec")`` through the process's code cache."""
    return code_cache().compile(source, filename)
