"""Where the built condition parser is kept between processes.

Building the LALR tables from ``grammar/condition.lark`` costs a fresh process
about 50 ms; loading Lark's serialized form of them takes about 5.  Lark keeps
that form in the file we name (its ``cache`` option): the first line is a
digest of the grammar, the options and the Lark and Python versions, and a file
that does not match is rebuilt and overwritten, so there is only ever one file
of a few tens of kilobytes.

The file is a pickle, so it is only used from a directory that is ours and not
writable by anyone else: ``$DETECTOR_CACHE_DIR``, else
``$XDG_CACHE_HOME/detector``, else ``~/.cache/detector``.  Setting
``DETECTOR_CACHE_DIR`` to an empty string turns the cache off.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Final

PARSER_CACHE_NAME: Final = "condition-parser.lark-cache"


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
    base = directory if directory is not None else cache_dir()
    if base is None:
        return None
    try:
        base.mkdir(mode=0o700, parents=True, exist_ok=True)
        if not _private(base):
            return None
        path = base / PARSER_CACHE_NAME
        if path.exists() and not _private(path):
            return None
    except OSError:
        return None
    return str(path)
