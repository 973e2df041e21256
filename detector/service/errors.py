"""Errors of the sidecar service.  Each names where it happened: a config key, a file, a socket."""

from __future__ import annotations

from dataclasses import dataclass

from detector.errors import DetectorError


@dataclass(eq=False)
class ConfigError(DetectorError):
    """A configuration value is missing, of the wrong type or unusable.

    ``key`` is the dotted path of the offending key (``webserver.listen_port``),
    ``file`` the configuration file it came from ("" for ``-o`` overrides or defaults).
    """

    message: str
    key: str = ""
    file: str = ""

    def __post_init__(self) -> None:
        super().__init__(self.message)

    def __str__(self) -> str:
        where = ": ".join(part for part in (self.file, self.key) if part)
        return f"{where}: {self.message}" if where else self.message


@dataclass(eq=False)
class SpoolError(DetectorError):
    """The alert spool cannot be opened or written.  ``path`` is the database file."""

    message: str
    path: str = ""

    def __post_init__(self) -> None:
        super().__init__(self.message)

    def __str__(self) -> str:
        return f"{self.path}: {self.message}" if self.path else self.message


@dataclass(eq=False)
class StartupError(DetectorError):
    """A listener, output or input could not be started.  ``component`` names which one."""

    message: str
    component: str = ""

    def __post_init__(self) -> None:
        super().__init__(self.message)

    def __str__(self) -> str:
        return f"{self.component}: {self.message}" if self.component else self.message
