"""Fixtures shared by every test package."""

from __future__ import annotations

from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry

from tests.support import LEGACY


@pytest.fixture
def registry() -> CollectorRegistry:
    """A fresh Prometheus registry for each test."""
    return CollectorRegistry()


@pytest.fixture
def legacy_dir() -> Path:
    """The predecessor's real data files (the shared folder beside the repository)."""
    if not LEGACY.is_dir():
        pytest.fail(f"legacy fixtures missing: expected the shared folder beside the repository at {LEGACY}")
    return LEGACY
