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
    """The predecessor's real data files, shipped in tests/fixtures/legacy."""
    if not LEGACY.is_dir():
        pytest.fail(f"legacy fixtures missing: expected them in {LEGACY}")
    return LEGACY
