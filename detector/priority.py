"""Falco's rule priorities (syslog severities), most severe first."""

from __future__ import annotations

from enum import IntEnum


class Priority(IntEnum):
    """Ordered so that a numerically smaller value is more severe, as in Falco."""

    EMERGENCY = 0
    ALERT = 1
    CRITICAL = 2
    ERROR = 3
    WARNING = 4
    NOTICE = 5
    INFORMATIONAL = 6
    DEBUG = 7

    @property
    def title(self) -> str:
        """The spelling Falco prints in alerts: ``Critical``, ``Informational``."""
        return self.name.capitalize()

    @classmethod
    def parse(cls, text: str) -> Priority:
        """Case-insensitive, with ``info`` for Informational; ``ValueError`` otherwise."""
        key = text.strip().upper()
        if key == "INFO":
            return cls.INFORMATIONAL
        try:
            return cls[key]
        except KeyError:
            raise ValueError(f"Invalid priority '{text}'") from None

    def at_least(self, minimum: Priority) -> bool:
        """True when this priority is as severe as ``minimum`` or more."""
        return self <= minimum
