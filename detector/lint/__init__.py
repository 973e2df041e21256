"""Rule-author tooling: lint findings about a loaded ruleset (``detector validate --lint``)."""

from __future__ import annotations

from detector.lint.findings import TITLES, Finding, Severity
from detector.lint.run import lint

__all__ = ["TITLES", "Finding", "Severity", "lint"]
