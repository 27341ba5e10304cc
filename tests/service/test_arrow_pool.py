"""The service's choice of pyarrow's memory pool."""

from __future__ import annotations

from collections.abc import Iterator

import pyarrow as pa
import pytest

from service._arrow_pool import ARROW_POOL_VARIABLE, use_system_arrow_pool


@pytest.fixture
def restore_pool() -> Iterator[None]:
    before = pa.default_memory_pool()
    yield
    pa.set_memory_pool(before)


@pytest.mark.usefixtures("restore_pool")
def test_the_system_allocator_becomes_the_default_pool() -> None:
    pa.set_memory_pool(pa.mimalloc_memory_pool())
    assert use_system_arrow_pool({}) == "system"
    array = pa.array(list(range(1000)))
    assert pa.default_memory_pool().backend_name == "system"
    assert pa.system_memory_pool().bytes_allocated() >= array.nbytes


@pytest.mark.usefixtures("restore_pool")
def test_a_pool_the_user_named_is_kept() -> None:
    pa.set_memory_pool(pa.mimalloc_memory_pool())
    assert use_system_arrow_pool({ARROW_POOL_VARIABLE: "mimalloc"}) == "mimalloc"
