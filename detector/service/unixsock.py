"""Unix socket paths: replace a stale socket, refuse to touch anything else, set the mode explicitly."""

from __future__ import annotations

import os
import socket
import stat
from pathlib import Path

from detector.service.errors import StartupError


def prepare_socket_path(path: str, component: str) -> None:
    """Make ``path`` free for ``bind``.

    A socket file nobody listens on (left by a crash) is removed; a live socket means another
    process serves it, and a regular file or directory is not ours: both are errors.
    """
    if not path:
        raise StartupError("empty unix socket path", component)
    parent = Path(path).parent
    try:
        parent.mkdir(parents=True, exist_ok=True, mode=0o750)
    except OSError as exc:
        raise StartupError(f"cannot create directory {parent}: {exc.strerror}", component) from None
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        return
    if not stat.S_ISSOCK(info.st_mode):
        raise StartupError(f"{path} exists and is not a socket; not replacing it", component)
    probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        probe.settimeout(0.5)
        probe.connect(path)
    except (ConnectionRefusedError, FileNotFoundError):
        try:
            os.unlink(path)
        except FileNotFoundError:
            pass
        return
    except OSError as exc:
        raise StartupError(f"{path}: cannot check the existing socket: {exc.strerror}", component) from None
    finally:
        probe.close()
    raise StartupError(f"{path} is in use by another process", component)


def remove_socket(path: str) -> None:
    try:
        if stat.S_ISSOCK(os.lstat(path).st_mode):
            os.unlink(path)
    except OSError:
        pass
