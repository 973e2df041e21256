"""The one way tests find ../shared: DETECTOR_SHARED, default ../shared from the project root."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def shared_dir() -> Path | None:
    env = os.environ.get("DETECTOR_SHARED")
    path = Path(env) if env else PROJECT_ROOT.parent / "shared"
    return path if path.is_dir() else None


def shared_path(*parts: str) -> Path:
    """Path inside ../shared, or skip the calling test with the reason."""
    base = shared_dir()
    if base is None:
        pytest.skip("shared reference material not found (set DETECTOR_SHARED or place it at ../shared)")
    path = base.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"{path} is absent from the shared material")
    return path
