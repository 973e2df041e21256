"""Where the built condition parser is kept between processes.

Building the LALR tables from ``grammar/condition.lark`` costs a fresh process
about 50 ms; loading Lark's serialized form of them takes about 5.  Lark keeps
that form in the file we name (its ``cache`` option): the first line is a
digest of the grammar, the options and the Lark and Python versions, and a file
that does not match is rebuilt and overwritten, so there is only ever one file
of a few tens of kilobytes.

The lean driver's tables (``lalr.table_spec``) are kept next to it, so a process
that parses only valid conditions never imports Lark (importing it costs more
than loading its parser): ``TABLES_CACHE_NAME`` is a first line with the digest
it was made for, then the tables in ``marshal``'s format.

The files are a pickle and ``marshal`` data, so they are only used from a
directory that is ours and not writable by anyone else: ``$DETECTOR_CACHE_DIR``,
else ``$XDG_CACHE_HOME/detector``, else ``~/.cache/detector``.  Setting
``DETECTOR_CACHE_DIR`` to an empty string turns the cache off.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Final

PARSER_CACHE_NAME: Final = "condition-parser.lark-cache"
TABLES_CACHE_NAME: Final = "condition-parser.tables"


def cache_dir() -> Path | None:
    """The user's cache directory for detector, or ``None`` when caching is turned off."""
    configured = os.environ.get("DETECTOR_CACHE_DIR")
    if configured is not None:
        return Path(configured) if configured.strip() else None
    xdg = os.environ.get("XDG_CACHE_HOME")
    if xdg:
        return Path(xdg) / "detector"
    try:
        return Path.home() / ".cache" / "detector"
    except RuntimeError:  # no home directory to be found
        return None


def _private(path: Path) -> bool:
    """Whether ``path`` belongs to us and nobody else may write to it."""
    info = path.stat()
    if not hasattr(os, "getuid"):
        return True
    return info.st_uid == os.getuid() and not info.st_mode & (stat.S_IWGRP | stat.S_IWOTH)


def parser_cache_file(directory: Path | None = None) -> str | None:
    """The file to give Lark's ``cache`` option, or ``None`` to build the parser afresh."""
    return cache_file(PARSER_CACHE_NAME, directory)


def tables_cache_file(directory: Path | None = None) -> str | None:
    """The file keeping the lean driver's tables, or ``None`` to build them afresh."""
    return cache_file(TABLES_CACHE_NAME, directory)


def cache_file(name: str, directory: Path | None = None) -> str | None:
    """The path of cache file ``name`` in the private cache directory (made if missing), or
    ``None`` when caching is off or the directory or file is not ours alone."""
    base = directory if directory is not None else cache_dir()
    if base is None:
        return None
    try:
        base.mkdir(mode=0o700, parents=True, exist_ok=True)
        if not _private(base):
            return None
        path = base / name
        if path.exists() and not _private(path):
            return None
    except OSError:
        return None
    return str(path)


def read_keyed(path: str, key: str) -> bytes | None:
    """The data ``write_keyed`` kept in ``path`` for ``key``; ``None`` if absent or kept for another."""
    try:
        with open(path, "rb") as fh:
            data = fh.read()
    except OSError:
        return None
    head, newline, body = data.partition(b"\n")
    if not newline or head != key.encode("ascii"):
        return None
    return body


def write_keyed(path: str, key: str, data: bytes) -> None:
    """Replace ``path`` with ``data`` for ``key`` in one step (readers never see half a file);
    a failure to write only loses the cache."""
    import tempfile

    directory = os.path.dirname(path) or "."
    try:
        fd, temporary = tempfile.mkstemp(dir=directory, prefix=".tmp-", suffix=".part")
    except OSError:
        return
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(key.encode("ascii") + b"\n" + data)
        os.replace(temporary, path)
    except OSError:
        try:
            os.unlink(temporary)
        except OSError:
            pass
